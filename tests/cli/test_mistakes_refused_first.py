"""Rows of "every mistake refused before work starts" that are not a value of the wrong type (test_schemas.py):
each gives one line naming the culprit and the fix, or the right behaviour."""

from __future__ import annotations

from pathlib import Path

import torch
from PIL import Image

from helpers.cli import run_in_process


def _env(tmp_path: Path) -> dict[str, str]:
    return {"ATTNGAN_CACHE": str(tmp_path / "cache"), "ATTNGAN_ROOT": str(tmp_path), "OMP_NUM_THREADS": "1"}


def _one_line(proc, prog: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith(f"{prog}: error: ")
    return lines[0]


def test_reproduce_cfg_job_prints_the_config_and_runs_nothing(tmp_path: Path) -> None:
    proc = run_in_process(("attngan-reproduce", "study=lambda", "--cfg", "job"), tmp_path, _env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "budget:" in proc.stdout and "lambda:" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_an_unquoted_list_override_says_to_quote_it(tmp_path: Path) -> None:
    argv = ("attngan-generate", "checkpoint=x.ckpt", "captions=[a", "large", "red", "circle]")
    line = _one_line(run_in_process(argv, tmp_path, _env(tmp_path)), "attngan-generate")
    assert "quote" in line and """'captions=["a large red circle"]'""" in line


def test_a_damsm_checkpoint_given_to_generate_names_the_fix(tmp_path: Path) -> None:
    damsm = tmp_path / "damsm.ckpt"
    torch.save({"attngan": {"kind": "damsm"}, "state_dict": {}}, damsm)
    argv = (
        "attngan-generate",
        f"checkpoint={damsm}",
        "captions=[a red circle]",
        f"output_dir={tmp_path}/out",
    )
    line = _one_line(run_in_process(argv, tmp_path, _env(tmp_path)), "attngan-generate")
    assert "'damsm' checkpoint, expected a 'attngan' one" in line
    assert "model.damsm_checkpoint=" in line and "outputs/shapes/attngan.ckpt" in line


def test_eval_of_a_few_images_reports_every_problem_at_once(tmp_path: Path) -> None:
    images = tmp_path / "imgs"
    images.mkdir()
    for i in range(8):
        Image.new("RGB", (32, 32), (30 * i, 0, 0)).save(images / f"{i}.png")
    env = {**_env(tmp_path), "TORCH_HOME": str(tmp_path / "torch")}  # no Inception weights there
    argv = ("attngan-eval", f"images={images}", f"output_dir={tmp_path}/out")
    line = _one_line(run_in_process(argv, tmp_path, env), "attngan-eval")
    assert "8 images are too few" in line and "metrics.is_splits" in line
    assert "weights-inception-2015-12-05-6726825d.pth" in line


def test_data_check_names_a_missing_png_image_with_its_suffix(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    (root / "images").mkdir(parents=True)
    (root / "captions").mkdir()
    keys = [f"img{i}" for i in range(5)]
    for key in keys:
        (root / "captions" / f"{key}.txt").write_text("a red circle\na blue square\n")
        if key != "img4":
            Image.new("RGB", (32, 32)).save(root / "images" / f"{key}.png")
    (root / "train.txt").write_text("\n".join(keys[:4]) + "\n")
    (root / "test.txt").write_text(keys[4] + "\n")
    argv = (
        "attngan-data",
        "check",
        "data=folder",
        f"data.root={root}",
        f"manifest={tmp_path}/bad.json",
        "workers=1",
    )
    proc = run_in_process(argv, tmp_path, _env(tmp_path))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "img4.png" in proc.stdout and "img4.jpg" not in proc.stdout
