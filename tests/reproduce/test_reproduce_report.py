"""The report generator on a recorded set of results (tests/reproduce/fixtures/results.json): every verdict
rule, each way."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from attngan.errors import ConfigError
from attngan.reproduce.recipe import recipe_rows
from attngan.reproduce.report import build_report
from attngan.reproduce.rules import HOLDS, INCONCLUSIVE, NOT, UNDER, check_floor, shortfalls
from attngan.reproduce.studies import best_lambda
from attngan.reproduce.verdicts import best_epoch, verdicts

FIXTURE = Path(__file__).parent / "fixtures" / "results.json"


@pytest.fixture
def recorded():
    return json.loads(FIXTURE.read_text())


def _verdicts(name, results):
    return [v["verdict"] for v in verdicts(name, results)]


def test_report_from_the_recorded_results(recorded, tmp_path):
    path = build_report(tmp_path, recorded)
    text = path.read_text()
    for number in range(1, 7):
        assert f"## {number}. " in text
    assert (tmp_path / "lambda.png").stat().st_size > 0 and (tmp_path / "recipe.png").stat().st_size > 0
    # the recipe table: seeds averaged, their spread beside the mean
    assert (
        "| the recipe (main job) | 2 | 1200 | 60.0 ± 1.1 | 1.4 | 91.0 | 49.0 | 41.0 | 59.0 | 60.0 |" in text
    )
    assert "| AttnGAN2, λ=10 | 10 | 6 of 6 | 62.0 ± 2.0 | 1 seed |" in text
    assert "| 10.0 | 0.50 |" in text  # 300 generator steps in 600 s: the measured rate
    assert "58.65" in text and "67.82" in text  # the paper's numbers beside ours
    assert "Not run yet" not in text
    # the same report from the results.json files on disk
    for name, results in recorded.items():
        (tmp_path / "disk" / name).mkdir(parents=True)
        (tmp_path / "disk" / name / "results.json").write_text(json.dumps(results))
    assert build_report(tmp_path / "disk").read_text().split("\n", 3)[3] == text.split("\n", 3)[3]


def test_lambda_verdicts(recorded):
    lam = recorded["lambda"]
    assert _verdicts("lambda", lam) == [HOLDS, HOLDS, HOLDS]
    assert best_lambda([r for r in lam["runs"] if r["info"]["model"] == "AttnGAN1"]) == 10.0
    assert best_epoch(lam["runs"][0])["epoch"] == 5
    reversed_ = copy.deepcopy(lam)
    ones = [r for r in reversed_["runs"] if r["info"]["model"] == "AttnGAN1"]
    for run, target in zip(ones, (0.6, 0.5, 0.4, 0.3, 0.2), strict=True):
        for e in run["evaluations"]:
            e["r_precision"] = target
    # AttnGAN2 0.19 against AttnGAN1 0.2 at λ=10: within the fold std (0.02)
    reversed_["runs"][-1]["evaluations"] = [
        dict(e, r_precision=0.19) for e in reversed_["runs"][-1]["evaluations"]
    ]
    assert _verdicts("lambda", reversed_) == [NOT, NOT, INCONCLUSIVE]
    reversed_["runs"][-1]["evaluations"] = [
        dict(e, r_precision=0.1) for e in reversed_["runs"][-1]["evaluations"]
    ]
    assert _verdicts("lambda", reversed_)[2] == NOT


def test_probe_verdicts(recorded):
    assert _verdicts("word_swap", recorded["word_swap"]) == [HOLDS, NOT, INCONCLUSIVE]
    assert _verdicts("novel", recorded["novel"]) == [HOLDS]
    novel = copy.deepcopy(recorded["novel"])
    novel["seeds"][0]["heldout"]["composition"] = {"value": 0.04, "se": 0.01, "n": 300}
    assert _verdicts("novel", novel) == [NOT]
    novel["seeds"][0]["heldout"]["composition"] = {"value": 0.3, "se": 0.026, "n": 300}
    assert _verdicts("novel", novel) == [INCONCLUSIVE]
    assert _verdicts("attention", recorded["attention"]) == [HOLDS, HOLDS]
    one_stage = dict(recorded["attention"], stages=recorded["attention"]["stages"][:1], recovered=None)
    assert _verdicts("attention", one_stage) == [INCONCLUSIVE, INCONCLUSIVE]
    # near-uniform attention: stage 2 attends missed and attended words alike
    alike = dict(recorded["attention"], repeated=recorded["attention"]["recovered"])
    assert _verdicts("attention", alike)[1] == INCONCLUSIVE
    repeats = dict(recorded["attention"], repeated={"value": 0.9, "se": 0.02, "n": 150})
    assert _verdicts("attention", repeats)[1] == NOT
    assert _verdicts("refinement", recorded["refinement"]) == [HOLDS]
    worse = copy.deepcopy(recorded["refinement"])
    worse["stages"].reverse()
    assert _verdicts("refinement", worse) == [NOT]


def test_recipe_verdicts(recorded):
    recipe = recorded["recipe"]
    rows = {r["variant"]: r for r in recipe_rows(recipe)}
    assert rows["recipe"]["seeds"] == 2 and rows["release"]["seeds"] == 2 and rows["kl_weight"]["seeds"] == 1
    assert rows["recipe"]["steps"] == 1200  # compared at the last evaluation, the same steps for every run
    found = {v["claim"]: v["verdict"] for v in verdicts("recipe", recipe)}
    assert list(found.values()) == [HOLDS, INCONCLUSIVE, NOT]
    assert "release recipe" in next(iter(found))
    # the spread between seeds counts as noise: seeds far apart make the release comparison inconclusive
    spread = copy.deepcopy(recipe)
    for e in spread["runs"][1]["evaluations"]:
        e.update(shapes_colour_acc=0.2, shapes_position_acc=0.1, shapes_shape_acc=0.1, shapes_size_acc=0.1)
    assert verdicts("recipe", spread)[0]["verdict"] == INCONCLUSIVE
    assert verdicts("recipe", {**recipe, "runs": recipe["runs"][2:]})[0]["verdict"] == INCONCLUSIVE


_FLOORS = {
    "lambda": {"colour": 0.99},
    "novel": {"colour": 0.99},
    "attention": {"shape": 0.99},
    "refinement": {"shape": 0.99},
    "recipe": {"colour": 0.99},
    "word_swap": {"colour": {"colour": 0.99}, "shape": {"shape": 0.99}, "position": {"side": 0.99}},
}
_QUALITY = {"colour": 0.95, "side": 0.8, "shape": 0.75, "size": 0.8}


@pytest.mark.parametrize("name", sorted(_FLOORS))
def test_a_model_below_its_floor_never_gets_holds_or_does_not_hold(recorded, name):
    """The floor rule on the recorded metrics: above the floor the verdicts are unchanged, below it every claim
    is under-trained with the shortfall named, however the comparison came out."""
    results = copy.deepcopy(recorded[name])
    results.setdefault(
        "quality", dict(_QUALITY)
    )  # the probe studies' checkpoint (the training studies: runs)
    before = _verdicts(name, results)
    low = {
        k: ({m: 0.1 for m in v} if isinstance(v, dict) and name == "word_swap" else 0.1)
        for k, v in _FLOORS[name].items()
    }
    assert _verdicts(name, {**results, "floor": low}) == before
    under = verdicts(name, {**results, "floor": _FLOORS[name]})
    assert {v["verdict"] for v in under} == {UNDER}, under
    assert all("below the study's floor" in v["why"] and "< 99 %" in v["why"] for v in under)
    # the measured comparison is still shown
    assert all("measured:" in v["why"] for v in under)


def test_floor_names_and_values_are_checked():
    assert check_floor({"colour": 0.9, "r_precision": 0.5}, "floor") == {"colour": 0.9, "r_precision": 0.5}
    with pytest.raises(ConfigError, match=r"studies.attention.floor.colr is not a metric"):
        check_floor({"colr": 0.9}, "studies.attention.floor")
    with pytest.raises(ConfigError, match=r"floor.shape=70 is refused"):
        check_floor({"shape": 70}, "floor")
    assert shortfalls({"colour": 0.95, "shape": 0.464}, {"colour": 0.9, "shape": 0.7}) == [
        "shape 46.4 % < 70 %"
    ]
    assert shortfalls({}, {"side": 0.7}) == ["side not measured (floor 70 %)"]


def test_floor_metrics_are_the_one_object_oracle():
    from attngan.reproduce.rules import quality_of

    record = {"shapes_colour_acc": 0.7, "shapes_single_object_colour_acc": 0.82, "shapes_shape_acc": 0.2}
    # one-object captions first (the make train summary's numbers); all objects only for older records
    assert quality_of(record) == {"colour": 0.82, "shape": 0.2}
    oracle = {"colour": {"value": 0.9, "se": 0.01}, "position": {"value": 0.5, "se": 0.02}}
    assert quality_of(oracle) == {"colour": 0.9, "side": 0.5}
