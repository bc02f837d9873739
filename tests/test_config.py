"""Every shipped config composes, and the experiments hold the released hyperparameters."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from attngan.cli.common import compose_config, config_dir

EXPERIMENTS = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
NAMED_IN_ISSUES = {
    "shapes_damsm",
    "shapes_attngan",
    "cub_damsm",
    "coco_damsm",
    "cub_attngan1",
    "cub_attngan2",
    "coco_attngan2",
}


def compose_train(*overrides: str):
    return compose_config("train", overrides, return_hydra_config=True)


def test_every_named_experiment_exists():
    assert set(EXPERIMENTS) >= NAMED_IN_ISSUES


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_resolves(experiment):
    cfg = compose_train(f"experiment={experiment}")
    resolved = OmegaConf.to_container(cfg.model, resolve=True)
    assert resolved["_target_"].startswith("attngan.lit.")
    assert OmegaConf.to_container(cfg.data, resolve=True)["image_sizes"] == resolved["image_sizes"]
    assert cfg.task_name == experiment


@pytest.mark.parametrize(
    ("experiment", "batch", "lam", "ngf", "ndf", "r_num", "epochs", "words", "stages"),
    [
        ("cub_attngan2", 20, 5.0, 32, 64, 2, 600, 18, 3),
        ("cub_attngan1", 20, 5.0, 32, 64, 2, 600, 18, 2),
        ("coco_attngan2", 14, 50.0, 48, 96, 3, 120, 12, 3),
    ],
)
def test_attngan_experiments_hold_released_values(
    experiment, batch, lam, ngf, ndf, r_num, epochs, words, stages
):
    cfg = compose_train(f"experiment={experiment}")
    assert cfg.data.batch_size == batch
    assert cfg.model.lambda_damsm == lam
    assert cfg.model.generator.ngf == ngf
    assert cfg.model.discriminator.ndf == ndf
    assert cfg.model.generator.num_residual == r_num
    assert cfg.model.generator.num_stages == stages
    assert cfg.trainer.max_epochs == epochs
    assert cfg.data.max_words == words
    assert (cfg.model.gamma1, cfg.model.gamma2, cfg.model.gamma3) == (4.0, 5.0, 10.0)
    assert (
        cfg.model.generator.z_dim,
        cfg.model.generator.condition_dim,
        cfg.model.generator.embedding_dim,
    ) == (
        100,
        100,
        256,
    )
    assert cfg.model.lr_generator == cfg.model.lr_discriminator == 0.0002
    assert list(cfg.model.betas) == [0.5, 0.999]
    assert OmegaConf.to_container(cfg.model, resolve=True)["image_sizes"] == [64, 128, 256][:stages]


@pytest.mark.parametrize(("experiment", "captions", "words"), [("cub_damsm", 10, 18), ("coco_damsm", 5, 15)])
def test_damsm_experiments_hold_released_values(experiment, captions, words):
    cfg = compose_train(f"experiment={experiment}")
    assert cfg.data.batch_size == 48
    assert cfg.data.captions_per_image == captions
    assert cfg.data.max_words == words
    assert cfg.trainer.max_epochs == 600
    assert list(cfg.model.image_sizes) == [299]
    assert (cfg.model.gamma1, cfg.model.gamma2, cfg.model.gamma3) == (4.0, 5.0, 10.0)
    assert cfg.model.lr == 0.002
    assert cfg.model.text_encoder.embedding_dim == 300
    assert cfg.model.text_encoder.hidden_dim == 128


def test_unknown_config_key_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "attngan.cli.train", "model.no_such_key=1", "--cfg", "job"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert "no_such_key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cfg_job_works_from_any_directory(tmp_path):
    script = Path(sys.executable).parent / "attngan-train"
    proc = subprocess.run(
        [str(script), "experiment=cub_attngan2", "--cfg", "job"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "cub_attngan2" in proc.stdout
    assert "lambda_damsm: 5.0" in proc.stdout


@pytest.mark.slow
def test_wheel_ships_every_config(tmp_path):
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("attngan-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        n.removeprefix("attngan/conf/")
        for n in names
        if n.startswith("attngan/conf/") and n.endswith(".yaml")
    }
    expected = {str(p.relative_to(root / "conf")) for p in (root / "conf").rglob("*.yaml")}
    assert expected and expected == shipped
