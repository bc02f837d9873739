"""The budget plan of make reproduce: every study composes, the steps come from the configs, the total fits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from attngan.cli.reproduce import main
from attngan.config import compose_config
from attngan.data.shapes import shapes_split
from attngan.reproduce.runner import build_plan
from attngan.reproduce.studies import Context


def _plan(tmp_path: Path, *overrides: str):
    cfg = compose_config(
        "reproduce", [f"paths.root_dir={tmp_path}", f"output_dir={tmp_path}/out", *overrides]
    )
    ctx = Context(cfg=cfg, out=tmp_path / "out", paths=[], damsm=tmp_path / "missing.ckpt")
    planned, fixed, markdown = build_plan(cfg, ctx)
    return cfg, ctx, planned, fixed, markdown


def test_the_full_plan_fits_the_budget_with_steps_from_the_config(tmp_path):
    cfg, ctx, planned, fixed, markdown = _plan(tmp_path)
    experiment = compose_config("train", ["experiment=shapes_attngan"]).data
    steps = len(shapes_split(experiment.num_images, experiment.generation_seed)[0]) // experiment.batch_size
    attngan = [r for r in planned if r.kind == "attngan"]
    assert len(attngan) == 7 and {r.steps_per_epoch for r in attngan} == {steps}
    assert len({r.epochs for r in attngan}) == 1 and attngan[0].epochs >= 1
    assert ctx.epochs == {"lambda": attngan[0].epochs, "novel": attngan[0].epochs}
    total = float(re.search(r"\*\*total\*\* \|.*\*\*([\d.]+)\*\*", markdown).group(1))
    assert total <= cfg.budget.minutes * (1 - cfg.budget.reserve) + 0.1
    # one epoch more each would not fit
    more = sum(r.seconds(cfg.budget, (r.epochs or 0) + (r.kind == "attngan")) for r in planned)
    assert (more + sum(fixed.values())) / 60 > cfg.budget.minutes * (1 - cfg.budget.reserve)


def test_bigger_batches_give_more_epochs_and_a_probe_study_plans_the_lambda_runs(tmp_path):
    *_, default, _, _ = _plan(tmp_path, "study=word_swap")
    *_, bigger, _, _ = _plan(tmp_path, "study=word_swap", "train_overrides=['data.batch_size=64']")
    assert {r.study for r in default} == {"damsm", "lambda"}
    first = next(r for r in default if r.kind == "attngan")
    second = next(r for r in bigger if r.kind == "attngan")
    assert second.steps_per_epoch == first.steps_per_epoch // 2 and second.epochs > first.epochs


def test_cli_plan_only_and_a_user_mistake(tmp_path, capsys):
    assert (
        main(
            [f"paths.root_dir={tmp_path}", f"output_dir={tmp_path}/out", "study=refinement", "plan_only=true"]
        )
        == 0
    )
    assert "| **total** |" in capsys.readouterr().out
    assert (tmp_path / "out" / "plan.md").is_file() and not (tmp_path / "out" / "report.md").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["study=nope"])
    assert exit_info.value.code == 2
    assert "attngan-reproduce: error:" in capsys.readouterr().err
