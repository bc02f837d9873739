"""``attngan-eval``: generate images for the test split's captions and measure them (paper section 4).

Examples::

    attngan-eval checkpoint=outputs/shapes/attngan.ckpt num_images=2000 output_dir=eval/shapes
    attngan-eval checkpoint=cub.ckpt data=cub data.root=/data/birds max_words=25 output_dir=eval/cub
    attngan-eval checkpoint=coco.ckpt data=coco data.root=/data/coco max_words=20 device=cuda

The run itself (passes over the test split, the metrics, ``metrics.json`` and ``metrics.md``) is
:func:`attngan.evaluation.run.evaluate`; the metrics and their options are the ``metrics`` config group.
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main


def _command_line_keys() -> set[str]:
    """The keys set on the command line of the running Hydra app (``data.num_images=...`` -> ``data.num_images``)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = HydraConfig.get().overrides.task
    except (ImportError, ValueError):  # not inside a Hydra app (a composed config in Python)
        return set()
    return {item.split("=", 1)[0].lstrip("+~") for item in overrides}


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Evaluate ``cfg.checkpoint`` as configured (see :func:`attngan.evaluation.run.evaluate`)."""
    from attngan.evaluation.run import evaluate as run_evaluation

    return run_evaluation(cfg, explicit=_command_line_keys())


def main(argv: list[str] | None = None) -> None:
    hydra_main("eval", "attngan-eval", evaluate, argv)


if __name__ == "__main__":
    main()
