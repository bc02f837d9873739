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
import os
from pathlib import Path

from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.errors import ConfigError
from attngan.outputs import OutputDirectory

log = logging.getLogger("attngan.export")
PROG = "attngan-export"


def export(cfg: DictConfig) -> Path:
    """Export ``cfg.checkpoint`` as ``cfg.format`` to ``cfg.output`` (see ``conf/export.yaml``; ExportSchema
    in :mod:`attngan.schemas` has refused any other format)."""
    fmt = str(cfg.format)
    if fmt == "onnx":
        try:
            import onnx  # noqa: F401  (torch.onnx.export needs it)
        except ImportError as err:
            raise ConfigError(
                f"format=onnx needs the onnx packages ({err}): pip install 'attngan[onnx]'"
            ) from err
    from attngan.pipeline import AttnGANPipeline

    # checked before the checkpoint is read; a second export into its own output replaces the first's files
    target = OutputDirectory(cfg.output, "output", PROG, overwrite=bool(cfg.get("overwrite")))
    with target:
        pipe = AttnGANPipeline.from_checkpoint(cfg.checkpoint, device="cpu")
        if fmt == "hf":
            pipe.save_pretrained(target.staging, evaluation=cfg.get("evaluation") or None)
        else:
            from attngan.onnx.export import export_onnx

            export_onnx(
                target.staging,
                pipe.text_encoder,
                pipe.generator,
                pipe.vocab.to_list(),
                pipe.max_words,
                opset=int(cfg.opset),
                metadata=pipe.metadata,
            )
        names = os.listdir(target.staging)
    log.info("wrote %s (%s)", target.path, ", ".join(sorted(names)))
    if fmt == "hf" and not cfg.get("evaluation"):
        from attngan.hub import find_evaluation

        if find_evaluation(cfg.checkpoint) is None:
            log.warning(
                "the model card says the model was not evaluated: no attngan-eval metrics.json names %s (looked "
                "beside it and in ./eval); evaluation=<an attngan-eval output_dir> points the card at one",
                cfg.checkpoint,
            )
    return target.path


def main(argv: list[str] | None = None) -> None:
    hydra_main("export", PROG, export, argv)


if __name__ == "__main__":
    main()
