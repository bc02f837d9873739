"""Every shipped config composes, and the experiments hold the released hyperparameters."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from attngan.config import (
    closest_keys,
    compose_config,
    config_dir,
    dotted_keys,
    missing_values,
    unknown_target_keys,
)
from helpers.cli import run_in_process

EXPERIMENTS = sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))
NAMED_IN_ISSUES = {
    "shapes_damsm",
    "shapes_attngan",
    "cub_damsm",
    "coco_damsm",
    "cub_attngan1",
    "cub_attngan2",
    "coco_attngan2",
    "folder_damsm",
    "folder_attngan",
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
    assert cfg.model.kl_weight == 1.0 and cfg.model.ema_decay == 0.999
    # every training option beyond the release is off (model.training at its defaults)
    from attngan.training.options import TrainingOptions

    assert TrainingOptions.from_config(OmegaConf.to_container(cfg.model.training)) == TrainingOptions()


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


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_shipped_key_is_taken_by_its_target(experiment):
    """The unknown-key check may trust the shipped YAMLs (attngan.cli.explain): every key they set is taken."""
    assert unknown_target_keys(compose_train(f"experiment={experiment}")) == []


def test_damsm_experiments_export_where_their_attngan_experiments_read():
    damsm_experiments = [e for e in EXPERIMENTS if e.endswith("_damsm")]
    assert {"shapes_damsm", "cub_damsm", "coco_damsm", "folder_damsm"} <= set(damsm_experiments)
    for damsm in damsm_experiments:
        dataset = damsm.removesuffix("_damsm")
        exported = compose_train(f"experiment={damsm}").export_path
        assert exported.endswith(f"outputs/{dataset}/damsm.ckpt")
        readers = [e for e in EXPERIMENTS if e.startswith(f"{dataset}_attngan")]
        assert readers, f"no AttnGAN experiment reads the checkpoint of {damsm}"
        for attngan in readers:
            assert compose_train(f"experiment={attngan}").model.damsm_checkpoint == exported


def test_folder_experiments_train_on_the_folder_data():
    damsm, attngan = compose_train("experiment=folder_damsm"), compose_train("experiment=folder_attngan")
    assert damsm.data.name == attngan.data.name == "folder"
    assert damsm.model._target_.endswith("DAMSMModule") and attngan.model._target_.endswith("AttnGANModule")
    assert attngan.export_path.endswith("outputs/folder/attngan.ckpt")


def test_generator_spec_has_its_target_like_the_text_encoder():
    assert compose_train("experiment=cub_attngan2").model.generator._target_ == "attngan.models.Generator"
    assert compose_train("experiment=cub_damsm").model.text_encoder._target_ == "attngan.models.TextEncoder"


def test_config_checks_find_missing_values_and_close_keys():
    cfg = compose_train()  # model=attngan without a DAMSM checkpoint
    assert missing_values(cfg) == ["model.damsm_checkpoint"]
    keys = dotted_keys(cfg)
    assert "model.generator.ngf" in keys and not any(k.startswith("hydra") for k in keys)
    assert closest_keys("model.lambda_dams", keys) == ["model.lambda_damsm"]
    assert closest_keys("model.max_words", keys) == ["data.max_words"]
    assert closest_keys("model.no_such_key", keys) == []


def test_unknown_config_key_is_a_clear_error(tmp_path):
    # in-process (helpers.cli.run_in_process): the installed scripts' wiring is proved in tests/cli/test_cli_errors.py
    proc = run_in_process(["attngan-train", "model.no_such_key=1", "--cfg", "job"], tmp_path)
    assert proc.returncode == 2
    assert "model.no_such_key is not a key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_cfg_job_works_from_any_directory(tmp_path):
    proc = run_in_process(["attngan-train", "experiment=cub_attngan2", "--cfg", "job"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "cub_attngan2" in proc.stdout
    assert "lambda_damsm: 5.0" in proc.stdout


@pytest.mark.slow
def test_wheel_ships_every_config(tmp_path):
    root = Path(__file__).resolve().parents[2]
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


def test_shapes_recipe_of_make_train():
    """The `make train` recipe (decisions 033, 036): 3 stages from 16 px on the DAMSM's own 8,000 images, with the
    training options of decision 036; shapes_attngan_release is the same run with the release recipe."""
    from attngan.training import recipe_departures

    damsm = compose_train("experiment=shapes_damsm")
    attngan = compose_train("experiment=shapes_attngan")
    sizes = OmegaConf.to_container(attngan.model, resolve=True)["image_sizes"]
    assert (
        sizes == [16, 32, 64] and OmegaConf.to_container(attngan.data, resolve=True)["image_sizes"] == sizes
    )
    # the AttnGAN reads the DAMSM's dataset: same images, same vocabulary
    assert attngan.data.num_images == damsm.data.num_images == 8000
    assert attngan.model.lambda_damsm == 4.0 and attngan.model.training.lambda_damsm_start == 1.0
    assert attngan.trainer.max_epochs == 8  # the fp32 make train; bf16 CPUs get SHAPES_EPOCHS=12
    assert attngan.callbacks.evaluation.num_images == 400
    assert set(recipe_departures(OmegaConf.to_container(attngan))) == {
        "model.kl_weight",
        "model.training.hard_negative_fraction",
        "model.training.hard_negative_weights",
        "model.training.lambda_damsm_start",
        "model.training.lambda_rampup_steps",
        "model.generator.coord_channels",
        "model.discriminator.coord_channels",
    }
    release = compose_train("experiment=shapes_attngan_release")
    assert recipe_departures(OmegaConf.to_container(release)) == {}
    assert release.model.lambda_damsm == 1.0 and release.model.generator.ngf == attngan.model.generator.ngf
    assert release.trainer.max_epochs == attngan.trainer.max_epochs
    makefile = (Path(config_dir()).parent / "Makefile").read_text()
    assert "SHAPES_EPOCHS ?= 8" in makefile and "SHAPES_EPOCHS ?= 12" in makefile
