"""What a run needs on disk: composed configs, the synthetic CUB tree and random-weight DAMSM checkpoints."""

from __future__ import annotations

import hashlib
import json
import pickle
import warnings
from pathlib import Path
from typing import Any


def compose_config(workdir: Path, overrides: list[str]) -> Any:
    """``conf/train.yaml`` composed with ``overrides``, paths inside ``workdir`` (no Hydra run directory)."""
    from attngan.config import compose_config

    return compose_config(
        "train",
        [
            f"paths.root_dir={workdir}",
            f"paths.output_dir={workdir}/run",
            f"paths.cache_dir={workdir}/cache",
            "logger=none",
            "callbacks=none",
            *overrides,
        ],
    )


def make_datamodule(cfg: Any) -> Any:
    """The DataModule of ``cfg``, prepared and set up for fitting."""
    from hydra.utils import instantiate

    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return datamodule


# words of the synthetic CUB captions
CUB_TEXT = (
    "this bird has a red crown and white belly small beak long wings black tail feathers yellow breast "
    "brown spots on its grey head with short pointed orange legs is sitting perched branch blue throat"
)


def build_cub_tree(root: Path, num_train: int, num_test: int, seed: int = 0) -> Path:
    """A synthetic CUB tree in the authors' layout: 500x375 JPEGs, bounding boxes, 10 captions per image
    (some longer than 18 words, so training draws word subsets), 20 classes. Made once per ``root``."""
    import numpy as np
    from PIL import Image

    done = root / ".complete"
    if done.is_file() and done.read_text() == f"{num_train} {num_test} {seed}":
        return root
    rng = np.random.default_rng(seed)
    images_txt, boxes_txt = [], []
    splits: dict[str, list[str]] = {"train": [], "test": []}
    classes: dict[str, list[int]] = {"train": [], "test": []}
    for number in range(1, num_train + num_test + 1):
        class_id = number % 20
        key = f"{class_id + 1:03d}.Bird_{class_id}/Bird_{class_id}_{number:05d}"
        split = "train" if number <= num_train else "test"
        splits[split].append(key)
        classes[split].append(class_id)
        # a smooth gradient with noise compresses like a photograph (not like pure noise)
        y, x = np.mgrid[0:375, 0:500]
        base = np.stack([x * 0.4, y * 0.5, (x + y) * 0.2], axis=-1) + rng.normal(0, 12, (375, 500, 3))
        path = root / "CUB_200_2011" / "images" / f"{key}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).save(path, quality=90)
        w, h = rng.integers(120, 300), rng.integers(100, 250)
        bx, by = rng.integers(0, 500 - w), rng.integers(0, 375 - h)
        images_txt.append(f"{number} {key}.jpg")
        boxes_txt.append(f"{number} {bx}.0 {by}.0 {w}.0 {h}.0")
        text = root / "text" / f"{key}.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        captions = [" ".join(rng.choice(CUB_TEXT.split(), size=int(rng.integers(8, 24)))) for _ in range(10)]
        text.write_text("\n".join(captions) + "\n")
    (root / "CUB_200_2011" / "images.txt").write_text("\n".join(images_txt) + "\n")
    (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("\n".join(boxes_txt) + "\n")
    for split, keys in splits.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        (root / split / "filenames.pickle").write_bytes(pickle.dumps(keys, protocol=2))
        (root / split / "class_info.pickle").write_bytes(pickle.dumps(classes[split], protocol=2))
    done.write_text(f"{num_train} {num_test} {seed}")
    return root


def damsm_checkpoint(workdir: Path, overrides: list[str]) -> Path:
    """A DAMSM checkpoint with random weights for the data of ``overrides``, written by the real module's
    ``on_save_checkpoint`` (made once per distinct ``overrides``)."""
    import torch

    from attngan.cli.train import build_module

    tag = hashlib.sha1(json.dumps(overrides).encode()).hexdigest()[:10]
    path = workdir / "damsm" / f"damsm-{tag}.ckpt"
    if path.is_file():
        return path
    cfg = compose_config(workdir, overrides)
    datamodule = make_datamodule(cfg)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Inception-v3 with RANDOM weights": intended here
        module = build_module(cfg, datamodule.vocab.to_list())
    checkpoint: dict[str, Any] = {"state_dict": module.state_dict()}
    module.on_save_checkpoint(checkpoint)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, path)
    return path
