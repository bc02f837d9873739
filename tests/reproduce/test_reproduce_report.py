"""The report generator on a recorded set of results (tests/reproduce/fixtures/results.json): every verdict
rule, each way."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from attngan.reproduce.report import build_report
from attngan.reproduce.studies import best_lambda
from attngan.reproduce.verdicts import HOLDS, INCONCLUSIVE, NOT, best_epoch, verdicts

FIXTURE = Path(__file__).parent / "fixtures" / "results.json"


@pytest.fixture
def recorded():
    return json.loads(FIXTURE.read_text())


def _verdicts(name, results):
    return [v["verdict"] for v in verdicts(name, results)]


def test_report_from_the_recorded_results(recorded, tmp_path):
    path = build_report(tmp_path, recorded)
    text = path.read_text()
    for number in range(1, 6):
        assert f"## {number}. " in text
    assert (tmp_path / "lambda.png").stat().st_size > 0
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
