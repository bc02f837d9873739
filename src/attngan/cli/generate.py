"""``attngan-generate``: captions to images (one PNG per image) and attention figures (one per caption).

Examples::

    attngan-generate checkpoint=outputs/shapes/attngan.ckpt 'captions=[a large red circle on the left]'
    attngan-generate checkpoint=model.ckpt captions_file=captions.txt output_dir=out seed=3 num_images_per_caption=4
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.errors import ConfigError, DataError


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def read_captions(cfg: DictConfig) -> list[str]:
    captions = [str(c) for c in (cfg.get("captions") or [])]
    if cfg.get("captions_file"):
        path = Path(cfg.captions_file)
        if not path.is_file():
            raise DataError(f"captions_file '{path}' does not exist (one caption per line)")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            raise DataError(
                f"captions_file '{path}' is not UTF-8 text (byte {err.start}): save it as UTF-8"
            ) from err
        captions += [line.strip() for line in text.splitlines() if line.strip()]
    if not captions:
        raise ConfigError("no captions: pass 'captions=[a red circle,a blue square]' or captions_file=FILE")
    return captions


def slug(text: str, limit: int = 48) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:limit] or "caption"


def generate(cfg: DictConfig) -> dict[str, Any]:
    from attngan.pipeline import AttnGANPipeline

    captions = read_captions(cfg)
    pipe = AttnGANPipeline.from_checkpoint(cfg.checkpoint, device=resolve_device(cfg.device))
    n = int(cfg.num_images_per_caption)
    result = pipe(captions, seed=int(cfg.seed), num_images_per_caption=n)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    records = []
    for c, caption in enumerate(captions):
        stem = f"{c:03d}_{slug(caption)}"
        images = []
        for k in range(n):
            name = f"{stem}_{k}.png" if n > 1 else f"{stem}.png"
            result.images[c * n + k].save(out / name)
            images.append(name)
        figure_name = f"{stem}_attention.png"
        result.attention_figure(c * n, top_k=int(cfg.top_k)).save(out / figure_name)
        records.append(
            {
                "caption": caption,
                "tokens": result.tokens[c],
                "unknown_words": result.unknown_words[c],
                "images": images,
                "attention_figure": figure_name,
            }
        )
    manifest = {"checkpoint": str(cfg.checkpoint), "seed": int(cfg.seed), "captions": records}
    (out / "generated.json").write_text(json.dumps(manifest, indent=2))
    print(
        f"wrote {len(result.images)} image(s) and {len(captions)} attention figure(s) to {out}",
        file=sys.stderr,
    )
    return manifest


def main(argv: list[str] | None = None) -> Any:
    return hydra_main("generate", "attngan-generate", generate, argv)


if __name__ == "__main__":
    main()
