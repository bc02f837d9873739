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
    # λ: AttnGAN1 at 4 λ, the second seed at λ = 0, the best (unknown: counted apart) and 4, AttnGAN2 x 2 seeds;
    # novel: 1; recipe: the release x 2 seeds and 5 options removed (its main runs are the λ study's AttnGAN2)
    by_study = {s: [r for r in attngan if r.study == s] for s in ("lambda", "novel", "recipe")}
    assert [len(v) for v in by_study.values()] == [9, 1, 7] and {r.steps_per_epoch for r in attngan} == {
        steps
    }
    assert not any("AttnGAN2" in r.label for r in by_study["recipe"])
    assert sum("AttnGAN2" in r.label for r in by_study["lambda"]) == 2
    assert len({r.epochs for r in attngan}) == 1 and attngan[0].epochs >= 1
    assert ctx.epochs == dict.fromkeys(("lambda", "novel", "recipe"), attngan[0].epochs)
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


def test_a_wrong_floor_is_refused_before_anything_trains(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            [f"paths.root_dir={tmp_path}", f"output_dir={tmp_path}/out", "+studies.attention.floor.colr=0.9"]
        )
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "studies.attention.floor.colr is not a metric a floor can use" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out" / "plan.md").exists()


def _lambda_spec(**changes):
    spec = compose_config("reproduce", ["study=lambda"]).studies["lambda"]
    for key, value in changes.items():
        spec[key] = value
    return spec


@pytest.mark.parametrize(
    ("best", "seeded"),
    [(10.0, [0.0, 10.0, 4.0]), (4.0, [0.0, 4.0]), (0.0, [0.0, 4.0]), (None, [0.0, 1.0, 4.0])],
)
def test_the_second_seed_goes_to_the_decisive_pairs(best, seeded):
    from attngan.reproduce.studies import lambda_runs

    first, second = lambda_runs(_lambda_spec(), [42, 43], 6, best)
    assert [(r.info["lambda"], r.info["seed"]) for r in first] == [
        (0.0, 42),
        (1.0, 42),
        (4.0, 42),
        (10.0, 42),
    ]
    ones = [r for r in second if r.info["model"] == "AttnGAN1"]
    assert [r.info["lambda"] for r in ones] == seeded and {r.info["seed"] for r in ones} == {43}
    twos = [r for r in second if r.info["model"] == "AttnGAN2"]
    assert [(r.name, r.home) for r in twos] == [
        ("attngan2_lambda_4_seed42", "lambda"),
        ("attngan2_lambda_4_seed43", "lambda"),
    ]
    # below the recipe's ramp start λ is constant: no ramp from 1 down to 0
    zero = next(r for r in first if r.info["lambda"] == 0)
    assert "model.training.lambda_damsm_start=null" in zero.overrides
    assert not any(
        o.startswith("model.training.") for r in first if r.info["lambda"] >= 1 for o in r.overrides
    )


def test_attngan2_is_the_main_recipe_and_every_removal_changes_it():
    """The λ study's AttnGAN2 is `make train`'s recipe (same λ and stages), and each option the recipe study
    removes really differs from the recipe in the composed config (a renamed key would make it a no-op)."""
    from attngan.config import to_plain
    from attngan.reproduce.recipe import recipe_runs

    lam = _lambda_spec()
    recipe_spec = compose_config("reproduce", ["study=recipe"]).studies["recipe"]
    main, others = recipe_runs(recipe_spec, lam, [42, 43], 6)
    main_cfg = to_plain(
        compose_config("train", [f"experiment={main[0].experiment}", *main[0].overrides]).model
    )
    shipped = to_plain(compose_config("train", ["experiment=shapes_attngan"]).model)
    assert main_cfg == shipped
    for run in others:
        model = to_plain(compose_config("train", [f"experiment={run.experiment}", *run.overrides]).model)
        assert model != main_cfg, run.label
    assert [r.name for r in others] == [
        "release_seed42",
        "release_seed43",
        *[f"without_{name}_seed42" for name in recipe_spec.ablations],
    ]


def test_a_finished_study_is_judged_by_todays_floor(tmp_path):
    """A floor set after a study ran recomputes its verdicts from the recorded numbers (docs/reproduce.md)."""
    import json

    from attngan.reproduce.rules import UNDER
    from attngan.reproduce.verdicts import verdicts

    recorded = json.loads((Path(__file__).parent / "fixtures" / "results.json").read_text())["attention"]
    recorded["quality"] = {"colour": 0.95, "side": 0.9, "shape": 0.8, "size": 0.9}
    recorded["floor"] = {"colour": 0.9}
    (tmp_path / "damsm.ckpt").write_bytes(b"")  # a finished study trains and reads nothing
    args = [
        f"paths.root_dir={tmp_path}",
        f"output_dir={tmp_path}/out",
        f"damsm_checkpoint={tmp_path}/damsm.ckpt",
    ]
    # the plan makes the output directory attngan-reproduce's
    assert main([*args, "study=attention", "plan_only=true"]) == 0
    results = tmp_path / "out" / "attention" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps(recorded))
    assert main([*args, "study=attention"]) == 0
    assert UNDER not in {v["verdict"] for v in verdicts("attention", json.loads(results.read_text()))}
    assert main([*args, "study=attention", "+studies.attention.floor.size=0.99"]) == 0
    rejudged = json.loads(results.read_text())
    assert rejudged["floor"] == {"colour": 0.9, "shape": 0.7, "size": 0.99}
    assert {v["verdict"] for v in verdicts("attention", rejudged)} == {UNDER}
    assert "size 90.0 % < 99 %" in (tmp_path / "out" / "report.md").read_text()
