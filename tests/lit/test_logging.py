"""Experiment logging: W&B offline runs (read back from their files), CSV/TensorBoard, no-account errors."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from attngan.errors import ConfigError
from helpers.training import TINY_ATTNGAN, TINY_DATA, compose_train

TINY_LOGGED_RUN = [
    "trainer.accelerator=cpu",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    # Lightning writes logged values every trainer.log_every_n_steps batches: each of the two
    "trainer.log_every_n_steps=1",
    "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "callbacks.evaluation.num_images=16",  # a few val/ metrics, quickly
]


def isolate_wandb(monkeypatch: pytest.MonkeyPatch, root: Path, mode: str | None) -> None:
    """W&B's own directories (settings, cache, artifact staging) inside ``root``; no credentials.

    W&B keeps its settings and login per process: a fresh start, as a new ``attngan-train`` would have.
    """
    import wandb

    wandb.teardown()
    for name in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_BASE_URL", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    if mode:
        monkeypatch.setenv("WANDB_MODE", mode)
    monkeypatch.setenv("HOME", str(root / "home"))
    for name, folder in (
        ("WANDB_DIR", "wandb-dir"),
        ("WANDB_CACHE_DIR", "cache"),
        ("WANDB_CONFIG_DIR", "config"),
    ):
        monkeypatch.setenv(name, str(root / folder))
    monkeypatch.setenv("WANDB_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    # W&B would wrap sys.stdout / sys.stderr to record the console; under pytest it wraps the capture streams,
    # which are closed after this test, and later tests then write into a closed sys.stderr
    monkeypatch.setenv("WANDB_CONSOLE", "off")


# ------------------------------------------------------------------------------- reading a .wandb file
def wandb_records(path: Path) -> Iterator[Any]:
    """The protobuf records of a ``run-<id>.wandb`` file.

    The file is a ``:W&B`` header (7 bytes) followed by a LevelDB-style log: 32 KiB blocks of chunks, each
    with a 7-byte header (crc32, length, type: 1 full, 2 first, 3 middle, 4 last).
    """
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    block, pos, chunks = 32 * 1024, 7, []
    while pos + 7 <= len(data):
        room = block - pos % block
        if room < 7:
            pos += room
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos : pos + 7])
        if kind == 0:  # zero padding up to the end of the block
            pos += room
            continue
        chunks.append(data[pos + 7 : pos + 7 + length])
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(b"".join(chunks))
            chunks = []
            yield record


def read_offline_run(run_dir: Path) -> dict[str, Any]:
    """Config, history rows and media files of the one offline W&B run under ``run_dir``."""
    runs = list((run_dir / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, f"expected one offline run in {run_dir / 'wandb'}, found {runs}"
    config: dict[str, Any] = {}
    history: list[dict[str, Any]] = []
    for record in wandb_records(next(runs[0].glob("run-*.wandb"))):
        kind = record.WhichOneof("record_type")
        if kind in ("config", "run"):  # the config goes with the run record or in config records
            updates = record.config.update if kind == "config" else record.run.config.update
            for item in updates:  # a whole top-level value, or one nested key
                *parents, leaf = [item.key] if item.key else list(item.nested_key)
                node = config
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = json.loads(item.value_json)
        elif kind == "history":
            history.append(
                {
                    item.key or "/".join(item.nested_key): json.loads(item.value_json)
                    for item in record.history.item
                }
            )
    media = sorted(
        p.relative_to(runs[0] / "files").as_posix() for p in (runs[0] / "files").rglob("*") if p.is_file()
    )
    return {"config": config, "history": history, "media": media, "dir": runs[0]}


# ------------------------------------------------------------------------------- tests
@pytest.mark.slow
def test_wandb_offline_run_has_config_scalars_and_captioned_images(
    tmp_path: Path, tiny_damsm_checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_wandb(monkeypatch, tmp_path, "offline")
    # In its own process, as `attngan-train` runs: W&B redirects the console streams and keeps a service
    # running; in the pytest process they would outlive the test (later tests then write into closed streams).
    overrides = [
        f"paths.root_dir={tmp_path}",
        f"paths.output_dir={tmp_path}/run",
        f"paths.cache_dir={tmp_path.parent / 'shared-cache'}",
        f"hydra.run.dir={tmp_path}/run",
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_LOGGED_RUN,
        "logger=[csv,tensorboard,wandb]",
        "model.lambda_damsm=3.5",
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
    ]
    # tensorflow (a dev dependency, for the TF-protocol tests) is blocked: TensorBoard would import it (~14 s of
    # start-up) and then writes the same event files with its own stub, as for every user without tensorflow
    script = (
        "import sys; sys.modules['tensorflow'] = None; from attngan.cli.train import main; main(sys.argv[1:])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *overrides], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "run"
    logged = read_offline_run(run_dir)

    # the resolved config, as plain nested values
    assert "model" in logged["config"], f"config keys found: {sorted(logged['config'])}"
    assert logged["config"]["model"]["lambda_damsm"] == 3.5
    assert logged["config"]["model"]["image_sizes"] == [16, 32, 64]  # an interpolation, resolved
    assert logged["config"]["seed"] == 42
    assert "vocab" not in logged["config"]  # module arguments are not logged on top of the config

    # every train/ scalar, on the trainer's global step
    rows = logged["history"]
    train_rows = [row for row in rows if "train/g_loss" in row]
    assert train_rows and all("trainer/global_step" in row and "epoch" in row for row in train_rows)
    assert {"train/d_loss_0", "train/d_loss_1", "train/g_damsm", "train/g_kl"} <= set(train_rows[0])
    steps = [row["trainer/global_step"] for row in rows if "trainer/global_step" in row]
    assert steps == sorted(steps)

    # the sample grid, captioned attention figures and the caption table
    sample_rows = [row for row in rows if "samples/grid/_type" in row]
    assert len(sample_rows) == 1
    captions = sample_rows[0].get("samples/attention/captions")
    assert captions and all(isinstance(c, str) and c for c in captions)
    assert sample_rows[0]["samples/table/_type"] == "table-file"
    table_files = [m for m in logged["media"] if m.startswith("media/table/samples/table")]
    assert len(table_files) == 1
    table = json.loads((logged["dir"] / "files" / table_files[0]).read_text())
    assert table["columns"] == [
        "epoch",
        "caption",
        "stage 0 (16px)",
        "stage 1 (32px)",
        "stage 2 (64px)",
        "attention",
    ]
    assert [row[1] for row in table["data"]] == captions
    images = [m for m in logged["media"] if m.startswith("media/images/samples/") and m.endswith(".png")]
    assert len(images) == 1 + len(captions)  # the grid and one attention figure per caption

    # the CSV and TensorBoard loggers of the same run
    metrics_header = (run_dir / "csv" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"epoch", "step", "train/g_loss"} <= set(metrics_header)
    hparams = yaml.safe_load((run_dir / "csv" / "hparams.yaml").read_text())
    assert hparams["model"]["lambda_damsm"] == 3.5
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))


def test_wandb_disabled_needs_no_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attngan.lit.logging import wandb_logger

    isolate_wandb(monkeypatch, tmp_path, "disabled")
    logger = wandb_logger(project="attngan", save_dir=str(tmp_path / "run"))
    logger.log_hyperparams({"model": {"lambda_damsm": 5.0}})
    logger.log_metrics({"train/g_loss": 1.0}, step=1)
    logger.experiment.finish()
    assert not (tmp_path / "run" / "wandb").exists()


def test_wandb_online_without_credentials_stops_with_a_teaching_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attngan.lit.logging import wandb_logger

    isolate_wandb(monkeypatch, tmp_path, None)
    with pytest.raises(ConfigError, match=r"WANDB_MODE=offline.*wandb sync"):
        wandb_logger(project="attngan", save_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="not one of online, offline, disabled"):
        wandb_logger(mode="sometimes", save_dir=str(tmp_path))


def test_wandb_online_with_login_credentials_is_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wandb
    from lightning.pytorch.loggers import WandbLogger

    from attngan.lit.logging import wandb_logger

    isolate_wandb(monkeypatch, tmp_path, None)
    netrc = tmp_path / "netrc"  # what `wandb login` writes, found by W&B's own lookup
    netrc.write_text(f"machine api.wandb.ai\n  login user\n  password {'0123456789abcdef' * 3}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    try:
        assert isinstance(wandb_logger(project="attngan", save_dir=str(tmp_path)), WandbLogger)
        netrc.write_text("machine api.wandb.ai\n  login user\n  password 0123\n")  # too short to be a key
        wandb.teardown()
        with pytest.raises(ConfigError, match=r"W&B refused its stored credentials.*wandb login --relogin"):
            wandb_logger(project="attngan", save_dir=str(tmp_path))
    finally:
        wandb.teardown()  # the login stays with this process otherwise


@pytest.mark.parametrize("logger", ["csv", "tensorboard", "wandb", "[csv,wandb]", "none"])
def test_logger_configs_compose(tmp_path: Path, logger: str) -> None:
    from hydra.utils import get_method

    cfg = compose_train(tmp_path, f"logger={logger}")
    for spec in (cfg.logger or {}).values():
        assert callable(get_method(spec._target_))
        assert spec.save_dir == f"{tmp_path}/run"  # every logger writes inside the run directory
