"""Every study of attngan-reproduce composes and runs end to end at tiny size, writes its results and its
section of the report, and a second invocation skips what is done."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from attngan.config import compose_config
from attngan.evaluation.sweep import read_sweep
from attngan.reproduce import reproduce
from attngan.reproduce.runner import RESULTS_FILE

STUDIES = ("lambda", "word_swap", "novel", "attention", "refinement", "recipe")


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
    verdicts = ("**holds**", "**does not hold**", "**inconclusive**", "**under-trained (no verdict)**")
    assert sum(report.count(v) for v in verdicts) >= 12
    # one step of training is below every floor: no claim may hold or fail on such models
    assert report.count("**holds**") == report.count("**does not hold**") == 0
    assert "**Floor** (below it: *under-trained*, no verdict)" in report
    for figure in ("lambda.png", "word_swap.png", "attention.png", "refinement.png", "recipe.png"):
        assert (out / figure).stat().st_size > 0, figure
    assert "| **total** |" in (out / "plan.md").read_text()


def test_lambda_runs_read_as_a_sweep_and_attngan2_has_three_stages(reproduced):
    _, out, _ = reproduced
    lam = _results(out, "lambda")
    # round one: AttnGAN1 at every λ, first seed; round two: the second seed at the best λ, AttnGAN2 per seed
    assert [(r["info"]["model"], r["info"]["seed"]) for r in lam["runs"]] == [
        ("AttnGAN1", 42),
        ("AttnGAN1", 43),
        ("AttnGAN2", 42),
        ("AttnGAN2", 43),
    ]
    assert lam["best_lambda"] == 1.0 and all(r["evaluations"] for r in lam["runs"])
    assert "r_precision" in lam["runs"][0]["evaluations"][-1]
    jobs = read_sweep(out / "lambda" / "runs")
    assert len(jobs) == 4 and {j.overrides["model.lambda_damsm"] for j in jobs} == {1}
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


def test_the_recipe_study_shares_the_main_runs_and_compares_at_the_same_steps(reproduced):
    _, out, _ = reproduced
    recipe = _results(out, "recipe")
    variants = [(r["info"]["variant"], r["info"]["seed"]) for r in recipe["runs"]]
    assert variants == [
        ("recipe", 42),
        ("recipe", 43),
        ("release", 42),
        ("release", 43),
        ("coord_channels", 42),
    ]
    # the main recipe's runs are the λ study's AttnGAN2 runs, trained once
    assert all("/lambda/runs/attngan2_lambda_1_seed" in r["checkpoint"] for r in recipe["runs"][:2])
    assert not (out / "recipe" / "runs" / "attngan2_lambda_1_seed42").exists()
    assert {r["evaluations"][-1]["generator_step"] for r in recipe["runs"]} == {1}
    release = yaml.safe_load(
        (out / "recipe" / "runs" / "release_seed42" / ".hydra" / "config.yaml").read_text()
    )
    assert (
        release["model"]["kl_weight"] == 1.0 and release["model"]["training"]["hard_negative_fraction"] == 0
    )
    removed = (
        out / "recipe" / "runs" / "without_coord_channels_seed42" / ".hydra" / "config.yaml"
    ).read_text()
    assert "coord_channels: false" in removed
