"""``attngan-export``: a checkpoint as a shareable model directory (``format=hf``) or as ONNX graphs (``format=onnx``).

Examples::

    attngan-export checkpoint=outputs/shapes/attngan.ckpt format=hf output=shared/shapes-attngan
    attngan-export checkpoint=outputs/shapes/attngan.ckpt format=onnx output=exported/shapes-onnx

``format=hf`` writes ``config.json``, ``*.safetensors``, ``vocab.json`` and the model card ``README.md``
(:meth:`attngan.pipeline.AttnGANPipeline.save_pretrained`, docs/sharing.md); ``format=onnx`` writes
``text_encoder.onnx``, ``generator.onnx`` and ``onnx_config.json`` (:func:`attngan.onnx.export_onnx`,
docs/onnx.md).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.errors import ConfigError

log = logging.getLogger("attngan.export")

FORMATS = ("hf", "onnx")


def export(cfg: DictConfig) -> Path:
    """Export ``cfg.checkpoint`` as ``cfg.format`` to ``cfg.output`` (see ``conf/export.yaml``)."""
    fmt = str(cfg.format).lower()
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(FORMATS)}, got {cfg.format!r} (e.g. format=hf)")
    from attngan.pipeline import AttnGANPipeline

    pipe = AttnGANPipeline.from_checkpoint(cfg.checkpoint, device="cpu")
    if fmt == "hf":
        out = pipe.save_pretrained(cfg.output, evaluation=cfg.get("evaluation") or None)
    else:
        try:
            import onnx  # noqa: F401  (torch.onnx.export needs it)

            from attngan.onnx.export import export_onnx
        except ImportError as err:
            raise ConfigError(
                f"format=onnx needs the onnx packages ({err}): pip install 'attngan[onnx]'"
            ) from err
        out = export_onnx(
            cfg.output,
            pipe.text_encoder,
            pipe.generator,
            pipe.vocab.to_list(),
            pipe.max_words,
            opset=int(cfg.opset),
            metadata=pipe.metadata,
        )
    log.info("wrote %s (%s)", out, ", ".join(sorted(p.name for p in Path(out).iterdir())))
    return Path(out)


def main(argv: list[str] | None = None) -> Any:
    return hydra_main("export", "attngan-export", export, argv)


if __name__ == "__main__":
    main()
