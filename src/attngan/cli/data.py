"""``attngan-data``: check a dataset, or write a generated shapes dataset.

The first argument is the subcommand; the rest are Hydra overrides of ``conf/data_tool.yaml``::

    attngan-data check data=cub data.root=/data/birds
    attngan-data check data=folder data.root=my_data manifest=bad.json
    attngan-data shapes root=data/shapes num_images=2000 seed=1
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from attngan.cli.common import hydra_main
from attngan.cli.help import render_help
from attngan.errors import ConfigError
from attngan.outputs import check_location

PROG = "attngan-data"


def check(cfg: DictConfig) -> None:
    """Run the checker on ``cfg.data`` and exit 0 (clean) or 1 (problems).

    A shapes dataset is generated only into the cache (``data.root`` unset) or with ``data.generate=true``:
    a ``data.root`` that does not exist is an error saying how to create it.
    """
    from attngan.data.check import check_dataset
    from attngan.data.readers import reader_from_config

    data = OmegaConf.to_container(cfg.data, resolve=True)
    assert isinstance(data, dict)
    workers = int(cfg.workers)  # types and ranges: DataToolSchema (attngan.schemas)
    check_location(cfg.manifest, "manifest", directory=False)  # before the walk, not after it
    start = time.perf_counter()
    report = check_dataset(
        reader_from_config(data),
        cache_dir=data.get("cache_dir"),
        max_words=data.get("max_words"),
        workers=workers,
        progress=bool(cfg.get("progress", True)),
    )
    print(report.summary())
    manifest = report.write_manifest(cfg.manifest)
    print(
        f"manifest: {manifest} ({len(report.bad_samples)} bad samples; train with data.bad_manifest={manifest})"
    )
    print(f"checked in {time.perf_counter() - start:.1f} s")
    sys.exit(0 if report.ok else 1)


def shapes(cfg: DictConfig) -> None:
    """Write a shapes dataset to ``cfg.root`` (the one place that generates into a directory of the user's)."""
    from attngan.data.shapes import generate_shapes

    if not cfg.get("root"):
        raise ConfigError(
            f"{PROG} shapes needs a target directory: {PROG} shapes root=DIR [num_images=N] [seed=S]"
        )
    num_images, seed, test_fraction = int(cfg.num_images), int(cfg.seed), float(cfg.test_fraction)
    check_location(cfg.root, "root")  # a file or a place that cannot be written: before generating anything
    start = time.perf_counter()
    root = generate_shapes(cfg.root, num_images, seed, test_fraction, cfg.overwrite)
    print(
        f"shapes dataset: {num_images} images (seed {seed}) in {root} "
        f"[{time.perf_counter() - start:.1f} s]\ntrain on it with: attngan-train data=shapes data.root={root}"
    )


COMMANDS: dict[str, Callable[[DictConfig], Any]] = {"check": check, "shapes": shapes}


def main(argv: list[str] | None = None) -> int | None:
    """``attngan-data <command> [key=value ...]``; its help (and each command's ``--help``) is written from
    ``conf/data_tool.yaml`` (:mod:`attngan.cli.help`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(render_help("data_tool", PROG))
        return 0 if args else 2
    command, overrides = args[0], args[1:]
    if command not in COMMANDS:
        print(
            f"{PROG}: error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}.",
            file=sys.stderr,
        )
        sys.exit(2)
    return hydra_main("data_tool", PROG, COMMANDS[command], [f"command={command}", *overrides])


if __name__ == "__main__":
    main()
