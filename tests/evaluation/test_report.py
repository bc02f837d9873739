"""Evaluation results on disk (attngan.evaluation.report): ``evaluation.jsonl`` lines land whole or not at all;
one Markdown table for both kinds of ``attngan-eval`` report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from attngan.evaluation import folder
from attngan.evaluation.report import append_jsonl, markdown_table, write_report

PREVIOUS = '{"epoch": 0, "metrics": {"fid": 80.5}}\n'


def _lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n"), "the file ends in a half line"
    return [json.loads(line) for line in text.splitlines()]  # every line parses


def test_records_are_appended_one_strict_json_line_each(tmp_path: Path) -> None:
    path = tmp_path / "run" / "evaluation.jsonl"  # the folder is created
    for epoch in range(3):
        append_jsonl(path, {"epoch": epoch, "metrics": {"fid": float("nan") if epoch == 1 else 10.0 + epoch}})
    assert _lines(path) == [
        {"epoch": 0, "metrics": {"fid": 10.0}},
        {"epoch": 1, "metrics": {"fid": None}},  # strict JSON: NaN is null
        {"epoch": 2, "metrics": {"fid": 12.0}},
    ]
    assert sorted(p.name for p in path.parent.iterdir()) == ["evaluation.jsonl"]  # no temporary file left


def test_a_write_cut_off_mid_line_leaves_the_previous_file(tmp_path: Path) -> None:
    """A real short write: the file-size limit stops the writer half way through the new line (as a full disk
    would). An append would leave half a line; the record must land whole or not at all."""
    path = tmp_path / "evaluation.jsonl"
    path.write_text(PREVIOUS, encoding="utf-8")
    script = f"""
import resource, signal
from pathlib import Path
from attngan.evaluation.report import append_jsonl
path = Path({str(path)!r})
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a kill, the write stops where the limit is
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 40, resource.RLIM_INFINITY))
try:
    append_jsonl(path, {{"epoch": 1, "note": "x" * 4000}})
except OSError as err:
    print(err.errno)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "27", done.stderr[
        -2000:
    ]  # EFBIG: the write failed
    assert path.read_text(encoding="utf-8") == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation.jsonl"]


def test_a_kill_before_the_rename_leaves_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "evaluation.jsonl"
    path.write_text(PREVIOUS, encoding="utf-8")

    def killed(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        append_jsonl(path, {"epoch": 1})
    assert path.read_text(encoding="utf-8") == PREVIOUS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evaluation.jsonl"]


def test_a_record_that_is_not_json_is_refused_before_any_write(tmp_path: Path) -> None:
    path = tmp_path / "evaluation.jsonl"
    path.write_text(PREVIOUS, encoding="utf-8")
    with pytest.raises(TypeError):
        append_jsonl(path, {"epoch": 1, "trainer": object()})
    assert path.read_text(encoding="utf-8") == PREVIOUS


def test_a_torn_last_line_of_an_older_writer_stays_apart_from_the_new_record(tmp_path: Path) -> None:
    path = tmp_path / "evaluation.jsonl"
    path.write_text(PREVIOUS + '{"epoch": 1, "met', encoding="utf-8")
    append_jsonl(path, {"epoch": 2})
    assert path.read_text(encoding="utf-8").splitlines()[-1] == '{"epoch": 2}'


def test_one_markdown_table_for_a_folder_of_images(tmp_path: Path) -> None:
    report = {
        "mode": "images",
        "metrics": {"inception_score": 3.456, "inception_score_std": 0.1, "fid": 42.0},
        "images": "generated",
        "num_images": 1200,
        "reference": "reference.npz",
        "protocols": {"fid": {"protocol": "tf-inception", "weights": "pt_inception", "resize": None}},
    }
    lines = markdown_table(report).splitlines()
    assert lines[:3] == [
        "| Images | Reference | IS ↑ | FID ↓ (tf-inception) |",
        "|---|---|---|---|",
        "| `generated` (1,200) | `reference.npz` | 3.46 ± 0.10 | 42.00 |",
    ]
    assert lines[-1] == "- fid: protocol tf-inception, weights pt_inception"
    without_fid = {**report, "metrics": {"inception_score": None}, "reference": None, "protocols": {}}
    assert markdown_table(without_fid).splitlines()[:3] == [
        "| Images | Reference | IS ↑ |",
        "|---|---|---|",
        "| `generated` (1,200) | `None` | — |",
    ]
    assert not hasattr(
        folder, "markdown_table"
    )  # one definition: attngan-eval images= writes through report.py
    written, table = write_report(tmp_path, report)
    assert (tmp_path / "metrics.md").read_text(encoding="utf-8") == table == markdown_table(report)
    assert json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8")) == written
