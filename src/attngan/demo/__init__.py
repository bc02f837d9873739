"""The web demo (``attngan-demo checkpoint=...``): a Gradio page over :class:`~attngan.AttnGANPipeline`.

::

    from attngan.demo import create_demo, serve
    demo = create_demo("outputs/shapes/attngan.ckpt")          # gradio.Blocks, not started
    serve("outputs/shapes/attngan.ckpt", port=7860)             # http://127.0.0.1:7860, blocks until Ctrl-C

- :mod:`~attngan.demo.backend`: what the buttons do (checked inputs -> pipeline -> images and messages); no
  Gradio, so it is tested without a browser. Limits: ``MAX_IMAGES_PER_CAPTION``, ``MAX_CAPTION_CHARS``.
- :mod:`~attngan.demo.examples`: example captions (the checkpoint's test captions, else vocabulary words).
- :mod:`~attngan.demo.app`: the page layout and the offline launch options.

Gradio is an optional dependency (``pip install 'attngan[demo]'``); it is imported only when a page is built.
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from attngan.demo.backend import MAX_CAPTION_CHARS, MAX_IMAGES_PER_CAPTION, DemoBackend, DemoInputError
from attngan.errors import ConfigError

if TYPE_CHECKING:
    from gradio import Blocks

log = logging.getLogger("attngan.demo")

# test captions read for the suggestions of the "change one word" view
SUGGESTION_POOL = 64

__all__ = [
    "MAX_CAPTION_CHARS",
    "MAX_IMAGES_PER_CAPTION",
    "DemoBackend",
    "DemoInputError",
    "create_demo",
    "serve",
]


def create_demo(
    checkpoint: str | Path, device: str = "auto", num_examples: int = 8, top_k: int = 5
) -> Blocks:
    """Load ``checkpoint`` and build the demo page (start it with ``.launch()``).

    Args:
        checkpoint: an attngan checkpoint (``attngan-train`` export, ``attngan-import-original``).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:1"``, ...
        num_examples: example captions offered under the caption box.
        top_k: words per attention stage in the attention figure.

    Raises:
        CheckpointError: the checkpoint is missing or not an attngan checkpoint.
        ConfigError: gradio is not installed.
    """
    from attngan.demo.app import build_demo, import_gradio
    from attngan.demo.examples import example_captions
    from attngan.pipeline import AttnGANPipeline

    import_gradio()  # a missing gradio is reported before the checkpoint is loaded
    pipe = AttnGANPipeline.from_checkpoint(checkpoint, device=device)
    # a larger pool teaches "Suggest a change" which words are alike; the first num_examples are shown
    known = example_captions(pipe.metadata, pipe.vocab, limit=max(SUGGESTION_POOL, int(num_examples)))
    examples = known[: max(0, int(num_examples))]
    log.info("demo: %s on %s, %d example caption(s)", checkpoint, pipe.device, len(examples))
    return build_demo(DemoBackend(pipe, top_k=top_k), examples, known)


def serve(
    checkpoint: str | Path,
    host: str = "127.0.0.1",
    port: int = 7860,
    device: str = "auto",
    num_examples: int = 8,
    top_k: int = 5,
    block: bool = True,
) -> Blocks:
    """Start the demo on ``http://host:port/``; with ``block`` (the console script) until interrupted.

    Returns:
        The running page (``.close()`` stops it) when ``block`` is false.

    Raises:
        ConfigError: the port is taken (or cannot be bound), or gradio is not installed.
    """
    from attngan.demo.app import launch_options

    demo = create_demo(checkpoint, device=device, num_examples=num_examples, top_k=top_k)
    try:
        # quiet: Gradio's own banner suggests share=True, which this demo never uses (no link leaves the machine)
        demo.launch(**launch_options(host, port), prevent_thread_lock=True, quiet=True)
    except OSError as err:
        taken = err.errno in (errno.EADDRINUSE, errno.EACCES) or "port" in str(err).lower()
        raise ConfigError(
            f"cannot serve the demo on {host}:{port} ({err}): "
            + ("the port is in use; pick another with port=N" if taken else "check host= and port=")
        ) from err
    if block:
        log.info("demo: serving on %s (local only, no share link; Ctrl-C stops it)", demo.local_url)
        demo.block_thread()
    return demo
