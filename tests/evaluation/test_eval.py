"""attngan-generate, attngan-eval and the training-time EvaluationCallback, on the tiny trained checkpoint."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from attngan.evaluation.captions import caption_batches
from attngan.evaluation.suite import default_metric_names
from attngan.lit.evaluation import EvaluationCallback
from attngan.metrics.registry import METRICS
from attngan.models.generate import sample_noise
from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, run_train

ALL_METRICS = "[r_precision,is,fid,shapes_oracle,attention_localisation]"


class TinyFeatures(nn.Module):
    """Stands in for Inception (named by ``_target_`` in configs): uint8 images -> (features, logits)."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        with torch.no_grad():
            for p in self.conv.parameters():
                p.copy_(torch.randn(p.shape, generator=generator) * 0.2)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert images.dtype == torch.uint8
        features = torch.relu(self.conv(images.float() / 127.5 - 1)).mean(dim=(2, 3))  # (B, 8)
        return features, features[:, :5] * 3  # (B, 8), (B, 5)


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run a console script's ``main(argv)`` in-process, from ``tmp_path``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["attngan"])

    def run(main, *argv: str) -> None:
        main(list(argv))  # Hydra apps return nothing: read what they wrote

    return run


def shared_cache(checkpoint: Path) -> Path:
    return checkpoint.parent.parent / "shared-cache"  # where the fixtures' training generated the shapes data


def eval_args(checkpoint: Path, *extra: str) -> list[str]:
    return [
        f"checkpoint={checkpoint}",
        f"paths.cache_dir={shared_cache(checkpoint)}",
        "data.num_images=240",  # the tiny checkpoint's data: 48 test images
        "device=cpu",
        *extra,
    ]


# ------------------------------------------------------------------------------------ attngan-generate
def test_generate_writes_one_png_per_image_and_one_figure_per_caption(cli, tmp_path, tiny_attngan_checkpoint):
    from attngan.cli.generate import main

    (tmp_path / "captions.txt").write_text("a small blue square at the top\n\na zebra circle\n")
    cli(
        main,
        f"checkpoint={tiny_attngan_checkpoint}",
        "captions=[a large red circle on the left]",
        "captions_file=captions.txt",
        "output_dir=out",
        "seed=3",
        "num_images_per_caption=2",
        "device=cpu",
    )
    out = tmp_path / "out"
    written = json.loads((out / "generated.json").read_text())
    assert [r["caption"] for r in written["captions"]] == [
        "a large red circle on the left",
        "a small blue square at the top",
        "a zebra circle",
    ]
    assert written["captions"][2]["unknown_words"] == ["zebra"]
    assert written["captions"][2]["tokens"] == ["a", "circle"]
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 3 * 2 + 3
    assert "000_a_large_red_circle_on_the_left_0.png" in pngs
    assert "000_a_large_red_circle_on_the_left_attention.png" in pngs
    from PIL import Image

    with Image.open(out / "000_a_large_red_circle_on_the_left_1.png") as image:
        assert image.size == (64, 64)
    assert not (tmp_path / ".hydra").exists() and not (tmp_path / "outputs").exists()  # no litter


def test_generate_caption_without_known_word_is_a_clean_error(cli, capsys, tiny_attngan_checkpoint):
    from attngan.cli.generate import main

    with pytest.raises(SystemExit) as info:
        cli(main, f"checkpoint={tiny_attngan_checkpoint}", "captions=[zebra unicorn]", "device=cpu")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "attngan-generate: error: caption 'zebra unicorn' has no word this model knows" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------------ attngan-eval
def test_eval_writes_metrics_json_and_markdown_table(cli, tmp_path, tiny_attngan_checkpoint):
    from attngan.cli.eval import main

    cli(
        main,
        *eval_args(
            tiny_attngan_checkpoint,
            "num_images=60",  # 48 test images: one full pass (caption 0) and 12 images with caption 1
            "batch_size=16",
            "output_dir=ev",
            "save_images=true",
            f"metrics.names={ALL_METRICS}",
            "metrics.feature_extractor={_target_:test_eval.TinyFeatures}",
            "metrics.num_candidates=10",
            "metrics.num_folds=2",
            "metrics.is_splits=2",
        ),
    )
    out = tmp_path / "ev"
    written = json.loads((out / "metrics.json").read_text())
    expected = {
        "r_precision",
        "r_precision_std",
        "inception_score",
        "inception_score_std",
        "fid",
        "shapes_colour_acc",
        "shapes_position_acc",
        "shapes_shape_acc",
        "shapes_image_acc",
        "attention_localisation",
        "attention_uniform_baseline",
    }
    assert expected <= set(written["metrics"])
    assert 0.0 <= written["metrics"]["r_precision"] <= 1.0
    assert written["metrics"]["fid"] is not None
    assert written["num_images"] == 60 and written["caption_passes"] == 2
    assert written["data"]["name"] == "shapes" and written["data"]["num_test_images"] == 48
    assert written["max_words"] == 18 and written["image_size"] == 64
    assert written["settings"]["inception_weights"] == "injected network"
    assert written["skipped"] == {}

    table = (out / "metrics.md").read_text()
    header, rule, row = table.splitlines()[:3]
    for column in (
        "IS ↑",
        "FID ↓",
        "R-precision (%) ↑",
        "Colour acc. (%) ↑ one object / all",
        "Attention in object (%) ↑ (uniform)",
    ):
        assert column in header
    assert rule.count("---") == header.count("|") - 1
    assert "`attngan.ckpt`" in row and "shapes (test)" in row and "±" in row

    lines = [json.loads(line) for line in (out / "images.jsonl").read_text().splitlines()]
    assert [e["index"] for e in lines] == list(range(60))
    assert len(list((out / "images").glob("*.png"))) == 60
    assert {e["caption_index"] for e in lines[:48]} == {0} and {e["caption_index"] for e in lines[48:]} == {1}
    assert lines[0]["key"] == lines[48]["key"] and lines[0]["caption"] != lines[48]["caption"]


def test_eval_skips_inception_without_weights_unless_asked(
    cli, capsys, tmp_path, tiny_attngan_checkpoint, monkeypatch
):
    from attngan.cli.eval import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    cli(
        main,
        *eval_args(
            tiny_attngan_checkpoint, "num_images=20", "metrics.num_candidates=10", "metrics.num_folds=2"
        ),
    )
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert report["settings"]["names"] == ["r_precision", "shapes_oracle", "attention_localisation"]
    assert "weights" in report["skipped"]["fid"]
    assert (
        "fid" not in report["metrics"] and "Skipped `fid`" in (tmp_path / "eval" / "metrics.md").read_text()
    )

    with pytest.raises(SystemExit) as info:  # asked for explicitly: an error that names the file
        cli(main, *eval_args(tiny_attngan_checkpoint, "num_images=20", "metrics.names=[fid]"))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "weights-inception-2015-12-05-6726825d.pth" in err and "metrics.inception_weights" in err
    assert "Traceback" not in err


def test_eval_needs_enough_images_for_r_precision(cli, capsys, tiny_attngan_checkpoint):
    from attngan.cli.eval import main

    with pytest.raises(SystemExit):
        cli(main, *eval_args(tiny_attngan_checkpoint, "num_images=20", "metrics.names=[r_precision]"))
    assert (
        "num_images=20 is too few for r_precision with metrics.num_candidates=100" in capsys.readouterr().err
    )


def test_eval_refuses_data_the_checkpoint_was_not_trained_on(cli, capsys, tiny_attngan_checkpoint, mini_cub):
    from attngan.cli.eval import main
    from attngan.errors import VocabularyMismatchError

    with pytest.raises(SystemExit) as exit_info:
        cli(main, f"checkpoint={tiny_attngan_checkpoint}", "data=cub", f"data.root={mini_cub}", "device=cpu")
    err = capsys.readouterr().err
    assert "attngan-eval: error:" in err and "are unknown to the checkpoint" in err
    # the vocabulary-mismatch error (the one-line report shows its message, not its class name)
    assert exit_info.value.code == VocabularyMismatchError.exit_code
    assert "was trained on other data" in err and "Traceback" not in err


@pytest.mark.parametrize("data", ["shapes", "cub", "coco", "folder"])
def test_eval_config_composes_for_every_dataset(data):
    from omegaconf import OmegaConf

    from attngan.config import compose_config

    cfg = compose_config("eval", ["checkpoint=model.ckpt", f"data={data}"])
    resolved = OmegaConf.to_container(cfg.data, resolve=True)
    assert resolved["name"] == data and resolved["image_sizes"] == [64]
    assert cfg.num_images == 30000 and cfg.metrics.names is None and cfg.max_words is None


def test_eval_adopts_the_checkpoints_shapes_set_unless_overridden():
    """A checkpoint trained on 2,000 shapes images is evaluated on that set's test split, not the default 1,000."""
    from attngan.config import compose_config
    from attngan.evaluation.run import adopt_training_shapes

    trained = {"data": {"name": "shapes", "num_images": 2000, "generation_seed": 0, "captions_per_image": 6}}
    cfg = compose_config("eval", ["checkpoint=model.ckpt"])
    explicit = compose_config("eval", ["checkpoint=model.ckpt", "data.num_images=500"])
    cub = compose_config("eval", ["checkpoint=model.ckpt", "data=cub"])
    assert cfg.data.num_images == 1000  # the data config's default
    assert adopt_training_shapes(cfg, trained, explicit=set()) == ["data.num_images=2000"]
    assert cfg.data.num_images == 2000
    # a value given on the command line wins
    assert adopt_training_shapes(explicit, trained, explicit={"data.num_images"}) == []
    assert explicit.data.num_images == 500
    # other datasets are left alone (their roots are machine paths; only a warning)
    assert adopt_training_shapes(cub, trained, explicit=set()) == []


# ------------------------------------------------------------------------------------ pieces
def test_sample_noise_depends_on_seed_and_index_only():
    z, eps = sample_noise(torch.tensor([5, 6, 7]), 4, 3, seed=1)
    z2, eps2 = sample_noise(torch.tensor([7]), 4, 3, seed=1)
    assert z.shape == (3, 4) and eps.shape == (3, 3)
    assert torch.equal(z[2], z2[0]) and torch.equal(eps[2], eps2[0])
    assert not torch.equal(sample_noise(torch.tensor([7]), 4, 3, seed=2)[0], z2)


def test_caption_batches_read_the_chosen_caption_without_images():
    records = [
        SimpleNamespace(key=f"k{i}", captions=("a red circle", "a blue square"), class_id=i) for i in range(3)
    ]
    dataset = SimpleNamespace(records=records, caption_ids=[[[1, 2, 3], [1, 4, 5]]] * 3, max_words=2)
    words = ["<pad>", "a", "red", "circle", "blue", "square"]
    batches = list(caption_batches(dataset, [0, 1, 2], 2, caption_index=3, index_offset=10, id_to_word=words))
    assert [b["indices"].tolist() for b in batches] == [[10, 11], [12]]
    assert batches[0]["captions"].tolist() == [[1, 4], [1, 4]]  # caption 3 % 2 = 1, first max_words words
    assert batches[0]["tokens"][0] == ["a", "blue"] and batches[1]["texts"] == ["a blue square"]


def test_result_names_are_stable():
    """The registry's result names are the final ones (metrics.json, val/<name>, the sweep report)."""
    assert "inception_score_std" in METRICS["is"].result_names
    assert "shapes_colour_acc" in METRICS["shapes_oracle"].result_names
    assert "attention_localisation" in METRICS["attention_localisation"].result_names
    assert "attention_uniform_baseline" in METRICS["attention_localisation"].result_names
    assert "r_precision" in METRICS["r_precision"].result_names
    assert default_metric_names("shapes", during_training=True) == [
        "r_precision",
        "shapes_oracle",
        "attention_localisation",
    ]
    assert default_metric_names("cub", during_training=True) == ["r_precision", "is", "fid"]


def test_evaluation_callback_ignores_the_damsm():
    callback = EvaluationCallback(every_n_epochs=1)
    damsm_like = nn.Module()  # no generator_ema
    assert not EvaluationCallback.applies_to(damsm_like)
    trainer = SimpleNamespace(current_epoch=0, max_epochs=1, sanity_checking=False)
    callback.on_train_epoch_end(trainer, damsm_like)  # type: ignore[arg-type]
    assert callback.suite is None and callback.history == []


# ------------------------------------------------------------------------------------ training callback
def test_evaluation_callback_logs_val_metrics(tmp_path, tiny_damsm_checkpoint):
    trainer_args = [a for a in TINY_TRAINER if not a.startswith("logger=")]
    run_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *trainer_args,
        "logger=csv",
        "trainer.limit_train_batches=1",
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.sample_every_n_epochs=0",
        f"callbacks.evaluation.metrics={ALL_METRICS}",
        "+callbacks.evaluation.feature_extractor._target_=test_eval.TinyFeatures",
        "callbacks.evaluation.num_images=32",
        "callbacks.evaluation.is_splits=2",
    )
    with (tmp_path / "run" / "csv" / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    evaluated = [r for r in rows if r.get("val/r_precision")]
    assert len(evaluated) == 1  # max_epochs=1: the last epoch is evaluated
    row = evaluated[0]
    for name in (
        "r_precision",
        "r_precision_std",
        "inception_score",
        "fid",
        "shapes_colour_acc",
        "shapes_position_acc",
        "shapes_shape_acc",
        "attention_localisation",
        "num_images",
        "generator_step",
    ):
        assert row[f"val/{name}"] != "", name
    assert float(row["val/num_images"]) == 32 and float(row["val/generator_step"]) == 1
    history = [json.loads(line) for line in (tmp_path / "run" / "evaluation.jsonl").read_text().splitlines()]
    assert len(history) == 1 and history[0]["epoch"] == 0
    assert history[0]["inception_weights"] == "injected network"
    # the evaluation's wall time (the reproduce budget's evaluation cost)
    assert 0 < history[0]["seconds"] < 600


def test_eval_and_the_callback_share_the_metrics_group(tmp_path):
    """conf/metrics/default.yaml is the one place of the measuring options (attngan-eval and training)."""
    from omegaconf import OmegaConf

    from attngan.config import compose_config, config_dir

    shared = OmegaConf.load(Path(config_dir()) / "metrics" / "default.yaml")
    eval_cfg = compose_config("eval", ["checkpoint=model.ckpt"])
    train_cfg = compose_config("train", [f"paths.root_dir={tmp_path}"])
    assert set(shared) >= {
        "inception_weights",
        "strict",
        "antialias",
        "is_splits",
        "num_candidates",
        "num_folds",
    }
    for key, value in shared.items():
        assert eval_cfg.metrics[key] == train_cfg.callbacks.evaluation[key] == value, key
    tuned = compose_config("train", [f"paths.root_dir={tmp_path}", "callbacks.evaluation.num_folds=2"])
    assert tuned.callbacks.evaluation.num_folds == 2 and tuned.callbacks.evaluation.metrics is None
