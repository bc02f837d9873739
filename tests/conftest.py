"""Shared fixtures: tiny datasets built in temporary directories (nothing is downloaded).

- ``shapes_root``: a generated shapes dataset (48 images), built once per session; treat as read-only.
- ``mini_cub`` / ``make_mini_cub``: the authors' CUB layout with genuine Python-2 pickles (5 + 2 images, 3 classes).
- ``mini_coco`` / ``make_mini_coco``: COCO 2014, official JSON layout (3 train + 2 val images) or the authors' one.
- ``mini_folder``: the folder format (6 images, train/test lists, classes).
- ``py2_pickle``: ``py2_pickle(obj) -> bytes``, a protocol-2 pickle as Python 2 writes it (str as BINSTRING).
- ``data_config``: compose ``conf/data/<name>.yaml`` (with a dummy ``model.image_sizes``) into a plain dict.
- ``tiny_damsm_checkpoint`` / ``tiny_attngan_checkpoint``: tiny trained models, built once per session.

The builders behind them are plain functions in ``tests/helpers/`` (import them as ``from helpers.datasets
import ...``); tests never import from this file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.datasets import FOLDER_KEYS, build_mini_coco, build_mini_cub, py2_pickle_bytes, write_image


@pytest.fixture(scope="session")
def py2_pickle() -> Callable[[Any], bytes]:
    return py2_pickle_bytes


@pytest.fixture
def make_mini_cub(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "birds", **options: Any) -> Path:
        return build_mini_cub(tmp_path / name, **options)

    return make


@pytest.fixture
def mini_cub(make_mini_cub: Callable[..., Path]) -> Path:
    return make_mini_cub()


@pytest.fixture
def make_mini_coco(tmp_path: Path) -> Callable[..., Path]:
    def make(layout: str = "official", name: str | None = None) -> Path:
        return build_mini_coco(tmp_path / (name or f"coco_{layout}"), layout)

    return make


@pytest.fixture
def mini_coco(make_mini_coco: Callable[..., Path]) -> Path:
    return make_mini_coco("official")


@pytest.fixture
def mini_folder(tmp_path: Path) -> Path:
    """The folder format: 6 images (jpg and png), captions, train/test lists and classes."""
    root = tmp_path / "folder"
    for i, key in enumerate(FOLDER_KEYS):
        write_image(root / "images" / f"{key}.{'png' if i % 2 else 'jpg'}", (50 + 5 * i, 40 + 3 * i), i)
        (root / "captions").mkdir(parents=True, exist_ok=True)
        animal = key.split("_")[0]
        (root / "captions" / f"{key}.txt").write_text(
            f"a photo of a {animal}\n\nthe {animal} sits on the grass\na small {animal} looking at the camera\n"
        )
    (root / "train.txt").write_text("\n".join(FOLDER_KEYS[:4]) + "\n")
    (root / "test.txt").write_text("\n".join(FOLDER_KEYS[4:]) + "\n")
    (root / "classes.txt").write_text("".join(f"{k} {i // 2}\n" for i, k in enumerate(FOLDER_KEYS)))
    return root


@pytest.fixture(scope="session")
def shapes_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated shapes dataset of 48 images (seed 0); shared by the session, do not modify."""
    from attngan.data.shapes import generate_shapes

    return generate_shapes(tmp_path_factory.mktemp("shapes") / "shapes", num_images=48, seed=0)


@pytest.fixture
def data_config(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``data_config(name, *overrides)``: ``conf/data/<name>.yaml`` composed and resolved, as a dict.

    ``model.image_sizes`` is a dummy ``[32, 64]``; ``paths.cache_dir`` points into the test's tmp dir.
    """
    from omegaconf import OmegaConf

    from attngan.config import compose_config

    def compose_data(name: str, *overrides: str) -> dict[str, Any]:
        cfg = compose_config(
            "data_tool",
            [
                f"data={name}",
                "model.image_sizes=[32,64]",
                f"paths.root_dir={tmp_path}",
                f"paths.cache_dir={tmp_path / '.cache'}",
                *overrides,
            ],
        )
        return OmegaConf.to_container(cfg.data, resolve=True)  # type: ignore[return-value]

    return compose_data


@pytest.fixture(scope="session")
def tiny_damsm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DAMSM checkpoint of tiny shapes encoders (one short epoch), shared by the whole session."""
    from helpers.training import TINY_DAMSM, TINY_DATA, TINY_TRAINER, run_train

    root = tmp_path_factory.mktemp("tiny_damsm")
    run_train(root, *TINY_DAMSM, *TINY_DATA, *TINY_TRAINER, f"export_path={root}/damsm.ckpt")
    return root / "damsm.ckpt"


@pytest.fixture(scope="session")
def tiny_attngan_checkpoint(tmp_path_factory: pytest.TempPathFactory, tiny_damsm_checkpoint: Path) -> Path:
    """An AttnGAN checkpoint (2 stages, tiny widths) trained for two steps on the tiny DAMSM."""
    from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, run_train

    root = tmp_path_factory.mktemp("tiny_attngan")
    run_train(
        root,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        f"export_path={root}/attngan.ckpt",
    )
    return root / "attngan.ckpt"
