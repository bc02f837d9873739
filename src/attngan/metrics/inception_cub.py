"""The CUB-fine-tuned Inception-v3 of StackGAN, the classifier of the paper's birds Inception score.

StackGAN's ``inception_score.py`` (``StackGAN-inception-model``) restores ``birds_valid299/model.ckpt``, a
TF-slim Inception-v3 (``inception/slim/inception_model.py``) fine-tuned on CUB: 50 test classes + a background
class 0; the moving averages of the weights (``.../ExponentialMovingAverage``) are what it evaluates with.
Images are resized to 299x299 with ``scipy.misc.imresize(..., 'bilinear')`` (PIL bilinear on uint8) and scaled
to ``x / 127.5 - 1``; the score uses ``softmax(logits[:, 1:])``, background dropped.

``attngan-convert-inception-cub`` (:mod:`attngan.cli.convert_inception`) turns that checkpoint, once, into a
safetensors file of :class:`CUBInception` (:func:`convert_slim_variables`, :func:`save_cub_inception`);
``metrics.is.classifier=cub_finetuned metrics.is.weights=FILE`` loads it (:class:`CUBInceptionFeatures`). The
network is torch-fidelity's TensorFlow-compatible Inception blocks (average pools that do not count padding),
with TF-slim's layout: every ``Mixed_7*`` block averages (the 2015-12-05 graph's last block max-pools), and
the batch norms have no scale (gamma 1).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_inceptionv3 import (
    BasicConv2d,
    InceptionA,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE_1,
)

from attngan.errors import CheckpointError
from attngan.metrics.inception import FrozenFeatureNetwork, file_sha256, find_weights_file, images_to_uint8

__all__ = [
    "CUB_WEIGHTS_CONFIG_KEY",
    "CUBInception",
    "CUBInceptionFeatures",
    "convert_slim_variables",
    "load_cub_inception",
    "save_cub_inception",
    "slim_name_map",
]

CUB_WEIGHTS_CONFIG_KEY = "metrics.is.weights"
_FORMAT = "attngan-inception-cub"
_CUB_SOURCE = (
    "the output of `attngan-convert-inception-cub src=birds_valid299/model.ckpt dst=FILE` (StackGAN's "
    "CUB-fine-tuned Inception, https://github.com/hanzhanggit/StackGAN-inception-model; needs "
    "pip install 'attngan[tf]' once)"
)
_RESIZE = "uint8 -> PIL bilinear 299x299 (scipy.misc.imresize 'bilinear') -> x / 127.5 - 1"

# TF-slim scope -> (our block, [conv scopes inside it, in creation order] -> our conv names)
_STEM = {"conv0": "Conv2d_1a_3x3", "conv1": "Conv2d_2a_3x3", "conv2": "Conv2d_2b_3x3"}
_STEM |= {"conv3": "Conv2d_3b_1x1", "conv4": "Conv2d_4a_3x3"}
_A = {"branch1x1": ["branch1x1"], "branch5x5": ["branch5x5_1", "branch5x5_2"]}
_A |= {"branch3x3dbl": ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], "branch_pool": ["branch_pool"]}
_B = {"branch3x3": ["branch3x3"], "branch3x3dbl": ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"]}
_C = {"branch1x1": ["branch1x1"], "branch7x7": ["branch7x7_1", "branch7x7_2", "branch7x7_3"]}
_C |= {"branch7x7dbl": [f"branch7x7dbl_{i}" for i in range(1, 6)], "branch_pool": ["branch_pool"]}
_D = {"branch3x3": ["branch3x3_1", "branch3x3_2"], "branch7x7x3": [f"branch7x7x3_{i}" for i in range(1, 5)]}
_E = {"branch1x1": ["branch1x1"], "branch3x3": ["branch3x3_1", "branch3x3_2a", "branch3x3_2b"]}
_E |= {"branch3x3dbl": ["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3a", "branch3x3dbl_3b"]}
_E |= {"branch_pool": ["branch_pool"]}
_MIXED = {
    "mixed_35x35x256a": ("Mixed_5b", _A),
    "mixed_35x35x288a": ("Mixed_5c", _A),
    "mixed_35x35x288b": ("Mixed_5d", _A),
    "mixed_17x17x768a": ("Mixed_6a", _B),
    "mixed_17x17x768b": ("Mixed_6b", _C),
    "mixed_17x17x768c": ("Mixed_6c", _C),
    "mixed_17x17x768d": ("Mixed_6d", _C),
    "mixed_17x17x768e": ("Mixed_6e", _C),
    "mixed_17x17x1280a": ("Mixed_7a", _D),
    "mixed_8x8x2048a": ("Mixed_7b", _E),
    "mixed_8x8x2048b": ("Mixed_7c", _E),
}


class CUBInception(nn.Module):
    """TF-slim Inception-v3 as StackGAN fine-tuned it on CUB.

    Args:
        num_classes: logits (51 for birds: 50 test classes + background 0).
    """

    def __init__(self, num_classes: int = 51) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.MaxPool_1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.MaxPool_2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE_1(1280)
        self.Mixed_7c = InceptionE_1(2048)
        self.AvgPool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2048, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 3, 299, 299)`` in [-1, 1] -> logits ``(B, num_classes)``."""
        for block in self.children():
            if block is self.fc:
                break
            x = block(x)
        return self.fc(torch.flatten(x, 1))


def slim_name_map() -> dict[str, tuple[str, str]]:
    """Every TF-slim variable of the network (without a scope prefix) -> ``(our state-dict key, kind)``.

    ``kind``: ``"conv"`` (``[kh, kw, in, out]`` -> ``(out, in, kh, kw)``), ``"fc"`` (``[in, out]`` ->
    ``(out, in)``) or ``"copy"``. BatchNorm ``gamma`` is optional (TF-slim's default has none).
    """
    convs: dict[str, str] = {scope: name for scope, name in _STEM.items()}
    for scope, (block, branches) in _MIXED.items():
        for branch, names in branches.items():
            for i, name in enumerate(names):
                convs[f"{scope}/{branch}/{'Conv' if i == 0 else f'Conv_{i}'}"] = f"{block}.{name}"
    names: dict[str, tuple[str, str]] = {}
    for tf_scope, ours in convs.items():
        names[f"{tf_scope}/weights"] = (f"{ours}.conv.weight", "conv")
        names[f"{tf_scope}/BatchNorm/beta"] = (f"{ours}.bn.bias", "copy")
        names[f"{tf_scope}/BatchNorm/gamma"] = (f"{ours}.bn.weight", "copy")
        names[f"{tf_scope}/BatchNorm/moving_mean"] = (f"{ours}.bn.running_mean", "copy")
        names[f"{tf_scope}/BatchNorm/moving_variance"] = (f"{ours}.bn.running_var", "copy")
    names["logits/logits/weights"] = ("fc.weight", "fc")
    names["logits/logits/biases"] = ("fc.bias", "copy")
    return names


def _strip_prefix(names: list[str]) -> str:
    """The scope prefix in front of ``conv0/weights`` (``""``, ``"inception_v3/"``, ...)."""
    for name in names:
        if name.endswith("conv0/weights"):
            return name[: -len("conv0/weights")]
    raise CheckpointError(
        "no variable '.../conv0/weights' in the checkpoint: this is not StackGAN's TF-slim Inception-v3 "
        f"(first variables: {sorted(names)[:5]})"
    )


def convert_slim_variables(
    variables: Mapping[str, np.ndarray], use_moving_averages: bool = True
) -> dict[str, Tensor]:
    """Map the variables of StackGAN's TF checkpoint to a :class:`CUBInception` state dict.

    Args:
        variables: ``{TF variable name: array}``, as ``tf.train.load_checkpoint(path).get_tensor`` gives them
            (other variables, e.g. ``aux_logits/*`` or ``global_step``, are ignored).
        use_moving_averages: take ``<name>/ExponentialMovingAverage`` where present, as StackGAN's
            evaluation restores them.

    Returns:
        A state dict with every key of :class:`CUBInception` (``num_classes`` from the logits).

    Raises:
        CheckpointError: a variable of the network is missing or has the wrong shape.
    """
    prefix = _strip_prefix(list(variables))
    state: dict[str, Tensor] = {}
    missing = []
    for tf_name, (key, kind) in slim_name_map().items():
        full = prefix + tf_name
        shadow = f"{full}/ExponentialMovingAverage"
        value = variables.get(shadow) if use_moving_averages and shadow in variables else variables.get(full)
        if value is None:
            if not tf_name.endswith("/gamma"):
                missing.append(full)
            continue
        array = np.asarray(value, dtype=np.float32)
        if kind == "conv":
            array = array.transpose(3, 2, 0, 1)
        elif kind == "fc":
            array = array.T
        state[key] = torch.from_numpy(np.ascontiguousarray(array))
    if missing:
        raise CheckpointError(
            f"{len(missing)} variables of the TF-slim Inception-v3 are not in the checkpoint (e.g. {missing[:3]}): "
            "expected StackGAN's birds_valid299/model.ckpt"
        )
    for key in [k for k in state if k.endswith(".bn.bias")]:
        state.setdefault(key[: -len("bias")] + "weight", torch.ones_like(state[key]))
    num_classes = state["fc.weight"].shape[0]
    expected = CUBInception(num_classes).state_dict()
    for key, value in expected.items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.zeros((), dtype=torch.long)
        elif key not in state or tuple(state[key].shape) != tuple(value.shape):
            got = tuple(state[key].shape) if key in state else "nothing"
            raise CheckpointError(f"{key}: expected shape {tuple(value.shape)}, the checkpoint gives {got}")
    return state


def save_cub_inception(path: str | os.PathLike[str], state: Mapping[str, Tensor], source: str = "") -> Path:
    """Write a converted state dict as safetensors (metadata: format, num_classes, source)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"format": _FORMAT, "num_classes": str(state["fc.weight"].shape[0]), "source": str(source)}
    save_file({k: v.contiguous() for k, v in state.items()}, str(path), metadata=metadata)
    return path


def load_cub_inception(path: str | os.PathLike[str]) -> CUBInception:
    """The :class:`CUBInception` of a file :func:`save_cub_inception` wrote, in evaluation mode.

    Raises:
        CheckpointError: the file is not such a file.
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            state = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 - not a dict
    except Exception as err:
        raise CheckpointError(
            f"{path}: not a safetensors file ({type(err).__name__}: {err}); expected {_CUB_SOURCE}"
        ) from err
    if metadata.get("format") != _FORMAT or "fc.weight" not in state:
        raise CheckpointError(
            f"{path} is not a converted CUB Inception (metadata {metadata}); expected {_CUB_SOURCE}"
        )
    network = CUBInception(int(state["fc.weight"].shape[0]))
    network.load_state_dict(state)
    return network.eval().requires_grad_(False)


class CUBInceptionFeatures(FrozenFeatureNetwork):
    """IS logits of the CUB-fine-tuned Inception: StackGAN's preprocessing, background class dropped.

    Args:
        weights_path: the converted file (``metrics.is.weights``); required.

    Raises:
        WeightsNotFoundError: no file given, or it is missing.
    """

    def __init__(self, weights_path: str | os.PathLike[str] | None) -> None:
        super().__init__()
        self.weights_path = str(find_weights_file("inception_cub.safetensors", weights_path, CUB_WEIGHTS_CONFIG_KEY, _CUB_SOURCE, hub_cache=False))  # fmt: skip
        network = load_cub_inception(self.weights_path)
        self.hold(network)
        self.num_features = self.num_logits = network.fc.out_features - 1
        self.resize = _RESIZE

    def describe(self) -> dict[str, str | None]:
        """Classifier, weights file, its sha256 and the resize, for ``metrics.json``."""
        return {
            "classifier": "cub_finetuned",
            "weights": self.weights_path,
            "weights_sha256": file_sha256(self.weights_path),
            "resize": self.resize,
        }

    @torch.no_grad()
    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """``(B, 3, H, W)`` float in [-1, 1] or uint8 -> ``(logits (B, 50), logits)`` without the background."""
        from attngan.metrics.fid import resize_pil_bilinear_uint8

        device = self.network.fc.weight.device
        x = resize_pil_bilinear_uint8(images_to_uint8(images).cpu()).to(device).float() / 127.5 - 1.0
        logits = self.network(x)[:, 1:].float()
        return logits, logits
