"""CLIP score and CLIP-R-precision: text-image agreement measured by a network the generator never saw.

The DAMSM R-precision (:mod:`attngan.metrics.r_precision`) ranks captions with the very DAMSM the generator was
trained against, so a generator can score high by fooling its own DAMSM. These two metrics ask CLIP instead.

- **CLIP score** (``clip_score``) is torchmetrics' ``CLIPScore``: ``max(100 · mean cos(E_I, E_C), 0)`` over all
  (image, own caption) pairs, with images and captions prepared by the model's own ``CLIPProcessor`` (images as
  uint8 RGB, as saved PNGs). torchmetrics documents the clamp per pair and applies it to the mean; for a trained
  CLIP every pair's cosine is positive and the two agree. ``clip_cosine`` is the raw mean cosine, the number GALIP
  reports as "CS" (with ViT-B/32; ~0.3): ``clip_score = 100 · clip_cosine`` whenever it is positive. The default
  model of torchmetrics is ViT-L/14; CLIP scores of different CLIP models are not comparable.
- **CLIP-R-precision** (``clip_r_precision``): each generated image, its own caption and ``num_candidates - 1``
  mismatched captions (other classes where known) are ranked by the cosine of CLIP image and text embeddings; R = 1,
  so top-1 accuracy, mean ± std over ``num_folds`` folds: exactly :func:`~attngan.metrics.r_precision.r_precision`
  with CLIP embeddings instead of DAMSM vectors.

Captions longer than the text model's positions (77 tokens) are truncated with the end-of-text token kept
(torchmetrics cuts the token ids and so the end token; CUB/COCO captions are far shorter).

The model is read from a local directory in the Hugging Face ``transformers`` layout (``CLIPModel`` +
``CLIPProcessor``: ``config.json``, ``model.safetensors``, tokenizer and preprocessor files), configured as
``metrics.clip.model_path``; nothing is downloaded. Without it both metrics are skipped with one line, like IS/FID
without the Inception file.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from attngan.errors import AttnGANError, ConfigError, WeightsNotFoundError
from attngan.metrics.inception import FrozenFeatureNetwork, images_to_uint8
from attngan.metrics.r_precision import RPrecision

if TYPE_CHECKING:
    from transformers import CLIPModel, CLIPProcessor

__all__ = [
    "CLIP_CONFIG_KEY",
    "CLIPFeatures",
    "CLIPModelNotFoundError",
    "CLIPRPrecision",
    "CLIPScore",
    "load_clip",
]

#: The config key of the CLIP model directory.
CLIP_CONFIG_KEY = "metrics.clip.model_path"

_HOW_TO_GET = (
    "On a machine with internet, save one with transformers: CLIPModel.from_pretrained(name).save_pretrained(DIR) "
    "and CLIPProcessor.from_pretrained(name).save_pretrained(DIR) (name e.g. openai/clip-vit-large-patch14, "
    "torchmetrics' default, or openai/clip-vit-base-patch32, GALIP's), or `huggingface-cli download NAME "
    "--local-dir DIR`; then copy DIR here. attngan never downloads models."
)


class CLIPModelNotFoundError(WeightsNotFoundError):
    """No local CLIP model directory: ``metrics.clip.model_path`` unset, missing or incomplete."""

    def __init__(self, problem: str) -> None:
        self.filename = "CLIP model directory"
        AttnGANError.__init__(
            self,
            f"CLIP score and CLIP-R-precision need a local CLIP model: {problem}. Set {CLIP_CONFIG_KEY}=DIR, a "
            f"Hugging Face CLIPModel directory (config.json, model.safetensors, tokenizer and preprocessor "
            f"files). {_HOW_TO_GET}",
        )


def load_clip(model_path: str | os.PathLike[str] | None) -> tuple[CLIPModel, CLIPProcessor]:
    """Load a ``transformers`` ``CLIPModel`` and its ``CLIPProcessor`` from a local directory.

    Args:
        model_path: the directory (``metrics.clip.model_path``).

    Returns:
        ``(model in eval mode without gradients, processor)``.

    Raises:
        CLIPModelNotFoundError: ``model_path`` is ``None``, not a directory or has no ``config.json``.
        ConfigError: ``transformers`` is not installed, or the directory holds no loadable CLIP model.
    """
    if model_path in (None, ""):
        raise CLIPModelNotFoundError(f"{CLIP_CONFIG_KEY} is not set")
    path = Path(model_path).expanduser()
    if not path.is_dir():
        raise CLIPModelNotFoundError(f"{CLIP_CONFIG_KEY}={model_path} is not a directory")
    if not (path / "config.json").is_file():
        raise CLIPModelNotFoundError(f"{path} has no config.json")
    try:
        from transformers import CLIPModel, CLIPProcessor
    except ImportError as err:
        raise ConfigError(
            f"{CLIP_CONFIG_KEY} is set but the transformers package is missing ({err}); install it with "
            "pip install 'attngan[clip]'"
        ) from err
    try:
        model = CLIPModel.from_pretrained(path, local_files_only=True)
        processor = CLIPProcessor.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise ConfigError(
            f"could not load a CLIP model and processor from {path} ({type(err).__name__}: {err}); it must be a "
            f"transformers CLIPModel directory with its CLIPProcessor files. {_HOW_TO_GET}"
        ) from err
    return model.eval().requires_grad_(False), processor


class CLIPFeatures(FrozenFeatureNetwork):
    """CLIP image and text embeddings, shared by :class:`CLIPScore` and :class:`CLIPRPrecision`.

    Args:
        model_path: the local model directory (see :func:`load_clip`); or give ``model`` and ``processor``.
        model: a ``CLIPModel``-like module with ``get_image_features(pixel_values)`` and
            ``get_text_features(input_ids, attention_mask)``.
        processor: its ``CLIPProcessor`` (``images=`` list of ``(3, H, W)`` uint8 tensors, ``text=`` strings).

    Raises:
        CLIPModelNotFoundError / ConfigError: see :func:`load_clip`.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        model: nn.Module | None = None,
        processor: Callable[..., Mapping[str, Tensor]] | None = None,
    ) -> None:
        super().__init__()
        if model is None or processor is None:
            model, processor = load_clip(model_path)
        self.model_path = str(model_path) if model_path not in (None, "") else "injected model"
        self.hold(model)  # the fixed weights stay out of state dicts (as the Inception of IS/FID)
        self.processor = processor
        text_config = getattr(getattr(model, "config", None), "text_config", None)
        self.max_tokens = int(getattr(text_config, "max_position_embeddings", 77))

    @property
    def device(self) -> torch.device:
        return next(self.network.parameters()).device

    def describe(self) -> dict[str, str]:
        """What was measured with (for ``metrics.json``)."""
        config = getattr(self.network, "config", None)
        vision = getattr(config, "vision_config", None)
        name = getattr(config, "_name_or_path", "") or self.model_path
        return {
            "clip_model": self.model_path,
            "clip_architecture": (
                f"{name}: image {getattr(vision, 'image_size', '?')} px, patch {getattr(vision, 'patch_size', '?')}, "
                f"projection {getattr(config, 'projection_dim', '?')}"
            ),
        }

    @torch.no_grad()
    def encode_images(self, images: Tensor) -> Tensor:
        """CLIP image embeddings, not normalised; the same unmodified tensor twice runs the model once.

        Args:
            images: ``(B, 3, H, W)`` float in [-1, 1] or uint8 (quantised to uint8 first, as saved images).

        Returns:
            ``(B, P)`` float32 on the model's device.
        """
        return self.memoised(images, self._encode_images)

    def _encode_images(self, images: Tensor) -> Tensor:
        processed = self.processor(images=list(images_to_uint8(images).cpu()), return_tensors="pt")
        features = self.network.get_image_features(pixel_values=processed["pixel_values"].to(self.device))
        return _as_tensor(features).float()

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> Tensor:
        """CLIP text embeddings, not normalised: ``(B, P)`` float32 on the model's device."""
        processed = self.processor(
            text=list(texts), return_tensors="pt", padding=True, truncation=True, max_length=self.max_tokens
        )
        features = self.network.get_text_features(
            input_ids=processed["input_ids"].to(self.device),
            attention_mask=processed["attention_mask"].to(self.device),
        )
        return _as_tensor(features).float()


def _as_tensor(output: Any) -> Tensor:
    """The embedding of ``get_*_features`` (a tensor, or a model output holding ``pooler_output``)."""
    if isinstance(output, Tensor):
        return output
    for name in ("image_embeds", "text_embeds", "pooler_output"):
        value = getattr(output, name, None)
        if isinstance(value, Tensor):
            return value
    raise TypeError(f"CLIP get_*_features returned {type(output).__name__}, expected a tensor")


def _texts(texts: Sequence[str | Sequence[str]]) -> list[str]:
    """Captions as strings (word lists are joined with spaces)."""
    return [t if isinstance(t, str) else " ".join(t) for t in texts]


def _check_batch(images: Tensor, texts: Sequence[str | Sequence[str]]) -> None:
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    if len(texts) != images.shape[0]:
        raise ValueError(
            f"got {images.shape[0]} images but {len(texts)} captions; give one caption per image"
        )


class CLIPScore(Metric):
    """torchmetrics' CLIP score over a shared :class:`CLIPFeatures`; DDP-safe (sums).

    Results: ``clip_score`` = ``max(100 · mean cos, 0)`` (torchmetrics' ``CLIPScore``) and ``clip_cosine`` =
    the raw mean cosine (GALIP's "CS").

    Args:
        clip: the shared CLIP network.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, clip: CLIPFeatures, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clip = clip
        self.add_state("cosine_sum", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("count", torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, images: Tensor, texts: Sequence[str | Sequence[str]]) -> None:
        """Add generated images ``(B, 3, H, W)`` in [-1, 1] and their ``B`` captions (strings or word lists)."""
        _check_batch(images, texts)
        image_features = torch.nn.functional.normalize(self.clip.encode_images(images), dim=-1)
        text_features = torch.nn.functional.normalize(self.clip.encode_texts(_texts(texts)), dim=-1)
        cosine = (image_features * text_features).sum(dim=-1)  # (B,)
        self.cosine_sum += cosine.double().sum().to(self.cosine_sum.device)
        self.count += cosine.numel()

    def compute(self) -> dict[str, Tensor]:
        """``{"clip_score": max(100 · mean cos, 0), "clip_cosine": mean cos}`` (NaN before any update)."""
        mean = (self.cosine_sum / self.count).float() if int(self.count) else torch.tensor(float("nan"))
        return {"clip_score": torch.clamp(100 * mean, min=0.0), "clip_cosine": mean}


class CLIPRPrecision(RPrecision):
    """CLIP-R-precision: :class:`~attngan.metrics.r_precision.RPrecision` over CLIP image and text embeddings.

    Args:
        clip: the shared CLIP network.
        num_candidates, num_folds, seed, std_ddof: as :class:`~attngan.metrics.r_precision.RPrecision`
            (the default protocol: distinct mismatches, a tie is a miss).
    """

    def __init__(
        self, clip: CLIPFeatures, num_candidates: int = 100, num_folds: int = 10, seed: int = 0, **kwargs: Any
    ) -> None:
        super().__init__(num_candidates=num_candidates, num_folds=num_folds, seed=seed, **kwargs)
        self.clip = clip

    def update(  # type: ignore[override]
        self,
        images: Tensor,
        texts: Sequence[str | Sequence[str]],
        class_ids: Tensor | None = None,
        indices: Tensor | None = None,
    ) -> None:
        """Add generated images ``(B, 3, H, W)`` in [-1, 1], their ``B`` captions, class ids and indices (see
        :meth:`RPrecision.update`)."""
        _check_batch(images, texts)
        image_features = self.clip.encode_images(images)
        text_features = self.clip.encode_texts(_texts(texts))
        device = image_features.device
        super().update(
            image_features,
            text_features,
            class_ids.to(device) if class_ids is not None else None,
            indices.to(device) if indices is not None else None,
        )

    def compute(self) -> dict[str, Tensor]:  # type: ignore[override]
        """``{"clip_r_precision": mean, "clip_r_precision_std": std}`` over folds, fractions in [0, 1]."""
        result = super().compute()
        return {"clip_r_precision": result["r_precision"], "clip_r_precision_std": result["r_precision_std"]}
