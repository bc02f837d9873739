"""The authors' released files written as one attngan checkpoint (what ``attngan-import-original`` does)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attngan.checkpoint import atomic_torch_save, run_metadata
from attngan.compat.original import OriginalModels
from attngan.errors import ConfigError
from attngan.models import Generator, InceptionImageEncoder, TextEncoder


def text_encoder_spec(encoder: TextEncoder) -> dict[str, Any]:
    """Constructor arguments of a text encoder, with ``_target_``."""
    return {
        "_target_": "attngan.models.TextEncoder",
        "vocab_size": encoder.vocab_size,
        "embedding_dim": encoder.embedding_dim,
        "hidden_dim": encoder.hidden_dim,
        "dropout": float(encoder.dropout.p),
        "rnn_type": encoder.rnn_type,
        "bidirectional": encoder.bidirectional,
    }


def image_encoder_spec(encoder: InceptionImageEncoder) -> dict[str, Any]:
    """Constructor arguments of a released (Inception) image encoder, with ``_target_``."""
    return {
        "_target_": "attngan.models.InceptionImageEncoder",
        "embedding_dim": encoder.embedding_dim,
        "pretrained": False,  # every weight comes from the checkpoint
        "align_corners": encoder.align_corners,
    }


def generator_spec(generator: Generator) -> dict[str, Any]:
    """Constructor arguments of a generator, with ``_target_``."""
    return {
        "_target_": "attngan.models.Generator",
        "num_stages": generator.num_stages,
        "ngf": generator.ngf,
        "embedding_dim": generator.embedding_dim,
        "z_dim": generator.z_dim,
        "condition_dim": generator.condition_dim,
        "num_residual": generator.num_residual,
        "legacy_attention_mask": generator.legacy_attention_mask,
        "base_size": generator.base_size,
    }


def write_release_checkpoint(
    models: OriginalModels,
    output: str | os.PathLike[str],
    max_words: int = 18,
    sources: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Write released networks as an attngan checkpoint (atomically) and return its ``"attngan"`` entry.

    With a generator the checkpoint is of kind ``"attngan"``: ``AttnGANPipeline.from_checkpoint``,
    ``attngan-generate``, ``attngan-eval`` and ``attngan-train model.init_from=`` read it. Without one it is a
    ``"damsm"`` checkpoint for ``model.damsm_checkpoint=`` (both encoders needed).
    """
    if models.generator is None and models.image_encoder is None:
        raise ConfigError(
            "nothing to convert beyond the text encoder: give generator=... (an attngan checkpoint) or "
            "image_encoder=... (a DAMSM checkpoint)"
        )
    state: dict[str, Any] = {f"text_encoder.{k}": v for k, v in models.text_encoder.state_dict().items()}
    networks: dict[str, Any] = {"text_encoder": text_encoder_spec(models.text_encoder)}
    if models.image_encoder is not None:
        state.update({f"image_encoder.{k}": v for k, v in models.image_encoder.state_dict().items()})
        networks["image_encoder"] = image_encoder_spec(models.image_encoder)
    kind = "damsm"
    if models.generator is not None:
        kind = "attngan"
        generator_state = models.generator.state_dict()
        # the release's netG files hold its averaged (EMA) weights: they serve as both live and EMA generator
        state.update({f"generator.{k}": v for k, v in generator_state.items()})
        state.update({f"generator_ema.{k}": v for k, v in generator_state.items()})
        networks["generator"] = generator_spec(models.generator)
    config = {"data": {"max_words": int(max_words)}, "source": "authors' release", "files": sources or {}}
    entry = run_metadata(kind, config, models.vocab.to_list())
    entry.update({"networks": networks, "gammas": [4.0, 5.0, 10.0], "generator_step": 0})
    atomic_torch_save({"state_dict": state, "attngan": entry}, Path(output))
    return entry
