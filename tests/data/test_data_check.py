"""`attngan-data check` and `attngan-data shapes`: reports, problems, manifests, exit codes, help."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attngan.cli.data import main
from attngan.data import CaptionDataModule
from attngan.data.check import check_dataset
from attngan.data.readers import make_reader
from attngan.data.readers.cub import CUBReader
from attngan.data.records import (
    BAD_IMAGE,
    EMPTY_CAPTIONS,
    FEW_CAPTIONS,
    MISSING_IMAGE,
    NO_CAPTIONS,
    ORPHAN_CAPTIONS,
)
from helpers.cli import run_in_process
from helpers.datasets import CUB_IMAGES


def _break_cub(root: Path) -> dict[str, str]:
    """One problem of every kind (the last image stays clean); returns key -> kind."""
    keys = [row[0] for row in CUB_IMAGES]
    images = root / "CUB_200_2011" / "images"
    (images / f"{keys[0]}.jpg").unlink()
    (images / f"{keys[1]}.jpg").write_bytes(b"")
    data = (images / f"{keys[2]}.jpg").read_bytes()
    (images / f"{keys[2]}.jpg").write_bytes(data[: len(data) // 3])
    (root / "text" / f"{keys[3]}.txt").unlink()
    (root / "text" / f"{keys[4]}.txt").write_text("\n\n")
    text = (root / "text" / f"{keys[5]}.txt").read_text().splitlines()
    (root / "text" / f"{keys[5]}.txt").write_text("\n".join(text[:3]) + "\n")
    (root / "text" / "004.Groove_billed_Ani").mkdir()
    (root / "text" / "004.Groove_billed_Ani" / "Groove_Billed_Ani_0001.txt").write_text("a black bird\n")
    return {
        keys[0]: MISSING_IMAGE,
        keys[1]: BAD_IMAGE,
        keys[2]: BAD_IMAGE,
        keys[3]: NO_CAPTIONS,
        keys[4]: EMPTY_CAPTIONS,
        keys[5]: FEW_CAPTIONS,
        "004.Groove_billed_Ani/Groove_Billed_Ani_0001": ORPHAN_CAPTIONS,
    }


def test_clean_datasets_report_no_problem(mini_cub, shapes_root):
    report = check_dataset(CUBReader(mini_cub), max_words=8)
    assert report.ok and report.images == {"train": 5, "test": 2}
    assert report.captions_per_image == (10, 10, 10) and report.num_classes == 3
    assert report.vocab_size == 14 and report.vocab_source.endswith("captions.pickle")
    assert report.longest_caption[0] == 11 and report.over_max_words > 0
    assert "problems: none" in report.summary()
    shapes = check_dataset(make_reader("shapes", {"root": shapes_root}))
    assert shapes.ok and shapes.images == {"train": 38, "test": 10} and shapes.captions_per_image[0] == 6


def test_every_problem_is_listed_with_its_file(mini_cub, tmp_path):
    expected = _break_cub(mini_cub)
    report = check_dataset(CUBReader(mini_cub))
    assert not report.ok
    assert {(p.key, p.kind) for p in report.problems} == set(expected.items())
    truncated = next(p for p in report.problems if p.key == CUB_IMAGES[2][0])
    assert "truncated" in truncated.detail and truncated.path.endswith(".jpg")
    summary = report.summary()
    assert "problems: 7" in summary and "5 samples unusable" in summary
    for problem in report.problems:
        assert problem.path in summary
    manifest = json.loads(report.write_manifest(tmp_path / "bad.json").read_text())
    bad_keys = sorted(k for k, kind in expected.items() if kind not in (FEW_CAPTIONS, ORPHAN_CAPTIONS))
    assert sorted(e["key"] for e in manifest["bad_samples"]) == bad_keys
    # training with the manifest leaves the bad samples out, even with on_bad_sample=error
    module = CaptionDataModule(
        name="cub", root=mini_cub, image_sizes=[16], batch_size=1, bad_manifest=tmp_path / "bad.json"
    )
    module.setup()
    assert [r.key for r in module.train_dataset.records] == [CUB_IMAGES[6][0]]
    assert [r.key for r in module.val_dataset.records] == [CUB_IMAGES[5][0]]
    assert [b["keys"] for b in module.train_dataloader()] == [[CUB_IMAGES[6][0]]]


def test_cli_check_reports_and_exits_1_on_problems(mini_cub, tmp_path):
    _break_cub(mini_cub)
    manifest = tmp_path / "manifest.json"
    # in-process, as the installed script runs it (tests/cli/test_cli_errors.py proves the scripts' wiring)
    proc = run_in_process(
        [
            "attngan-data",
            "check",
            "data=cub",
            f"data.root={mini_cub}",
            f"manifest={manifest}",
            f"paths.cache_dir={tmp_path}",
        ],
        tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert "images: train 1, test 1" in proc.stdout and "missing image" in proc.stdout
    assert json.loads(manifest.read_text())["dataset"] == "cub"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["birds", "manifest.json"]  # no Hydra output dirs


def test_cli_missing_root_is_a_clean_error(tmp_path):
    proc = run_in_process(["attngan-data", "check", "data=coco", f"data.root={tmp_path / 'coco'}"], tmp_path)
    assert proc.returncode == 2
    assert (
        "Traceback" not in proc.stderr
        and f"attngan-data: error: data.root={tmp_path / 'coco'}" in proc.stderr
    )
    assert "annotations/captions_train2014.json" in proc.stderr and "cocodataset.org" in proc.stderr


def test_cli_check_clean_in_process(shapes_root, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        main(["check", "data=shapes", f"data.root={shapes_root}", "manifest=m.json"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "images: train 38, test 10" in out and "problems: none" in out and "classes: " in out
    assert json.loads((tmp_path / "m.json").read_text())["bad_samples"] == []


def test_cli_shapes_and_help(tmp_path, capsys):
    main(["shapes", f"root={tmp_path / 's'}", "num_images=5", "seed=2"])
    assert "5 images (seed 2)" in capsys.readouterr().out
    assert len(list((tmp_path / "s" / "images").iterdir())) == 5
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out
    assert main(["shapes", "--help"]) is None  # written from conf/data_tool.yaml: header, keys, comments
    assert "attngan-data shapes root=DIR num_images=N" in capsys.readouterr().out
    assert main(["check", "-h"]) is None
    out = capsys.readouterr().out
    assert "data.bad_manifest" in out and "threads decoding images" in out and "Exit status: 0 clean" in out
    with pytest.raises(SystemExit) as err:
        main(["frobnicate"])
    assert err.value.code == 2 and "unknown command" in capsys.readouterr().err
