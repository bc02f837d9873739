"""The authors' released files written as one attngan checkpoint (what ``attngan-import-original`` does)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from attngan.checkpoint import atomic_torch_save, run_metadata
from attngan.compat.original import OriginalModels
from attngan.errors import ConfigError
from attngan.hub.pretrained import network_spec


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
    state: dict[str, Any] = {}
    networks: dict[str, Any] = {}
    for name in ("text_encoder", "image_encoder", "generator"):
        net = getattr(models, name)
        if net is None:
            continue
        networks[name] = network_spec(net)
        # the release's netG files hold its averaged (EMA) weights: they serve as both live and EMA generator
        for prefix in (name, "generator_ema") if name == "generator" else (name,):
            state.update({f"{prefix}.{k}": v for k, v in net.state_dict().items()})
    kind = "damsm" if models.generator is None else "attngan"
    config = {"data": {"max_words": int(max_words)}, "source": "authors' release", "files": sources or {}}
    entry = run_metadata(kind, config, models.vocab.to_list())
    entry.update({"networks": networks, "gammas": [4.0, 5.0, 10.0], "generator_step": 0})
    atomic_torch_save({"state_dict": state, "attngan": entry}, Path(output))
    return entry
