"""The demo's Gradio page: layout only; what the buttons do is :class:`~attngan.demo.backend.DemoBackend`.

Every mistake a visitor can make (empty caption, only unknown words, too many images, a bad seed) becomes a
message in the status box of the tab it happened in (no toast: a toast would float over the other tab too); an
unexpected failure is logged on the server with its traceback and shown as one line. The server keeps serving
either way.

Nothing is contacted outside this machine: Gradio's analytics and version check are off, there is no share
link, no server-side rendering, no MCP server, and the theme uses the browser's own fonts (no Google Fonts).
"""

from __future__ import annotations

import logging
import os
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PIL import Image

from attngan.demo.backend import MAX_IMAGES_PER_CAPTION, DemoBackend, one_word_changed
from attngan.errors import AttnGANError, ConfigError

if TYPE_CHECKING:
    from gradio import Blocks

log = logging.getLogger("attngan.demo")

# set before gradio is imported (it reads them at import and at launch)
OFFLINE_ENVIRONMENT = {
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_SSR_MODE": "False",
    "GRADIO_MCP_SERVER": "False",
    "GRADIO_SHARE": "False",
}

Captioned = list[tuple[Image.Image, str]]  # a gallery's (image, label) cells

# every gallery: PNG (exact pixels), thumbnails side by side (no single enlarged preview), whole images
GALLERY = {"format": "png", "columns": 4, "fit_columns": False, "preview": False, "object_fit": "contain"}


def import_gradio() -> ModuleType:
    """``gradio``, imported with :data:`OFFLINE_ENVIRONMENT` set.

    Raises:
        ConfigError: gradio is not installed (how to install it).
    """
    os.environ.update(OFFLINE_ENVIRONMENT)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # gradio's own requests to the local server
    try:
        import gradio
    except ImportError as err:
        raise ConfigError(
            f"the web demo needs gradio, which is not installed ({err}): pip install 'attngan[demo]'"
        ) from err
    return gradio


def _problem(err: Exception) -> str:
    """The status-box text of a failed click, shown in the tab it happened in."""
    if isinstance(err, AttnGANError):
        message = str(err)
    else:  # not the visitor's mistake: the traceback goes to the server log only
        log.exception("demo: generation failed")
        message = f"Generation failed ({type(err).__name__}: {err}); the server log has the details."
    return f"**Cannot generate:** {message}"


def _header(backend: DemoBackend) -> str:
    pipe = backend.pipe
    data = ((pipe.metadata.get("config") or {}).get("data") or {}).get("name")
    sizes = "→".join(str(s) for s in pipe.image_sizes)
    return (
        "# AttnGAN: text to image with word attention\n"
        f"Model: {len(pipe.vocab) - 1} words"
        + (f", trained on **{data}**" if data else "")
        + f"; stages {sizes} pixels; running on `{pipe.device}`. The same seed gives every caption the same "
        "noise. Words the model does not know are left out (and listed)."
    )


def build_demo(
    backend: DemoBackend, examples: list[str] | None = None, known_captions: list[str] | None = None
) -> Blocks:
    """The Gradio ``Blocks`` of the demo.

    Args:
        backend: the model and what the buttons do.
        examples: example captions shown under the caption box
            (:func:`attngan.demo.examples.example_captions`).
        known_captions: captions that *Suggest a change* learns which words are alike from (default
            ``examples``).

    Returns:
        ``gradio.Blocks`` with two API endpoints: ``/generate (caption, seed, images per caption) -> (images,
        stages, attention figure, status)`` and ``/compare (caption, changed caption, seed) -> (pair, status)``.
    """
    gr = import_gradio()
    examples = list(examples or [])
    known = list(known_captions or examples)
    vocab_words = backend.pipe.vocab.to_list()[1:]

    def generate(
        caption: str, seed: float, count: float
    ) -> tuple[list[Image.Image], Captioned, Image.Image | None, str]:
        try:
            out = backend.generate(caption, seed, count)
        except Exception as err:  # every failure becomes a message; the server keeps serving
            return [], [], None, _problem(err)
        return out.images, out.stages, out.attention, out.status()

    def compare(caption: str, changed: str, seed: float) -> tuple[Captioned, str]:
        try:
            out = backend.compare(caption, changed, seed)
        except Exception as err:
            return [], _problem(err)
        return out.images, out.status()

    def suggest(caption: str) -> str:
        return one_word_changed(str(caption or ""), known, vocab_words)

    first = examples[0] if examples else (known[0] if known else "")
    with gr.Blocks(title="AttnGAN demo", analytics_enabled=False) as demo:
        gr.Markdown(_header(backend))
        with gr.Tab("Generate"), gr.Row():
            with gr.Column(scale=1):
                caption = gr.Textbox(label="Caption", value=first, lines=2, elem_id="caption")
                with gr.Row():
                    # no precision=0: Gradio would round 1.5 to 2 silently; the backend refuses it instead
                    seed = gr.Number(label="Seed", value=0, minimum=0, step=1, elem_id="seed")
                    count = gr.Number(
                        label=f"Images per caption (1 to {MAX_IMAGES_PER_CAPTION})",
                        value=1,
                        precision=0,
                        elem_id="count",
                    )
                button = gr.Button("Generate", variant="primary", elem_id="generate")
                if examples:
                    gr.Examples(examples=[[c] for c in examples], inputs=[caption], label="Test captions")
            with gr.Column(scale=2):
                status = gr.Markdown(elem_id="status")
                images = gr.Gallery(label="Images", elem_id="images", height=330, **GALLERY)
                # 250 px: a row of whole thumbnails (about 185 px each at 1280 px) with the label; less scrolls
                stages = gr.Gallery(
                    label="Every stage of the first image", elem_id="stages", height=250, **GALLERY
                )
                attention = gr.Image(
                    label=f"Attention: the top-{backend.top_k} words of each attention stage",
                    type="pil",
                    format="png",
                    elem_id="attention",
                )
        with gr.Tab("Change one word", elem_id="compare-tab"):
            gr.Markdown(
                "Two captions, the same noise (z and the conditioning ε): change one word and see what that "
                "word does (paper Fig. 5)."
            )
            with gr.Row():
                before = gr.Textbox(label="Caption", value=first, elem_id="before")
                after = gr.Textbox(label="Changed caption", value=suggest(first), elem_id="after")
            with gr.Row():
                pair_seed = gr.Number(label="Seed", value=0, minimum=0, step=1)
                swap = gr.Button("Suggest a change")
                compare_button = gr.Button("Compare", variant="primary", elem_id="compare")
            pair_status = gr.Markdown(elem_id="compare-status")
            pair = gr.Gallery(
                label="Same noise, one word changed", elem_id="pair", height=460, **{**GALLERY, "columns": 3}
            )

        button.click(
            generate, [caption, seed, count], [images, stages, attention, status], api_name="generate"
        )
        caption.submit(generate, [caption, seed, count], [images, stages, attention, status], api_name=False)
        compare_button.click(compare, [before, after, pair_seed], [pair, pair_status], api_name="compare")
        swap.click(suggest, [before], [after], api_name=False)
    return demo


def launch_options(host: str, port: int) -> dict[str, Any]:
    """Keyword arguments of ``Blocks.launch`` for a local, offline server."""
    gr = import_gradio()
    system_fonts = gr.themes.Default(
        font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )
    return {
        "server_name": host,
        "server_port": int(port),
        "share": False,
        "ssr_mode": False,
        "mcp_server": False,
        "show_error": False,
        "theme": system_fonts,
        "footer_links": ["api"],
    }
