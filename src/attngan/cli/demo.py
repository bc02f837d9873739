"""``attngan-demo``: a web page to try a model (Gradio, local, offline).

Examples::

    attngan-demo checkpoint=outputs/shapes/attngan.ckpt
    attngan-demo checkpoint=model.ckpt host=0.0.0.0 port=8080 device=cpu

The page: a caption box with the model's test captions as examples, seed, images per caption; the images,
every stage of the first image, the attention figure (top-k words per attention stage) and the unknown
words; a *Change one word* tab shows two captions with the same noise side by side (paper Fig. 5).
What the page does is :mod:`attngan.demo`; this script reads the config and starts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omegaconf import DictConfig

from attngan.cli.common import hydra_main

if TYPE_CHECKING:
    import gradio


def demo(cfg: DictConfig) -> gradio.Blocks:
    """Serve the demo of ``cfg`` (see ``conf/demo.yaml``) until interrupted."""
    from attngan.demo import serve

    return serve(
        cfg.checkpoint,
        host=str(cfg.host),
        port=int(cfg.port),
        device=str(cfg.device),
        num_examples=int(cfg.num_examples),
        top_k=int(cfg.top_k),
    )


def main(argv: list[str] | None = None) -> None:
    hydra_main("demo", "attngan-demo", demo, argv)


if __name__ == "__main__":
    main()
