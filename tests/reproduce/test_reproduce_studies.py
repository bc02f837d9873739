"""Every study of attngan-reproduce composes and runs end to end at tiny size, writes its results and its
section of the report, and a second invocation skips what is done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from attngan.config import compose_config
from attngan.evaluation.sweep import read_sweep
from attngan.reproduce import reproduce
from attngan.reproduce.runner import RESULTS_FILE

STUDIES = ("lambda", "word_swap", "novel", "attention", "refinement")


@pytest.fixture(scope="module")
def reproduced(tiny_reproduce_overrides: list[str]) -> tuple[dict[str, Any], Path, list[str]]:
    cfg = compose_config("reproduce", tiny_reproduce_overrides)
    return reproduce(cfg), Path(str(cfg.output_dir)), tiny_reproduce_overrides


def _results(out: Path, name: str) -> dict[str, Any]:
    return json.loads((out / name / RESULTS_FILE).read_text())


def test_every_study_writes_results_and_a_section(reproduced):
    result, out, _ = reproduced
    assert result["studies"] == dict.fromkeys(STUDIES, "done")
    report = (out / "report.md").read_text()
    for number, name in enumerate(STUDIES, start=1):
        assert (out / name / RESULTS_FILE).is_file()
        assert f"## {number}. " in report
    assert (
        report.count("**holds**") + report.count("**does not hold**") + report.count("**inconclusive**") >= 10
    )
    for figure in ("lambda.png", "word_swap.png", "attention.png", "refinement.png"):
        assert (out / figure).stat().st_size > 0, figure
    assert "| **total** |" in (out / "plan.md").read_text()


def test_lambda_runs_read_as_a_sweep_and_attngan2_has_three_stages(reproduced):
    _, out, _ = reproduced
    lam = _results(out, "lambda")
    assert [r["info"]["model"] for r in lam["runs"]] == ["AttnGAN1", "AttnGAN2"]
    assert lam["best_lambda"] == 1.0 and all(r["evaluations"] for r in lam["runs"])
    assert "r_precision" in lam["runs"][0]["evaluations"][-1]
    jobs = read_sweep(out / "lambda" / "runs")
    assert len(jobs) == 2 and jobs[0].overrides["model.lambda_damsm"] == 1
    # the probe studies measured the AttnGAN2 checkpoint: three stages, two attention stages
    assert [s["px"] for s in _results(out, "refinement")["stages"]] == [16, 32, 64]
    attention = _results(out, "attention")
    assert attention["num_attention_stages"] == 2 and attention["recovered"] and attention["repeated"]
    assert set(attention["stages"][0]["inside"]) == {"colour", "shape", "size", "position", "function"}
    swap = _results(out, "word_swap")["kinds"]
    assert set(swap) == {"colour", "shape", "position"} and swap["colour"]["pairs"] > 0


def test_novel_keeps_the_held_out_combinations_out_of_training(reproduced):
    _, out, _ = reproduced
    novel = _results(out, "novel")
    seed = novel["seeds"][0]
    assert seed["train_images_held_out"] == 0 and seed["train_images"] > 0
    config = json.loads((out / "novel" / "runs" / "attngan_seed42" / "done.json").read_text())
    assert any(o.startswith("data.holdout=") for o in config["overrides"])


def test_a_second_run_skips_finished_studies_and_runs(reproduced):
    _, out, overrides = reproduced
    done = out / "lambda" / "runs" / "attngan1_lambda_1_seed42" / "done.json"
    before = done.stat().st_mtime_ns
    (out / "refinement" / RESULTS_FILE).unlink()  # this one runs again, the others are skipped
    again = reproduce(compose_config("reproduce", overrides))
    assert again["studies"]["refinement"] == "done"
    assert {again["studies"][n] for n in STUDIES if n != "refinement"} == {"skipped"}
    assert done.stat().st_mtime_ns == before
