"""Hydra sweeps: the sweep report on hand-made job directories, a real two-job lambda sweep, sweeper configs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from omegaconf import DictConfig

from attngan.cli.sweep_report import main
from attngan.config import compose_config
from attngan.evaluation.sweep import Job, best_job, higher_is_better, parse_overrides
from attngan.evaluation.sweep_report import build_report
from attngan.metrics.registry import METRICS
from helpers.cli import run_in_process
from helpers.training import TINY_ATTNGAN, TINY_DATA


def compose_with_hydra(tmp_path: Path, *overrides: str) -> DictConfig:
    """The real ``train`` config with its ``hydra`` node (launcher, sweeper)."""
    return compose_config("train", [f"paths.root_dir={tmp_path}", *overrides], return_hydra_config=True)


HEADER = (
    "epoch,step,train/g_loss,val/inception_score,val/r_precision,val/r_precision_std,val/fid,val/num_images"
)


def make_job(
    root: Path,
    name: str,
    overrides: list[str],
    csv_rows: list[str] | None,
    max_epochs: int = 3,
    number: int = 0,
) -> Path:
    """A job directory as attngan-train -m leaves it: .hydra/{overrides,config,hydra}.yaml and csv/metrics.csv."""
    job = root / name
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(overrides))
    (job / ".hydra" / "config.yaml").write_text(yaml.safe_dump({"trainer": {"max_epochs": max_epochs}}))
    (job / ".hydra" / "hydra.yaml").write_text(yaml.safe_dump({"hydra": {"job": {"num": number}}}))
    if csv_rows is not None:
        (job / "csv").mkdir()
        (job / "csv" / "metrics.csv").write_text("\n".join([HEADER, *csv_rows]) + "\n")
    return job


def curve(inception: list[float], r_precision: list[float], fid: list[float]) -> list[str]:
    rows = []
    for epoch, (is_, r, f) in enumerate(zip(inception, r_precision, fid)):
        rows.append(f"{epoch},{10 * epoch + 5},{3.0 - epoch},,,,,")  # a training row: no val/ values
        rows.append(f"{epoch},{10 * epoch + 9},,{is_},{r},0.01,{f},100")
    return rows


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    root = tmp_path / "multirun" / "cub_attngan1" / "2026-01-01_00-00-00"
    common = ["experiment=cub_attngan1", "data.root=/data/birds"]
    make_job(
        root,
        "0_lambda=0.1",
        [*common, "model.lambda_damsm=0.1"],
        curve([3.9, 4.1, 4.19], [0.1, 0.15, 0.1655], [40, 35, 30]),
        number=0,
    )
    # a value with a "/" puts Hydra's job folder one level deeper
    make_job(
        root / "1_data.root=",
        "data",
        [*common, "model.lambda_damsm=10"],
        curve([3.8, 4.0, 4.29], [0.3, 0.5, 0.6387], [45, 33, 28]),
        number=1,
    )
    make_job(root, "2_lambda=5", [*common, "model.lambda_damsm=5"], None, number=2)  # failed before logging
    make_job(
        root,
        "3_lambda=1",
        [*common, "model.lambda_damsm=1"],
        curve([4.0], [0.2], [38]),
        max_epochs=3,
        number=3,
    )
    (root / "multirun.yaml").write_text(
        yaml.safe_dump({"hydra": {"overrides": {"task": [*common, "model.lambda_damsm=0.1,1,5,10"]}}})
    )
    return root


def test_parse_overrides() -> None:
    assert parse_overrides(
        ["model.lambda_damsm=5", "+trainer.x=1e-3", "++a.b=[1,2]", "~c", "data.root=/x/y=z"]
    ) == {
        "model.lambda_damsm": 5,
        "trainer.x": 0.001,
        "a.b": [1, 2],
        "data.root": "/x/y=z",
    }


def test_report_of_a_sweep_with_a_failed_and_an_unfinished_job(
    sweep_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(sweep_dir)]) == 0
    markdown = capsys.readouterr().out
    report = (sweep_dir / "sweep_report.md").read_text()
    assert markdown == report
    lines = report.splitlines()
    header = next(line for line in lines if line.startswith("| job"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells[:4] == ["job", "model.lambda_damsm", "status", "epochs"]
    assert cells[4:7] == ["val/inception_score", "val/r_precision", "val/fid"]  # preferred first
    assert "val/num_images" not in cells and "val/r_precision_std" not in cells
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")]
        for line in lines
        if line[:3] in ("| 0", "| 1", "| 2", "| 3")
    }
    assert rows["0"][1:5] == ["0.1", "done", "3", "4.19"]
    assert rows["0"][5] == "0.1655 ± 0.01"
    assert rows["1"][1:5] == ["10", "done", "3", "4.29"]
    assert rows["2"][1:3] == ["5", "failed"]
    assert rows["3"][1:3] == ["1", "stopped at epoch 1/3"]
    assert "- best `val/inception_score`: 4.29 (model.lambda_damsm=10)" in lines
    assert "- best `val/r_precision`: 0.6387 (model.lambda_damsm=10)" in lines
    assert any(line.startswith("- job 2 (") and "no csv/metrics.csv" in line for line in lines)
    assert "![metrics against epoch and model.lambda_damsm](sweep_report.png)" in lines
    assert (sweep_dir / "sweep_report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_options_and_fallbacks(sweep_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = build_report(sweep_dir, out, metrics=["val/fid"], x_key="model.lambda_damsm")
    assert result["metrics"] == ["val/fid"] and result["plotted"] == ["val/fid"]
    assert "- best `val/fid`: 28 (model.lambda_damsm=10)" in result["markdown"]  # lower is better
    assert (out / "sweep_report.md").exists() and (out / "sweep_report.png").exists()

    # jobs without evaluation: the training loss stands in
    bare = tmp_path / "bare"
    make_job(bare, "0", ["model.lambda_damsm=1"], ["0,5,2.0,,,,,", "1,15,1.5,,,,,"], max_epochs=2)
    make_job(bare, "1", ["model.lambda_damsm=2"], ["0,5,2.5,,,,,", "1,15,1.0,,,,,"], max_epochs=2, number=1)
    result = build_report(bare)
    assert result["metrics"] == [] and result["plotted"] == ["train/g_loss"]
    assert "No `val/*` metrics were logged" in result["markdown"]


ALL_RESULTS = [result for entry in METRICS.values() for result in entry.results]


@pytest.mark.parametrize("result", ALL_RESULTS, ids=lambda result: result.name)
def test_best_job_follows_the_registrys_direction(result, tmp_path: Path) -> None:
    metric = f"val/{result.name}"
    low, high = (
        Job(path=tmp_path / str(n), number=n, overrides={}, config={}, rows=[{"epoch": 0.0, metric: value}])
        for n, value in ((0, 1.0), (1, 2.0))
    )
    assert higher_is_better(metric) is result.higher_is_better
    best = best_job([low, high], metric)
    assert best is not None and best[1] is (high if result.higher_is_better else low)


def test_report_reads_the_direction_from_the_registry(
    sweep_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No guessing from the name: declare inception_score lower-is-better and the report sorts it ascending."""
    from attngan.metrics import registry

    monkeypatch.setitem(registry._RESULTS, "inception_score", registry.Result("inception_score", False))
    result = build_report(sweep_dir, tmp_path / "flipped", metrics=["val/inception_score"])
    assert "- best `val/inception_score`: 4 (model.lambda_damsm=1)" in result["markdown"]


def test_report_user_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing:
        main([str(tmp_path / "nowhere")])
    assert missing.value.code == 2
    assert "attngan-sweep-report: error: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([str(tmp_path)])
    assert "no sweep jobs under" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ a real sweep
@pytest.mark.slow
def test_two_value_lambda_sweep_and_report(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    """Both commands in-process (:func:`helpers.cli.run_in_process`): the sweep's two jobs are what costs."""
    env = {"ATTNGAN_CACHE": str(tiny_damsm_checkpoint.parent.parent / "shared-cache")}
    sweep = tmp_path / "sweep"
    command = [
        "attngan-train",
        "-m",
        f"paths.root_dir={tmp_path}",
        f"hydra.sweep.dir={sweep}",
        *TINY_ATTNGAN,
        *TINY_DATA,
        "trainer.accelerator=cpu",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "trainer.enable_progress_bar=false",
        "trainer.enable_model_summary=false",
        "callbacks.evaluation.num_images=16",
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.lambda_damsm=0.1,10",
    ]
    done = run_in_process(command, tmp_path, env)
    assert done.returncode == 0, done.stderr[-4000:]
    jobs = sorted(p.parent.parent for p in sweep.rglob(".hydra/overrides.yaml"))
    assert len(jobs) == 2
    for job in jobs:
        assert (job / "csv" / "metrics.csv").exists() and (job / "checkpoints" / "last.ckpt").exists()

    report = run_in_process(["attngan-sweep-report", str(sweep)], tmp_path, env)
    assert report.returncode == 0, report.stderr
    rows = [line for line in report.stdout.splitlines() if line.startswith(("| 0 ", "| 1 "))]
    assert [row.split("|")[2].strip() for row in rows] == ["0.1", "10"]
    assert all("| done |" in row for row in rows)
    assert "val/r_precision" in report.stdout  # from the evaluation callback on the last epoch
    assert (sweep / "sweep_report.png").exists()


# ------------------------------------------------------------------------------------------ sweeper/launcher configs
def test_lambda_study_sweeper_composes(tmp_path: Path) -> None:
    cfg = compose_with_hydra(tmp_path, "hydra/sweeper=lambda_study")
    assert cfg.hydra.sweeper.params["model.lambda_damsm"] == "0.1,1,5,10"
    assert cfg.hydra.sweeper._target_.endswith("BasicSweeper")


@pytest.mark.parametrize(
    ("override", "plugin", "missing"),
    [
        ("hydra/launcher=slurm", "hydra_plugins.hydra_submitit_launcher", "hydra/launcher/submitit_slurm"),
        ("hydra/sweeper=optuna_lambda", "hydra_plugins.hydra_optuna_sweeper", "hydra/sweeper/optuna"),
    ],
)
def test_plugin_configs_compose_only_with_their_plugin(
    tmp_path: Path, override: str, plugin: str, missing: str
) -> None:
    overrides = [
        override,
        "trainer=ddp",
        "trainer.devices=4",
        "trainer.num_nodes=2",
        "hydra.sweep.dir=/sweep",
    ]
    if importlib.util.find_spec(plugin.split(".")[0]) is None or importlib.util.find_spec(plugin) is None:
        with pytest.raises(Exception, match=missing):
            compose_with_hydra(tmp_path, *overrides)
        return
    cfg = compose_with_hydra(tmp_path, *overrides)
    if "launcher" in override:
        assert (cfg.hydra.launcher.tasks_per_node, cfg.hydra.launcher.nodes) == (4, 2)
