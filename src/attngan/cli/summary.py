"""``python -m attngan.cli.summary outputs/shapes``: where `make train` left its results."""

from __future__ import annotations

import sys
from pathlib import Path


def summarize(root: Path) -> str:
    lines = [f"attngan: results under {root}/"]
    for name in ("damsm.ckpt", "attngan.ckpt"):
        path = root / name
        lines.append(f"  {name:<14} {path if path.exists() else '(missing)'}")
    for run in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        for sub, label in (
            ("samples", "samples"),
            ("attention", "DAMSM attention"),
            ("checkpoints", "checkpoints"),
        ):
            if (run / sub).exists():
                latest = sorted((run / sub).iterdir())
                shown = latest[-1] if latest and sub != "checkpoints" else run / sub
                lines.append(f"  {label:<14} {shown}")
    lines.append(
        "next: attngan-generate checkpoint="
        f"{root / 'attngan.ckpt'} 'captions=[a large red circle on the left]' output_dir=generated"
    )
    lines.append(
        f"      attngan-eval checkpoint={root / 'attngan.ckpt'} data=shapes num_images=2000 output_dir={root / 'eval'}"
    )
    return "\n".join(lines)


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else "outputs/shapes")
    print(summarize(root))


if __name__ == "__main__":
    main()
