"""``attngan-generate``: captions to images (one PNG per image) and attention figures (one per caption).

Examples::

    attngan-generate checkpoint=outputs/shapes/attngan.ckpt 'captions=[a large red circle on the left]'
    attngan-generate checkpoint=model.ckpt captions_file=captions.txt output_dir=out seed=3 num_images_per_caption=4

Output (``output_dir``): ``<NNN>_<caption>.png`` (``..._<k>.png`` with several images per caption), the final
stage; ``<NNN>_<caption>_attention.png``: the stage images in a row, then per attention stage the top-k
attended words with their maps over the final image (paper Fig. 1/4), for the caption's first image;
``generated.json``: captions, the words the model saw, unknown words and file names. The same ``seed`` gives
every caption the same noise, so captions that differ by one word show that word's effect (paper Fig. 5).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.errors import ConfigError, DataError
from attngan.outputs import OutputDirectory
from attngan.progress import progress

log = logging.getLogger("attngan.generate")
PROG = "attngan-generate"


def read_captions(cfg: DictConfig) -> list[str]:
    """``captions`` followed by the lines of ``captions_file`` (blank lines skipped)."""
    raw = cfg.get("captions") or []
    if isinstance(raw, str):  # captions="a red circle": one caption
        raw = [raw]
    captions = [str(c).strip() for c in raw if str(c).strip()]
    if cfg.get("captions_file"):
        path = Path(cfg.captions_file)
        if not path.is_file():
            raise DataError(
                f"captions_file '{path}' does not exist (expected a text file, one caption per line)"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"captions_file '{path}' is not UTF-8 text (byte {err.start}): save it as UTF-8"
            ) from err
        captions += [line.strip() for line in text.splitlines() if line.strip()]
    if not captions:
        raise ConfigError(
            "no captions: pass 'captions=[a red circle,a blue square]' (quote captions that hold a comma: "
            "'captions=[\"a red circle, large\"]') or captions_file=FILE (one caption per line)"
        )
    return captions


def slug(text: str, limit: int = 48) -> str:
    """A file-name-safe version of a caption: lower-case letters and digits joined by ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "caption"


def generate(cfg: DictConfig) -> dict[str, Any]:
    """Generate the images and figures of ``cfg`` (see ``conf/generate.yaml``); returns the manifest."""
    # checked before any weight is loaded; a second run into its own output_dir replaces the first's files
    target = OutputDirectory(cfg.output_dir, "output_dir", PROG, overwrite=bool(cfg.get("overwrite")))
    captions = read_captions(cfg)
    n = int(cfg.num_images_per_caption)
    with target:
        manifest, count = _generate(cfg, captions, n, target.staging)
    log.info("wrote %d image(s) and %d attention figure(s) to %s", count, len(captions), target.path)
    return manifest


def _generate(cfg: DictConfig, captions: list[str], n: int, out: Path) -> tuple[dict[str, Any], int]:
    """Generate into ``out`` (the staging folder); returns the manifest and the number of images."""
    from attngan.pipeline import AttnGANPipeline

    pipe = AttnGANPipeline.from_checkpoint(cfg.checkpoint, device=str(cfg.device))
    show = bool(cfg.get("progress", True))  # progress on stderr (ATTNGAN_PROGRESS=0 hides it)
    result = pipe(
        captions, seed=int(cfg.seed), num_images_per_caption=n, batch_size=int(cfg.batch_size), progress=show
    )
    records = []
    written = progress(captions, desc="writing images and figures", unit="caption", enabled=show)
    for c, caption in enumerate(written):
        stem = f"{c:03d}_{slug(caption)}"
        images = []
        for k in range(n):
            name = f"{stem}_{k}.png" if n > 1 else f"{stem}.png"
            result.images[c * n + k].save(out / name)
            images.append(name)
        figure_name = f"{stem}_attention.png"  # a one-stage generator has no attention: its stage row only
        figure = result.attention_figure(c * n, top_k=int(cfg.top_k), cell_size=cfg.get("cell_size") or None)
        figure.save(out / figure_name)
        if result.unknown_words[c]:
            log.warning("caption %d %r: unknown words left out: %s", c, caption, result.unknown_words[c])
        records.append(
            {
                "caption": caption,
                "tokens": result.tokens[c],
                "unknown_words": result.unknown_words[c],
                "words_cut": result.words_cut[c],  # known words beyond max_words
                "images": images,
                "attention_figure": figure_name,
            }
        )
    manifest = {
        "checkpoint": str(cfg.checkpoint),
        "seed": int(cfg.seed),
        "num_images_per_caption": n,
        "image_sizes": pipe.image_sizes,
        "captions": records,
    }
    (out / "generated.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest, len(result.images)


def main(argv: list[str] | None = None) -> None:
    hydra_main("generate", PROG, generate, argv)


if __name__ == "__main__":
    main()
