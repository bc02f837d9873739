"""Shareable model directories: save_pretrained -> from_pretrained, no pickle, clear errors, the model card."""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest
import torch

from attngan import AttnGANPipeline
from attngan.cli.export import main as export_main
from attngan.errors import CheckpointError
from attngan.evaluation.report import write_report
from attngan.hub import read_front_matter

CAPTIONS = ["a large red circle on the left", "a small green square at the top"]


@pytest.fixture(scope="module")
def pipe(tiny_attngan_checkpoint: Path) -> AttnGANPipeline:
    return AttnGANPipeline.from_checkpoint(tiny_attngan_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def saved(pipe: AttnGANPipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pipe.save_pretrained(tmp_path_factory.mktemp("hub") / "model")


def copy_of(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "model"))


def test_save_then_load_gives_bit_identical_images(pipe: AttnGANPipeline, saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == [
        "README.md",
        "config.json",
        "generator.safetensors",
        "image_encoder.safetensors",
        "text_encoder.safetensors",
        "vocab.json",
    ]
    loaded = AttnGANPipeline.from_pretrained(saved)
    assert loaded.vocab == pipe.vocab and loaded.max_words == pipe.max_words
    assert loaded.image_sizes == pipe.image_sizes
    a = pipe(CAPTIONS, seed=7, num_images_per_caption=2)
    b = loaded(CAPTIONS, seed=7, num_images_per_caption=2)
    for stages_a, stages_b in zip(a._stage_tensors, b._stage_tensors, strict=True):
        for x, y in zip(stages_a, stages_b, strict=True):
            assert torch.equal(x, y)
    for maps_a, maps_b in zip(a.attention, b.attention, strict=True):
        assert all(torch.equal(x, y) for x, y in zip(maps_a, maps_b, strict=True))
    # the image encoder (BatchNorm buffers included) round-trips too
    state_a, state_b = pipe.image_encoder.state_dict(), loaded.image_encoder.state_dict()
    assert state_a.keys() == state_b.keys() and any("running_mean" in k for k in state_a)
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_config_describes_the_model(pipe: AttnGANPipeline, saved: Path) -> None:
    config = json.loads((saved / "config.json").read_text())
    assert config["format"] == "attngan-pretrained" and config["format_version"] == 1
    assert config["vocab_size"] == len(pipe.vocab) and config["max_words"] == pipe.max_words
    assert config["image_sizes"] == pipe.image_sizes
    assert config["networks"]["generator"]["_target_"] == "attngan.models.Generator"
    assert config["networks"]["generator"]["ngf"] == 4
    assert config["training"]["dataset"] == "shapes"
    assert "paths" not in config["training_config"]  # no local paths of the training machine
    assert config["attngan_version"]


def test_the_card_shows_the_run_it_was_trained_by(tiny_attngan_checkpoint: Path, saved: Path) -> None:
    from attngan.checkpoint import safe_load_checkpoint

    run = safe_load_checkpoint(tiny_attngan_checkpoint)["attngan"]["config"]
    training = json.loads((saved / "config.json").read_text())["training"]
    rates = {"generator": run["model"]["lr_generator"], "discriminator": run["model"]["lr_discriminator"]}
    assert training["learning_rates"] == rates
    assert training["experiment"] == run["task_name"] == "shapes_attngan"
    assert training["batch_size"] == run["data"]["batch_size"] and training["seed"] == run["seed"]
    assert training["max_epochs"] == run["trainer"]["max_epochs"]
    card = (saved / "README.md").read_text()
    assert f"| learning_rates.generator | `{rates['generator']}` |" in card
    assert f"| learning_rates.discriminator | `{rates['discriminator']}` |" in card
    assert "| experiment | `shapes_attngan` |" in card


def test_a_training_config_without_a_key_attngan_train_writes_fails_loudly(
    tiny_attngan_checkpoint: Path,
) -> None:
    from attngan.checkpoint import safe_load_checkpoint
    from attngan.hub.pretrained import training_summary

    entry = safe_load_checkpoint(tiny_attngan_checkpoint)["attngan"]
    del entry["config"]["model"]["lr_generator"]
    with pytest.raises(CheckpointError, match="lacks the key 'lr_generator'"):
        training_summary(entry)
    # networks that never saw attngan-train (built in Python, an imported release model) have no run to describe
    assert training_summary({}) == {}
    assert training_summary({"config": {"data": {"max_words": 18}}, "version": "1"}) == {
        "trained_with_attngan": "1"
    }


def test_every_network_records_its_constructor_arguments() -> None:
    """``config`` is what rebuilds the network (checkpoints, model directories): every argument, and the shapes."""
    import inspect
    import warnings

    from attngan.checkpoint import build_network
    from attngan.hub.pretrained import network_spec
    from attngan.models import CNNImageEncoder, Discriminator, Generator, InceptionImageEncoder, TextEncoder

    with warnings.catch_warnings():  # the random-backbone notice
        warnings.simplefilter("ignore")
        networks = [
            Generator(2, 4, embedding_dim=16, z_dim=8, condition_dim=6, num_residual=1, base_size=16),
            Discriminator(32, 4, embedding_dim=16, coord_channels=True),
            TextEncoder(11, 8, 8, dropout=0.25, rnn_type="GRU", bidirectional=False),
            CNNImageEncoder(16, input_size=32, base_channels=4),
            InceptionImageEncoder(16, pretrained=False, align_corners=False),
        ]
        for net in networks:
            arguments = set(inspect.signature(type(net)).parameters)
            assert set(net.config) == arguments, type(net).__name__
            spec = network_spec(net)
            rebuilt = build_network(spec)
            assert rebuilt.config == {k: v for k, v in spec.items() if k != "_target_"}
            shapes = {k: v.shape for k, v in net.state_dict().items()}
            assert shapes == {k: v.shape for k, v in rebuilt.state_dict().items()}, type(net).__name__
    assert networks[2].config["rnn_type"] == "gru" and networks[2].config["dropout"] == 0.25
    assert network_spec(networks[4])["pretrained"] is False  # the weights come with the directory


def test_only_attngan_networks_can_be_shared() -> None:
    from attngan.hub.pretrained import network_spec

    with pytest.raises(CheckpointError, match=r"only attngan\.models"):
        network_spec(torch.nn.Linear(2, 2))


def test_no_file_in_the_directory_unpickles(saved: Path) -> None:
    for path in saved.iterdir():
        data = path.read_bytes()
        assert not zipfile.is_zipfile(path), path
        assert not data.startswith(b"\x80"), path  # no pickle protocol header
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".md":
            data.decode("utf-8")
        else:
            assert path.suffix == ".safetensors", path
            header = int.from_bytes(data[:8], "little")
            json.loads(data[8 : 8 + header])  # safetensors: a JSON header, then raw tensor bytes
        with pytest.raises(Exception):  # noqa: B017 - any failure: it is not a pickle
            pickle.loads(data)
        try:
            loaded = torch.load(path, weights_only=False)
        except Exception:  # not a torch file: fine
            continue
        # recent torch reads safetensors natively (no pickle involved): only a dict of tensors can come back
        assert path.suffix == ".safetensors", path
        assert isinstance(loaded, dict) and all(isinstance(v, torch.Tensor) for v in loaded.values())


def edit_config(directory: Path, change) -> None:
    path = directory / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def _unknown_class(c: dict) -> None:
    c["networks"]["generator"]["_target_"] = "os.system"


def _wrong_class(c: dict) -> None:
    c["networks"]["generator"]["_target_"] = "attngan.models.Discriminator"


def _wider_generator(c: dict) -> None:
    c["networks"]["generator"]["ngf"] = 8


def _missing_network(c: dict) -> None:
    del c["networks"]["text_encoder"]


def _unknown_argument(c: dict) -> None:
    c["networks"]["generator"]["colour"] = "red"


@pytest.mark.parametrize(
    ("damage", "file", "says"),
    [
        (
            lambda d: (d / "config.json").write_text('{"format": "attngan-pre'),
            "config.json",
            "not readable JSON",
        ),
        (lambda d: (d / "config.json").unlink(), "config.json", "no config.json"),
        (lambda d: edit_config(d, _unknown_class), "config.json", "only attngan.models"),
        (lambda d: edit_config(d, _wrong_class), "config.json", "expected Generator"),
        (lambda d: edit_config(d, _missing_network), "config.json", "lacks networks.text_encoder"),
        (lambda d: edit_config(d, _unknown_argument), "config.json", "does not take"),
        (lambda d: edit_config(d, _wider_generator), "generator.safetensors", "do not fit"),
        (
            lambda d: (d / "generator.safetensors").write_bytes(
                (d / "generator.safetensors").read_bytes()[:5000]
            ),
            "generator.safetensors",
            "truncated or corrupt",
        ),
        (lambda d: (d / "text_encoder.safetensors").unlink(), "text_encoder.safetensors", "is missing"),
        (
            lambda d: shutil.copy(d / "image_encoder.safetensors", d / "generator.safetensors"),
            "generator.safetensors",
            "do not fit",
        ),
        (lambda d: (d / "vocab.json").write_text('["<pad>", "red"]'), "vocab.json", "vocab_size"),
    ],
    ids=[
        "truncated-config",
        "no-config",
        "unknown-class",
        "wrong-class",
        "missing-network",
        "unknown-argument",
        "wrong-shapes",
        "truncated-weights",
        "missing-weights",
        "missing-tensors",
        "other-vocabulary",
    ],
)
def test_a_damaged_directory_gets_one_clear_error(
    saved: Path, tmp_path: Path, damage, file: str, says: str
) -> None:
    directory = copy_of(saved, tmp_path)
    damage(directory)
    with pytest.raises(CheckpointError) as info:
        AttnGANPipeline.from_pretrained(directory)
    message = str(info.value)
    assert file in message and says in message, message
    if says != "no config.json":  # that one says what to pass instead
        assert "attngan-export" in message or "from_checkpoint" in message or "upgrade" in message, message


def test_a_repo_id_offline_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"not a local directory.*HF_HUB_OFFLINE is set"):
        AttnGANPipeline.from_pretrained("someone/attngan-birds")
    with pytest.raises(CheckpointError, match="not a local directory"):
        AttnGANPipeline.from_pretrained("./no/such/dir")


def test_a_checkpoint_file_is_pointed_to_from_checkpoint(tiny_attngan_checkpoint: Path) -> None:
    with pytest.raises(CheckpointError, match="from_checkpoint"):
        AttnGANPipeline.from_pretrained(tiny_attngan_checkpoint)


def test_an_unevaluated_model_card_says_so(saved: Path) -> None:
    card = (saved / "README.md").read_text()
    meta = read_front_matter(card)
    assert meta["library_name"] == "attngan" and "text-to-image" in meta["tags"]
    assert meta["datasets"] == ["attngan-shapes"] and "model-index" not in meta
    assert "not evaluated" in card
    assert "## Intended use" in card and "## Limitations and biases" in card and "synthetic" in card


def recorded_evaluation(checkpoint: Path, out: Path) -> dict:
    """A metrics.json as attngan-eval writes it (evaluation.report.write_report)."""
    out.mkdir(parents=True)
    report = {
        "metrics": {"fid": 123.25, "r_precision": 0.4, "r_precision_std": 0.05, "shapes_colour_acc": 0.9},
        "checkpoint": str(checkpoint),
        "data": {
            "name": "shapes",
            "root": "/data",
            "split": "test",
            "num_test_images": 48,
            "vocabulary_size": 40,
        },
        "num_images": 480,
        "caption_passes": 10,
        "captions_per_image": 6,
        "max_words": 18,
        "image_size": 64,
        "seed": 0,
        "batch_size": 100,
        "settings": {
            "names": ["fid", "r_precision", "shapes_oracle"],
            "num_candidates": 10,
            "num_folds": 2,
            "is_splits": 10,
            "antialias": False,
            "inception_weights": "pt_inception-2015-12-05",
            "inception_resize": "bilinear",
            "class_ids": False,
        },
        "skipped": {},
    }
    return write_report(out, report)[0]


def test_the_model_card_renders_a_recorded_evaluation(tiny_attngan_checkpoint: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "run" / "attngan.ckpt"
    checkpoint.parent.mkdir()
    shutil.copy(tiny_attngan_checkpoint, checkpoint)
    recorded_evaluation(checkpoint, checkpoint.parent / "eval")  # found beside the checkpoint
    out = AttnGANPipeline.from_checkpoint(checkpoint).save_pretrained(tmp_path / "model")
    card = (out / "README.md").read_text()
    meta = read_front_matter(card)
    (result,) = meta["model-index"][0]["results"]
    values = {m["type"]: m["value"] for m in result["metrics"]}
    assert values == {"fid": 123.25, "r_precision": 0.4, "shapes_colour_acc": 0.9}
    assert next(m for m in result["metrics"] if m["type"] == "r_precision")["args"] == {"std": 0.05}
    assert (
        result["dataset"]["args"]["num_images"] == 480 and result["dataset"]["args"]["num_candidates"] == 10
    )
    assert "not evaluated" not in card
    assert "FID ↓" in card and "R-precision (%) ↑" in card
    assert "123.25" in card and "40.00 ± 5.00" in card  # the attngan-eval table, R-precision in %
    assert "480 images" in card  # the protocol notes


def test_attngan_export_hf_and_its_mistakes(
    tiny_attngan_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    eval_dir = tmp_path / "elsewhere"
    recorded_evaluation(
        Path("moved.ckpt"), eval_dir
    )  # given explicitly: used even though it names another path
    out = tmp_path / "exported"
    export_main(
        [f"checkpoint={tiny_attngan_checkpoint}", "format=hf", f"output={out}", f"evaluation={eval_dir}"]
    )
    assert (out / "generator.safetensors").is_file()
    assert "model-index" in read_front_matter((out / "README.md").read_text())
    with pytest.raises(SystemExit) as info:
        export_main([f"checkpoint={tiny_attngan_checkpoint}", "format=zip", f"output={out}"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    # one line naming the key, what it got and what it accepts (the app schema, attngan.schemas)
    assert len(err) == 1 and "format=zip" in err[0] and "hf" in err[0] and "onnx" in err[0]


def test_a_pipeline_built_in_python_saves_its_constructor_arguments(tmp_path: Path) -> None:
    from attngan.models import CNNImageEncoder, Generator, TextEncoder
    from attngan.text import Vocabulary

    torch.manual_seed(0)
    vocab = Vocabulary(["a", "red", "blue", "circle"])
    pipe = AttnGANPipeline(
        TextEncoder(len(vocab), 8, 8, rnn_type="gru"),
        Generator(2, 4, embedding_dim=16, num_residual=1, base_size=16),
        vocab,
        max_words=6,
        image_encoder=CNNImageEncoder(16, input_size=32, base_channels=4),
    )
    out = pipe.save_pretrained(tmp_path / "model")
    spec = json.loads((out / "config.json").read_text())["networks"]
    assert spec["text_encoder"]["rnn_type"] == "gru" and spec["text_encoder"]["hidden_dim"] == 8
    assert spec["generator"]["base_size"] == 16 and spec["image_encoder"]["base_channels"] == 4
    loaded = AttnGANPipeline.from_pretrained(out)
    a, b = pipe("a red circle", seed=1), loaded("a red circle", seed=1)
    assert torch.equal(a._stage_tensors[0][-1], b._stage_tensors[0][-1])
    assert "not evaluated" in (out / "README.md").read_text()
