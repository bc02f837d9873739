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
from attngan.errors import ConfigError
from attngan.outputs import check_location

PROG = "attngan-data"

USAGE = f"""\
usage: {PROG} <command> [key=value ...]

Dataset tool of attngan. Arguments after the command are Hydra overrides (key=value).

commands:
  check    walk a dataset once: summary, every problem with its file, a JSON manifest of bad samples
           {PROG} check data=cub data.root=/path/to/birds
  shapes   write the built-in shapes dataset (generated, deterministic) into a directory
           {PROG} shapes root=data/shapes num_images=1000 seed=0

`{PROG} <command> --help` describes a command's options; `{PROG} <command> --cfg job` prints its config.
"""

CHECK_HELP = f"""\
usage: {PROG} check data=<shapes|folder|cub|coco> data.root=DIR [manifest=FILE] [workers=N] [data.KEY=VALUE ...]

Walks the dataset once, as training would read it, and prints:
  - images per split, captions per image (min/mean/max), vocabulary size, longest caption, class count;
  - every problem with its file: missing image, unreadable/zero-byte/truncated image, image without captions,
    caption file without image, fewer captions than data.captions_per_image, empty captions, captions that
    are not UTF-8, words missing from the dataset's vocabulary.
Writes a JSON manifest of the problems (default bad_samples_<dataset>.json in the current directory); train
with data.bad_manifest=FILE to leave its bad samples out. Exit status: 0 clean, 1 problems found, 2 the
dataset cannot be read at all (the message shows the expected layout and where the files come from).

options:
  data=NAME            dataset config: shapes, folder, cub, coco (conf/data/NAME.yaml)
  data.root=DIR        the dataset directory
  manifest=FILE        where to write the manifest
  workers=N            threads decoding images (default 4)
  progress=false       no progress display on stderr (or ATTNGAN_PROGRESS=0; plain lines off a terminal)
  data.captions_per_image=N, data.max_words=N   as in training

A shapes dataset is generated only into the cache (data.root unset) or where data.generate=true asks for it;
a data.root that does not exist is an error that shows the `{PROG} shapes` command creating it.

examples:
  {PROG} check data=cub data.root=/data/birds
  {PROG} check data=coco data.root=/data/coco manifest=coco_bad.json
  {PROG} check data=folder data.root=my_pictures
"""

SHAPES_HELP = f"""\
usage: {PROG} shapes root=DIR [num_images=N] [seed=S] [test_fraction=F] [overwrite=true]

Writes the built-in shapes dataset (1-2 coloured objects per 64x64 image, 6 captions each, exact ground truth:
colour, shape, size, position, box and label mask per object) into DIR, in the folder format. The same
num_images and seed give byte-identical files. DIR must be new or empty (or hold a shapes dataset, which
overwrite=true replaces).

options:
  root=DIR             target directory (required)
  num_images=N         images in total, train + test (default 1000)
  seed=S               the dataset's seed (default 0)
  test_fraction=F      share of test images (default 0.2)
  overwrite=true       replace a shapes dataset generated with other parameters

Train on it with: attngan-train data=shapes data.root=DIR
"""


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


COMMANDS: dict[str, tuple[Callable[[DictConfig], Any], str]] = {
    "check": (check, CHECK_HELP),
    "shapes": (shapes, SHAPES_HELP),
}


def main(argv: list[str] | None = None) -> Any:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0 if args else 2
    command, overrides = args[0], args[1:]
    if command not in COMMANDS:
        print(
            f"{PROG}: error: unknown command {command!r}; choose one of {', '.join(COMMANDS)}.\n",
            file=sys.stderr,
        )
        print(USAGE, file=sys.stderr)
        sys.exit(2)
    task, help_text = COMMANDS[command]
    if "-h" in overrides or "--help" in overrides:
        print(help_text)
        return 0
    return hydra_main("data_tool", PROG, task, [f"command={command}", *overrides])


if __name__ == "__main__":
    main()
