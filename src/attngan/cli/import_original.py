"""``attngan-import-original``: the authors' released DAMSM encoders / generator as one attngan checkpoint.

Example::

    attngan-import-original captions=birds/captions.pickle \\
        text_encoder=DAMSMencoders/bird/text_encoder200.pth image_encoder=DAMSMencoders/bird/image_encoder200.pth \\
        generator=models/bird_AttnGAN2.pth output=bird_release.ckpt
"""

from __future__ import annotations

import sys
from typing import Any

from omegaconf import DictConfig

from attngan.cli.common import hydra_main


def import_original(cfg: DictConfig) -> dict[str, Any]:
    from attngan.compat import load_original_models
    from attngan.compat.convert import write_release_checkpoint

    models = load_original_models(
        cfg.captions,
        cfg.text_encoder,
        image_encoder_path=cfg.get("image_encoder"),
        generator_path=cfg.get("generator"),
        num_stages=cfg.get("num_stages"),
    )
    sources = {
        k: str(cfg[k]) for k in ("captions", "text_encoder", "image_encoder", "generator") if cfg.get(k)
    }
    entry = write_release_checkpoint(models, cfg.output, max_words=int(cfg.max_words), sources=sources)
    networks = entry["networks"]
    described = [f"vocabulary of {len(entry['vocab']) - 1} words", "text encoder"]
    if "image_encoder" in networks:
        described.append("image encoder")
    if "generator" in networks:
        g = networks["generator"]
        described.append(f"generator ({g['num_stages']} stages, ngf {g['ngf']}, legacy attention mask)")
    print(f"wrote {entry['kind']} checkpoint {cfg.output}: {', '.join(described)}", file=sys.stderr)
    if entry["kind"] == "attngan":
        print(
            f"next: attngan-generate checkpoint={cfg.output} 'captions=[this bird is red with a short beak]'",
            file=sys.stderr,
        )
    else:
        print(
            f"next: attngan-train experiment=cub_attngan2 model.damsm_checkpoint={cfg.output}",
            file=sys.stderr,
        )
    return entry


def main(argv: list[str] | None = None) -> None:
    hydra_main("import_original", "attngan-import-original", import_original, argv)


if __name__ == "__main__":
    main()
