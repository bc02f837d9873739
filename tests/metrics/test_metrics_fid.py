"""FID protocols, reference statistics, the Inception score and the CUB-Inception converter (issue #18).

Each protocol is checked against an independent computation on the same inputs: the Fréchet distance against a
float64 ``scipy.linalg.sqrtm`` reference, IS against its formula, each resize against the library it follows
(torchvision's PIL ``Resize``, clean-fid's resizer, TensorFlow's ``resize_bilinear``), the networks against
torch-fidelity's / torchvision's own forward. The Inception networks are random, with the real layer names and
shapes, saved to temporary files (nothing is downloaded).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import Tensor, nn

from attngan.errors import AttnGANError, CheckpointError, ConfigError, WeightsNotFoundError
from attngan.metrics.fid import (
    FrechetInceptionDistance,
    ProtocolFeatures,
    frechet_distance,
    resize_pil_bicubic_float,
    resize_pil_bilinear_uint8,
    resize_tf1_bilinear,
)
from attngan.metrics.inception import InceptionScore
from attngan.metrics.reference_stats import ReferenceStatistics, load_reference, save_reference

torch.set_num_threads(2)


class _Identity(nn.Module):
    """A stand-in 'network' whose features are its input ``(B, D)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.num_features = dim

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return x, x


def _uint8_images(n: int, h: int, w: int, seed: int = 0) -> Tensor:
    return torch.randint(
        0, 256, (n, 3, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8
    )


# ------------------------------------------------------------------------------------------ the maths
def _scipy_fid(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """pytorch-fid's formula (DM-GAN's eval/FID), float64 with scipy.linalg.sqrtm."""
    from scipy import linalg

    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def test_frechet_distance_matches_scipy_sqrtm() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 12))
    b = rng.standard_normal((250, 12)) @ rng.standard_normal((12, 12)) * 0.5 + 0.3
    mu1, s1, mu2, s2 = a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False)
    expected = _scipy_fid(mu1, s1, mu2, s2)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    # the metric's running sums give numpy.cov's statistics, batch by batch
    fid = FrechetInceptionDistance(_Identity(12))
    for chunk in np.array_split(a, 4):
        fid.update(torch.from_numpy(chunk).float(), real=True)
    for chunk in np.array_split(b, 3):
        fid.update(torch.from_numpy(chunk).float(), real=False)
    a32, b32 = a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)
    reference = _scipy_fid(a32.mean(0), np.cov(a32, rowvar=False), b32.mean(0), np.cov(b32, rowvar=False))
    assert float(fid.compute()["fid"]) == pytest.approx(reference, rel=1e-6)
    stats = fid.real_statistics()
    np.testing.assert_allclose(stats.sigma, np.cov(a32, rowvar=False), rtol=1e-9, atol=1e-12)
    assert stats.num_images == 300
    # fixed reference statistics instead of real images
    fixed = FrechetInceptionDistance(_Identity(12), reference=ReferenceStatistics(mu1, s1, 300))
    fixed.update(torch.from_numpy(b).float(), real=False)
    expected_fixed = _scipy_fid(mu1, s1, b32.mean(0), np.cov(b32, rowvar=False))
    assert float(fixed.compute()["fid"]) == pytest.approx(expected_fixed, rel=1e-6)
    with pytest.raises(RuntimeError, match="takes no real images"):
        fixed.update(torch.from_numpy(a).float(), real=True)
    with pytest.raises(ValueError, match="another network"):
        FrechetInceptionDistance(_Identity(12), reference=ReferenceStatistics(np.zeros(5), np.eye(5)))


def test_inception_score_matches_the_formula() -> None:
    logits = torch.from_numpy(np.random.default_rng(1).standard_normal((120, 10)) * 3)
    metric = InceptionScore(_Identity(10), splits=6, shuffle=False)
    for chunk in logits.split(25):
        metric.update(chunk.float())
    result = metric.compute()
    probs = torch.softmax(logits.float().double(), dim=1).numpy()
    scores = []
    for part in np.split(probs, 6):  # StackGAN / improved-GAN: in order, population std
        kl = part * (np.log(part) - np.log(part.mean(0, keepdims=True)))
        scores.append(np.exp(kl.sum(1).mean()))
    assert float(result["inception_score"]) == pytest.approx(np.mean(scores), rel=1e-5)
    assert float(result["inception_score_std"]) == pytest.approx(np.std(scores), rel=1e-4)


# ------------------------------------------------------------------------------------------ resizing
@pytest.mark.parametrize("size", [(64, 80), (320, 310)])
def test_torchvision_protocol_resize_is_torchvision_pil_resize(size: tuple[int, int]) -> None:
    from torchvision import transforms

    images = _uint8_images(2, *size)
    ours = resize_pil_bilinear_uint8(images)
    resize = transforms.Compose([transforms.Resize((299, 299)), transforms.PILToTensor()])
    theirs = torch.stack([resize(Image.fromarray(im.permute(1, 2, 0).numpy())) for im in images])
    assert ours.dtype == torch.uint8 and torch.equal(ours, theirs)


@pytest.mark.parametrize("size", [(64, 80), (320, 310)])
def test_clean_protocol_resize_is_clean_fid(size: tuple[int, int]) -> None:
    resize = pytest.importorskip("cleanfid.resize").make_resizer("PIL", False, "bicubic", (299, 299))
    images = _uint8_images(2, *size)
    ours = resize_pil_bicubic_float(images)
    theirs = np.stack([resize(im.permute(1, 2, 0).numpy()) for im in images]).transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(ours.numpy(), theirs)


@pytest.mark.parametrize("size", [(64, 80), (320, 310)])
def test_tf_protocol_resize_is_tensorflow_1x_bilinear(size: tuple[int, int]) -> None:
    tf = pytest.importorskip("tensorflow")
    images = _uint8_images(2, *size)
    ours = resize_tf1_bilinear(images)
    nhwc = tf.constant(images.permute(0, 2, 3, 1).numpy().astype(np.float32))
    theirs = tf.compat.v1.image.resize_bilinear(nhwc, (299, 299), align_corners=False).numpy()
    np.testing.assert_allclose(ours.numpy(), theirs.transpose(0, 3, 1, 2), atol=2e-3)


# ------------------------------------------------------------------------------------------ statistics files
def test_reference_npz_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    mu, sigma = rng.standard_normal(8), np.cov(rng.standard_normal((20, 8)), rowvar=False)
    path = save_reference(tmp_path / "ref.npz", ReferenceStatistics(mu, sigma, 20), protocol="torchvision")
    loaded = load_reference(path)
    np.testing.assert_array_equal(loaded.mu, mu)
    np.testing.assert_array_equal(loaded.sigma, sigma)
    assert (loaded.num_images, loaded.info["protocol"], loaded.path) == (20, "torchvision", str(path))
    with np.load(path) as raw:  # DM-GAN's keys, readable by pytorch-fid-style code
        assert {"mu", "sigma"} <= set(raw.files)
    np.savez(
        tmp_path / "bird_val.npz", mu=mu.astype(np.float32), sigma=sigma.astype(np.float32)
    )  # DM-GAN's file
    assert load_reference(tmp_path / "bird_val.npz").num_images == 0
    np.savez(tmp_path / "bad.npz", mean=mu)
    with pytest.raises(ConfigError, match="need 'mu' and 'sigma'"):
        load_reference(tmp_path / "bad.npz")
    with pytest.raises(ConfigError, match="do not exist"):
        load_reference(tmp_path / "missing.npz")


# ------------------------------------------------------------------------------------------ networks
@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Random Inception-v3 weights with the real layer names: torchvision's file and torch-fidelity's."""
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("inception")
    network = inception_v3(weights=None, aux_logits=True, init_weights=False)
    # BatchNorm statistics of random inputs, so that the random features neither vanish nor blow up
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = None
    with torch.no_grad():
        network.train()(torch.randn(2, 3, 299, 299))
    torch.save(network.state_dict(), root / "inception_v3_google-0cc3c7bd.pth")
    state = {k: v for k, v in network.state_dict().items() if not k.startswith("AuxLogits.")}
    state["fc.weight"], state["fc.bias"] = torch.randn(1008, 2048) * 1e-3, torch.zeros(1008)
    torch.save(state, root / "weights-inception-2015-12-05-6726825d.pth")
    return {
        "torchvision": root / "inception_v3_google-0cc3c7bd.pth",
        "tf": root / "weights-inception-2015-12-05-6726825d.pth",
    }


def test_tf_and_clean_protocols_run_torch_fidelitys_network(weights: dict[str, Path]) -> None:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    network = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights["tf"])
    )

    def fidelity(images: Tensor) -> Tensor:
        with torch.no_grad():
            return network(images)[0]

    small, full = _uint8_images(2, 48, 40), _uint8_images(2, 299, 299, seed=1)
    tf_features, _ = ProtocolFeatures("tf", weights["tf"])(small)
    torch.testing.assert_close(tf_features, fidelity(small).reshape(2, -1), rtol=1e-4, atol=1e-4)
    clean = ProtocolFeatures("clean", weights["tf"])
    clean_features, _ = clean(full)  # at 299 neither resize changes a pixel
    torch.testing.assert_close(clean_features, fidelity(full).reshape(2, -1), rtol=1e-4, atol=1e-4)
    described = clean.describe()
    assert described["protocol"] == "clean" and "bicubic" in described["resize"]
    assert described["weights_sha256"] == hashlib.sha256(weights["tf"].read_bytes()).hexdigest()


def test_torchvision_protocol_is_dmgans_pipeline(weights: dict[str, Path]) -> None:
    from torchvision import transforms
    from torchvision.models import inception_v3

    images = _uint8_images(2, 64, 64)
    ours, _ = ProtocolFeatures("torchvision", weights["torchvision"])(images)
    # DM-GAN eval/FID: PIL Resize((299, 299)) -> ToTensor -> normalize_input (torchvision's transform_input)
    network = inception_v3(weights=None, aux_logits=True, init_weights=False, transform_input=True)
    network.load_state_dict(torch.load(weights["torchvision"], weights_only=True))
    network.fc = nn.Identity()
    prepare = transforms.Compose([transforms.Resize((299, 299)), transforms.ToTensor()])
    batch = torch.stack([prepare(Image.fromarray(im.permute(1, 2, 0).numpy())) for im in images])
    with torch.no_grad():
        theirs = network.eval()(batch)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)


def test_missing_weights_name_the_file_the_place_and_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(WeightsNotFoundError) as err:
        ProtocolFeatures("torchvision")
    message = str(err.value)
    assert "inception_v3_google-0cc3c7bd.pth" in message and "metrics.fid.weights" in message
    assert str(tmp_path / "torch") in message
    with pytest.raises(WeightsNotFoundError, match=r"metrics\.inception_weights"):
        ProtocolFeatures("clean", tmp_path / "nowhere.pth")
    with pytest.raises(ConfigError, match="choose from"):
        ProtocolFeatures("pytorch")


# ------------------------------------------------------------------------------------------ attngan-eval images=
def _folder(path: Path, n: int, seed: int, size: int = 40) -> Path:
    path.mkdir()
    for i, image in enumerate(_uint8_images(n, size, size, seed)):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(path / f"{i:03d}.png")
    return path


def test_eval_images_against_a_folder_and_its_npz(weights: dict[str, Path], tmp_path: Path) -> None:
    from attngan.cli.eval import main

    common = [
        f"metrics.inception_weights={weights['tf']}",
        "metrics.is_splits=2",
        "batch_size=2",
        "device=cpu",
    ]

    def run(*args: str) -> dict:
        out = tmp_path / f"out{len(list(tmp_path.glob('out*')))}"
        main([*args, f"output_dir={out}", *common])
        return json.loads((out / "metrics.json").read_text())

    fake, real = _folder(tmp_path / "fake", 3, 0), _folder(tmp_path / "real", 3, 1)
    report = run(f"images={fake}", f"reference={real}", "protocol=tf")
    assert report["metrics"]["fid"] > 1e-3 and report["metrics"]["inception_score"] > 1.0
    fid, score = report["protocols"]["fid"], report["protocols"]["is"]
    sha = hashlib.sha256(weights["tf"].read_bytes()).hexdigest()
    assert (fid["protocol"], fid["weights_sha256"], fid["num_images"], fid["num_reference_images"]) == (
        "tf",
        sha,
        3,
        3,
    )
    assert "TensorFlow-1.x" in fid["resize"] and fid["reference"] == str(
        tmp_path / "out0" / "reference_tf.npz"
    )
    assert (score["classifier"], score["splits"], score["num_images"], score["weights_sha256"]) == (
        "imagenet",
        2,
        3,
        sha,
    )
    # the written statistics give the same FID
    again = run(f"images={fake}", f"reference={fid['reference']}")
    assert again["metrics"]["fid"] == pytest.approx(report["metrics"]["fid"], rel=1e-6)
    assert again["protocols"]["fid"]["reference"] == fid["reference"]
    # another protocol, another network (FID only)
    tv = f"metrics.fid.weights={weights['torchvision']}"
    fake2, real2 = _folder(tmp_path / "fake2", 2, 2), _folder(tmp_path / "real2", 2, 3)
    other = run(f"images={fake2}", f"reference={real2}", "protocol=torchvision", "metrics.names=[fid]", tv)
    assert other["protocols"]["fid"]["protocol"] == "torchvision" and "is" not in other["protocols"]
    assert other["metrics"]["fid"] > 1e-3


def test_eval_images_refuses_what_it_cannot_score(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from attngan.evaluation.folder import _names

    fid_only = OmegaConf.create({"metrics": {"names": ["fid"]}})
    with pytest.raises(ConfigError, match="needs reference="):
        _names(fid_only, has_reference=False)
    with pytest.raises(ConfigError, match="need a checkpoint"):
        _names(OmegaConf.create({"metrics": {"names": ["r_precision"]}}), has_reference=True)
    assert _names(OmegaConf.create({"metrics": {"names": None}}), has_reference=False) == ["is"]
    from attngan.metrics.reference_stats import list_images

    with pytest.raises(ConfigError, match="holds no image"):
        list_images(tmp_path, "images")
    assert issubclass(ConfigError, AttnGANError)


# ------------------------------------------------------------------------------------------ CUB Inception
def _conv(name: str, kh: int, kw: int, cin: int, cout: int) -> list[tuple[str, tuple[int, ...]]]:
    bn = [(f"{name}/BatchNorm/{v}", (cout,)) for v in ("beta", "moving_mean", "moving_variance")]
    return [(f"{name}/weights", (kh, kw, cin, cout)), *bn]


def _branch(scope: str, layers: list[tuple[int, int, int, int]]) -> list[tuple[str, tuple[int, ...]]]:
    out = []
    for i, layer in enumerate(layers):
        out += _conv(f"{scope}/{'Conv' if i == 0 else f'Conv_{i}'}", *layer)
    return out


def slim_inception_variables(num_classes: int = 51) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the TF-slim Inception-v3 (inception/slim/inception_model.py), transcribed."""
    v = _conv("conv0", 3, 3, 3, 32) + _conv("conv1", 3, 3, 32, 32) + _conv("conv2", 3, 3, 32, 64)
    v += _conv("conv3", 1, 1, 64, 80) + _conv("conv4", 3, 3, 80, 192)
    for scope, cin, pool in (
        ("mixed_35x35x256a", 192, 32),
        ("mixed_35x35x288a", 256, 64),
        ("mixed_35x35x288b", 288, 64),
    ):
        v += _branch(f"{scope}/branch1x1", [(1, 1, cin, 64)])
        v += _branch(f"{scope}/branch5x5", [(1, 1, cin, 48), (5, 5, 48, 64)])
        v += _branch(f"{scope}/branch3x3dbl", [(1, 1, cin, 64), (3, 3, 64, 96), (3, 3, 96, 96)])
        v += _branch(f"{scope}/branch_pool", [(1, 1, cin, pool)])
    v += _branch("mixed_17x17x768a/branch3x3", [(3, 3, 288, 384)])
    v += _branch("mixed_17x17x768a/branch3x3dbl", [(1, 1, 288, 64), (3, 3, 64, 96), (3, 3, 96, 96)])
    for scope, c in (
        ("mixed_17x17x768b", 128),
        ("mixed_17x17x768c", 160),
        ("mixed_17x17x768d", 160),
        ("mixed_17x17x768e", 192),
    ):
        v += _branch(f"{scope}/branch1x1", [(1, 1, 768, 192)])
        v += _branch(f"{scope}/branch7x7", [(1, 1, 768, c), (1, 7, c, c), (7, 1, c, 192)])
        dbl = [(1, 1, 768, c), (7, 1, c, c), (1, 7, c, c), (7, 1, c, c), (1, 7, c, 192)]
        v += _branch(f"{scope}/branch7x7dbl", dbl)
        v += _branch(f"{scope}/branch_pool", [(1, 1, 768, 192)])
    v += _branch("mixed_17x17x1280a/branch3x3", [(1, 1, 768, 192), (3, 3, 192, 320)])
    v += _branch(
        "mixed_17x17x1280a/branch7x7x3",
        [(1, 1, 768, 192), (1, 7, 192, 192), (7, 1, 192, 192), (3, 3, 192, 192)],
    )
    for scope, cin in (("mixed_8x8x2048a", 1280), ("mixed_8x8x2048b", 2048)):
        v += _branch(f"{scope}/branch1x1", [(1, 1, cin, 320)])
        v += _branch(f"{scope}/branch3x3", [(1, 1, cin, 384), (1, 3, 384, 384), (3, 1, 384, 384)])
        v += _branch(
            f"{scope}/branch3x3dbl", [(1, 1, cin, 448), (3, 3, 448, 384), (1, 3, 384, 384), (3, 1, 384, 384)]
        )
        v += _branch(f"{scope}/branch_pool", [(1, 1, cin, 192)])
    v += [("logits/logits/weights", (2048, num_classes)), ("logits/logits/biases", (num_classes,))]
    v += [("aux_logits/FC/weights", (768, num_classes)), ("global_step", ())]  # not part of the network
    return v


def _slim_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for name, shape in slim_inception_variables():
        fan_in = int(np.prod(shape[:-1])) if len(shape) > 1 else 1  # He-scaled, so activations stay finite
        value = (
            rng.standard_normal(shape) * (2.0 / fan_in) ** 0.5 * (1.0 if len(shape) > 1 else 0.1)
        ).astype(np.float32)
        arrays[name] = np.abs(value) + 1.0 if name.endswith("moving_variance") else value
        if "/moving_" not in name and name != "global_step":  # trainable: StackGAN evaluates the EMA shadow
            arrays[f"{name}/ExponentialMovingAverage"] = (0.9 * value).astype(np.float32)
    return arrays


def test_slim_variables_map_onto_the_cub_inception() -> None:
    from attngan.metrics.inception_cub import CUBInception, convert_slim_variables

    arrays = _slim_arrays()
    state = convert_slim_variables({f"inception_v3/{k}": v for k, v in arrays.items()})  # any scope prefix
    CUBInception(51).load_state_dict(state)  # strict: every key, every shape
    ema = arrays["mixed_8x8x2048b/branch3x3dbl/Conv_3/weights/ExponentialMovingAverage"]
    np.testing.assert_array_equal(
        state["Mixed_7c.branch3x3dbl_3b.conv.weight"].numpy(), ema.transpose(3, 2, 0, 1)
    )
    np.testing.assert_array_equal(
        state["fc.weight"].numpy(), arrays["logits/logits/weights/ExponentialMovingAverage"].T
    )
    np.testing.assert_array_equal(
        state["Conv2d_1a_3x3.bn.running_var"].numpy(), arrays["conv0/BatchNorm/moving_variance"]
    )
    assert torch.equal(state["Conv2d_1a_3x3.bn.weight"], torch.ones(32))  # TF-slim batch norm: no gamma
    raw = convert_slim_variables(arrays, use_moving_averages=False)
    np.testing.assert_array_equal(
        raw["Conv2d_1a_3x3.conv.weight"].numpy(), arrays["conv0/weights"].transpose(3, 2, 0, 1)
    )
    del arrays["mixed_17x17x768c/branch7x7/Conv_1/weights"]
    arrays.pop("mixed_17x17x768c/branch7x7/Conv_1/weights/ExponentialMovingAverage")
    with pytest.raises(CheckpointError, match="not in the checkpoint"):
        convert_slim_variables(arrays)


def _write_tf_checkpoint(tf, arrays: dict[str, np.ndarray], prefix: Path) -> None:
    """A V2 checkpoint at ``prefix`` as ``tf.compat.v1.train.Saver.save`` writes it (the ``.index`` and
    ``.data`` bundle and the directory's ``checkpoint`` state file), by the op the Saver runs (``SaveV2``):
    building a graph of 571 variables and loading each in a session took a minute on 2 cores."""
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(arrays)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(arrays[name]) for name in names],
    )
    tf.compat.v1.train.update_checkpoint_state(str(prefix.parent), str(prefix))


def test_convert_inception_cub_end_to_end(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    from attngan.cli.convert_inception import main
    from attngan.metrics.inception_cub import CUBInceptionFeatures
    from attngan.metrics.registry import build_metrics

    arrays = _slim_arrays(seed=1)
    arrays["global_step"] = np.int64(5000)
    _write_tf_checkpoint(tf, arrays, tmp_path / "birds_valid299" / "model.ckpt")
    dst = tmp_path / "inception_cub.safetensors"
    main([f"src={tmp_path / 'birds_valid299'}", f"dst={dst}"])
    features = CUBInceptionFeatures(dst)
    weight = features.network.Mixed_6b.branch7x7_2.conv.weight.numpy()
    ema = arrays["mixed_17x17x768b/branch7x7/Conv_1/weights/ExponentialMovingAverage"]
    np.testing.assert_array_equal(weight, ema.transpose(3, 2, 0, 1))
    images = _uint8_images(4, 32, 32)
    logits, _ = features(images)
    assert logits.shape == (4, 50) and torch.isfinite(logits).all()  # background class 0 dropped
    metric = build_metrics(["is"], is_classifier="cub_finetuned", is_weights=str(dst), is_splits=2)["is"]
    metric.update(images)
    assert float(metric.compute()["inception_score"]) >= 1.0
    assert metric.inception.describe()["classifier"] == "cub_finetuned"
    with pytest.raises(WeightsNotFoundError, match=r"metrics\.is\.weights"):
        build_metrics(["is"], is_classifier="cub_finetuned")


# ------------------------------------------------------------------------------------------ the reference cache
class _DescribedIdentity(_Identity):
    def describe(self) -> dict[str, str]:
        return {"protocol": "tf", "weights": "w.pth", "weights_sha256": "ab" * 32, "resize": "none"}


class _Suite:
    """What :func:`feed_real_side` uses of a MetricSuite."""

    def __init__(self, fid: FrechetInceptionDistance) -> None:
        self.metrics = {"fid": fid}
        self.real_batches = 0

    def update_real_batches(self, batches, device) -> None:
        for batch in batches:
            self.metrics["fid"].update(batch["images"][-1].to(device), real=True)
            self.real_batches += 1


def test_checkpoint_mode_caches_the_test_statistics(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from omegaconf import OmegaConf

    from attngan.evaluation.fid_reference import feed_real_side

    real = torch.from_numpy(np.random.default_rng(3).standard_normal((30, 6))).float()
    datamodule = SimpleNamespace(
        root=tmp_path / "data",
        val_dataset=list(range(30)),
        dataset_name="cub",
        test_dataloader=lambda: [{"images": [real[:16]]}, {"images": [real[16:]]}],
    )
    cfg = OmegaConf.create(
        {"paths": {"cache_dir": str(tmp_path / "cache")}, "model": {"image_sizes": [64, 256]}, "metrics": {"fid": {"protocol": "tf", "cache": True}}}
    )  # fmt: skip
    first = _Suite(FrechetInceptionDistance(_DescribedIdentity(6)))
    feed_real_side(cfg, first, datamodule, "cpu")
    cached = list((tmp_path / "cache" / "fid_reference").glob("cub_test_256px_tf_*.npz"))
    assert first.real_batches == 2 and len(cached) == 1
    stats = load_reference(cached[0])
    assert stats.num_images == 30 and stats.info["weights_sha256"] == "ab" * 32
    np.testing.assert_allclose(stats.mu, real.double().mean(0).numpy(), rtol=1e-6)
    second = _Suite(FrechetInceptionDistance(_DescribedIdentity(6)))
    feed_real_side(cfg, second, datamodule, "cpu")  # from the cache: no real image read
    assert second.real_batches == 0 and second.metrics["fid"].reference.path == str(cached[0])
    cfg.metrics.fid.cache = False
    third = _Suite(FrechetInceptionDistance(_DescribedIdentity(6)))
    feed_real_side(cfg, third, datamodule, "cpu")
    assert third.real_batches == 2 and third.metrics["fid"].reference is None
