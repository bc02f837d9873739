"""``python -m attngan.cli.summary outputs/shapes``: what `make train` prints at the end.

Where the checkpoints and the training figures are, the measured oracle numbers of the final EMA generator
(:func:`attngan.evaluation.quick.quick_shapes_metrics`: the shapes test split, one caption per image, a few
seconds), the attention and word-swap figures it writes to ``<root>/figures/``
(:func:`attngan.evaluation.figures.write_figures`) and the next commands. Without ``attngan.ckpt`` it says
what is missing and how to make it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from attngan.errors import AttnGANError

FIGURES_DIR = "figures"


def _listing(root: Path) -> list[str]:
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
    return lines


def _missing(root: Path) -> str:
    """One line: what is missing under ``root`` and the command that makes it."""
    if not (root / "damsm.ckpt").exists():
        return (
            f"missing: {root / 'attngan.ckpt'} and {root / 'damsm.ckpt'}: nothing is trained yet; `make train` "
            "trains both (the DAMSM, then the AttnGAN on it)."
        )
    return (
        f"missing: {root / 'attngan.ckpt'} (only the DAMSM half has run): train the AttnGAN half with "
        f"attngan-train experiment=shapes_attngan model.damsm_checkpoint={root / 'damsm.ckpt'} "
        f"export_path={root / 'attngan.ckpt'} hydra.run.dir={root / 'attngan_run'}"
    )


def _recipe(checkpoint: Path) -> str:
    """One line: the training options beyond the release that the checkpoint's run used."""
    from attngan.checkpoint import safe_load_checkpoint
    from attngan.training.options import format_departures, recipe_departures

    try:
        config = safe_load_checkpoint(checkpoint).get("attngan", {}).get("config", {})
        return f"recipe: {format_departures(recipe_departures(config))}"
    except AttnGANError as err:
        return f"recipe: unknown ({err})"


def _measure(checkpoint: Path, root: Path, num_images: int, seed: int, device: str) -> list[str]:
    """The oracle table and the figures of the final EMA generator (one line per problem, no traceback)."""
    from attngan.evaluation.figures import write_figures
    from attngan.evaluation.quick import format_quick_table, quick_shapes_metrics
    from attngan.pipeline import AttnGANPipeline

    try:
        pipe = AttnGANPipeline.from_checkpoint(checkpoint, device=device)
    except AttnGANError as err:
        return [f"could not load {checkpoint}: {err}"]
    lines = []
    try:
        quick = quick_shapes_metrics(pipe, num_images=num_images, seed=seed)
    except AttnGANError as err:
        lines.append(f"oracle check skipped: {err}")
    else:
        lines.append(
            f"final EMA generator on {quick['num_images']} test captions (one per test image, seed {seed}; "
            f"{quick['seconds']:.1f} s):"
        )
        lines.append(format_quick_table(quick["metrics"]))
    try:
        paths = write_figures(pipe, root / FIGURES_DIR, seed=seed)
    except AttnGANError as err:
        lines.append(f"figures skipped: {err}")
    else:
        lines += ["figures:", *(f"  {name.replace('_', ' '):<14} {path}" for name, path in paths.items())]
    return lines


def summarize(root: Path, num_images: int = 400, seed: int = 0, device: str = "cpu") -> str:
    """Everything the summary prints, as one string.

    Args:
        root: the folder `make train` wrote (``damsm.ckpt``, ``attngan.ckpt``, the run folders).
        num_images: test captions the oracle judges (one per test image).
        seed: noise seed of the oracle check and the figures.
        device: where the generator runs.
    """
    root = Path(root)
    lines = _listing(root)
    checkpoint = root / "attngan.ckpt"
    if not checkpoint.exists():
        lines.append(_missing(root))
        return "\n".join(lines)
    lines.append(_recipe(checkpoint))
    lines += _measure(checkpoint, root, num_images, seed, device)
    lines.append("next:")
    lines.append(
        f"  attngan-generate checkpoint={checkpoint} 'captions=[a large red circle on the left]' "
        "output_dir=generated"
    )
    lines.append(f"  attngan-eval checkpoint={checkpoint} num_images=30000 output_dir={root / 'eval'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m attngan.cli.summary", description=__doc__.splitlines()[0]
    )
    parser.add_argument("root", nargs="?", default="outputs/shapes", help="the folder make train wrote")
    parser.add_argument("--num-images", type=int, default=400, help="test captions the oracle judges")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of the check and the figures")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ... or auto")
    args = parser.parse_args(argv)
    print(summarize(Path(args.root), args.num_images, args.seed, args.device), flush=True)


if __name__ == "__main__":
    main()
