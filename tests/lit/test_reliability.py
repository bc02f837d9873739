"""Reliability and safety: exact resume, safe checkpoints, pre-emption, numerical faults, bad input.

Every guarantee of ``docs/reliability.md`` has a test here. Cases already tested elsewhere are not repeated:

- ``test_lit.py``: atomic save interrupted in-process, empty / corrupt / truncated checkpoint ->
  ``CheckpointError`` naming the file, a pickle of arbitrary objects refused by the safe loader, the DAMSM
  vocabulary mismatch message, the ``"attngan"`` entry of an AttnGAN checkpoint.
- ``test_data_datamodule.py``: zero-byte, undecodable and truncated images under ``on_bad_sample=error``
  (message naming the file) and ``skip`` (replaced, counted, reported), with and without worker processes.
- ``test_data_folder.py`` / ``test_data_check.py``: caption files missing, orphaned or not UTF-8 recorded
  with their file; missing dataset roots explained.
- ``test_text.py`` / ``test_pipeline.py``: captions longer than ``max_words`` (random ordered subset in
  training, first words in evaluation and generation).
- ``test_pipeline.py`` / ``test_eval.py``: a caption with no known word at generation (``UnknownCaptionError``,
  clean ``attngan-generate`` error).

Numerical faults are injected with :mod:`attngan.lit.faults` (a callback the config adds), never by patching
the modules.

Subprocesses are few (about 6 s of imports each): the pre-emption run killed by a real SIGTERM, a kill during
a checkpoint save, and the console script's error output with and without ``ATTNGAN_DEBUG``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch import Callback

from attngan.checkpoint import safe_load_checkpoint
from attngan.errors import (
    BadSampleError,
    CheckpointError,
    ConfigError,
    NonFiniteLossError,
    VocabularyMismatchError,
)
from attngan.lit.callbacks import PREEMPTED_EXIT_CODE
from attngan.lit.checkpoint import AtomicCheckpointIO
from helpers.cli import run_in_process
from helpers.lit import nonfinite_loss
from helpers.training import TINY_ATTNGAN, TINY_DAMSM, TINY_DATA, TINY_TRAINER, compose_train, run_train

TESTS_DIR = Path(__file__).resolve().parent
# the exact-resume setting: CPU, deterministic algorithms, a few small batches per epoch
EXACT = ["trainer.deterministic=true", "data.batch_size=8", "trainer.limit_train_batches=2"]
# no sample grids and no evaluation at the end of the runs: they cost time and are tested elsewhere
SMALL_ATTNGAN = [
    *TINY_ATTNGAN,
    *TINY_DATA,
    *TINY_TRAINER,
    "model.generator.num_stages=2",
    "model.generator.base_size=16",
]
SMALL_ATTNGAN += ["model.sample_every_n_epochs=0", "~callbacks.evaluation"]
# the tiny DAMSM on another dataset than shapes (the shapes_damsm experiment also sets shapes-only data keys)
FOLDER_DAMSM = ["model=damsm", "model/image_encoder=cnn", "model.image_sizes=[64]"]
FOLDER_DAMSM += [o for o in TINY_DAMSM if not o.startswith("experiment=")]
FOLDER_ATTNGAN = ["model=attngan", "model.generator.num_stages=2", "model.generator.base_size=16"]
FOLDER_ATTNGAN += [o for o in TINY_ATTNGAN if not o.startswith("experiment=")]


# ----------------------------------------------------------------------------------------------- helpers
class SendSignal(Callback):
    """Sends ``signum`` to this process after batch ``batch`` of epoch ``epoch`` (in-process pre-emption)."""

    def __init__(self, epoch: int, batch: int, signum: str = "SIGTERM") -> None:
        self.epoch, self.batch, self.signum = epoch, batch, getattr(signal, signum)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if (trainer.current_epoch, batch_idx) == (self.epoch, self.batch):
            os.kill(os.getpid(), self.signum)


class PauseForSignal(Callback):
    """After batch ``batch`` of epoch ``epoch``, writes ``marker`` and waits until a signal arrives from outside."""

    def __init__(self, epoch: int, batch: int, marker: str, timeout: float = 300.0) -> None:
        self.epoch, self.batch, self.marker, self.timeout = epoch, batch, marker, timeout

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if (trainer.current_epoch, batch_idx) != (self.epoch, self.batch):
            return
        Path(self.marker).write_text("waiting for a signal\n")
        deadline = time.monotonic() + self.timeout
        while not trainer.received_sigterm and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def restore_signals():
    """In-process pre-emption tests: leave the test process's signal handlers as they were."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGUSR1)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def training_state(path: Path) -> dict[str, Any]:
    """Everything a resume must reproduce: weights and buffers (G, every D, EMA, counters), optimizer and
    scheduler states, loop progress (epochs, batches, steps, the loader's place) and the generator step."""
    checkpoint = safe_load_checkpoint(path)
    state = {k: checkpoint[k] for k in ("state_dict", "optimizer_states", "lr_schedulers", "loops")}
    state |= {k: checkpoint[k] for k in ("epoch", "global_step")}
    state["generator_step"] = checkpoint["attngan"]["generator_step"]
    state["vocab"] = checkpoint["attngan"]["vocab"]
    return state


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ; tensors are compared with ``torch.equal`` (bit-identical, same dtype)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        same = isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
        return [] if same and torch.equal(a, b) else [where]
    if isinstance(a, dict) and isinstance(b, dict):
        found = [f"{where}/{k} (only in one)" for k in set(a) ^ set(b)]
        return found + [d for k in a if k in b for d in differences(a[k], b[k], f"{where}/{k}")]
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return [f"{where} (lengths {len(a)} vs {len(b)})"]
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where} ({a!r} vs {b!r})"]


def assert_bit_identical(path_a: Path, path_b: Path) -> None:
    state_a, state_b = training_state(path_a), training_state(path_b)
    assert len(state_a["state_dict"]) > 20 and state_a["optimizer_states"]  # the comparison is not empty
    found = differences(state_a, state_b)
    assert not found, f"{len(found)} differences, e.g. {found[:8]}"


def cli_args(run_dir: Path, *overrides: str) -> list[str]:
    """Hydra overrides for a console-script run in ``run_dir``; the shapes data comes from the session's
    cache, where ``compose_train`` puts it (``<tmp>/../shared-cache``)."""
    return [
        f"paths.root_dir={run_dir}",
        f"paths.cache_dir={run_dir.parent / 'shared-cache'}",
        f"hydra.run.dir={run_dir / 'run'}",
        *overrides,
    ]


def run_cli(main: Any, monkeypatch: pytest.MonkeyPatch, cwd: Path, *argv: str) -> int:
    """A console script's ``main(argv)`` in-process; returns its exit code (0 when it returns)."""
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(sys, "argv", ["attngan"])
    try:
        main(list(argv))
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def attngan_train(cwd: Path, *argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``attngan-train`` in a subprocess (this directory and ``tests/`` on PYTHONPATH, for the test callbacks)."""
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(TESTS_DIR), str(TESTS_DIR.parent), os.environ.get("PYTHONPATH", "")]
        ),
    }
    environment.pop("ATTNGAN_DEBUG", None)
    environment.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "attngan.cli.train", *argv],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# ------------------------------------------------------------------------------------------ exact resume
@pytest.fixture(scope="module")
def attngan_resume_runs(
    tmp_path_factory: pytest.TempPathFactory, tiny_damsm_checkpoint: Path
) -> dict[str, Any]:
    """Two AttnGAN epochs (2 batches each) straight; 1 epoch then a resume; and a run killed by SIGTERM
    from outside after batch 0 of epoch 1 (a subprocess), then resumed."""
    common = [*SMALL_ATTNGAN, *EXACT, f"model.damsm_checkpoint={tiny_damsm_checkpoint}"]
    # the run killed mid-epoch works in a subprocess while the others train here
    killed = tmp_path_factory.mktemp("killed")
    marker = killed / "paused"
    process = attngan_train(
        killed,
        *cli_args(killed, *common, "trainer.max_epochs=2"),
        "+callbacks.pause._target_=test_reliability.PauseForSignal",
        "+callbacks.pause.epoch=1",
        "+callbacks.pause.batch=0",
        f"+callbacks.pause.marker={marker}",
    )
    runs: dict[str, Any] = {}
    straight = tmp_path_factory.mktemp("straight")
    run_train(straight, *common, "trainer.max_epochs=2", f"export_path={straight / 'final.ckpt'}")
    runs["straight"] = straight / "final.ckpt"

    one_epoch = tmp_path_factory.mktemp("one_epoch")
    run_train(one_epoch, *common, "trainer.max_epochs=1")
    resumed = tmp_path_factory.mktemp("resumed")
    run_train(
        resumed,
        *common,
        "trainer.max_epochs=2",
        f"ckpt_path={one_epoch / 'run' / 'checkpoints' / 'last.ckpt'}",
        f"export_path={resumed / 'final.ckpt'}",
    )
    runs["resumed"] = resumed / "final.ckpt"

    deadline = time.monotonic() + 300
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if marker.exists():
        process.send_signal(signal.SIGTERM)  # a real signal, from another process
    try:
        _, runs["killed_stderr"] = process.communicate(timeout=300)
    finally:
        process.kill()
    runs["killed_returncode"] = process.returncode
    runs["killed_checkpoint"] = killed / "run" / "checkpoints" / "last.ckpt"
    assert marker.exists(), runs["killed_stderr"][-3000:]

    mid_epoch = tmp_path_factory.mktemp("mid_epoch")
    run_train(
        mid_epoch,
        *common,
        "trainer.max_epochs=2",
        f"ckpt_path={runs['killed_checkpoint']}",
        f"export_path={mid_epoch / 'final.ckpt'}",
    )
    runs["mid_epoch"] = mid_epoch / "final.ckpt"
    return runs


def test_resume_after_an_epoch_is_bit_identical(attngan_resume_runs):
    # G, every D, the EMA, BatchNorm statistics, Adam moments, generator step, epoch and loop counters
    assert_bit_identical(attngan_resume_runs["straight"], attngan_resume_runs["resumed"])


def test_sigterm_saves_a_resumable_checkpoint_and_exits_75(attngan_resume_runs):
    stderr = attngan_resume_runs["killed_stderr"]
    assert attngan_resume_runs["killed_returncode"] == PREEMPTED_EXIT_CODE == 75, stderr[-3000:]
    assert "pre-empted" in stderr and "ckpt_path=" in stderr and "Traceback" not in stderr
    checkpoint = safe_load_checkpoint(attngan_resume_runs["killed_checkpoint"])
    assert checkpoint["attngan"]["generator_step"] == 3  # 2 batches of epoch 0 + batch 0 of epoch 1
    assert checkpoint["epoch"] == 1
    # the training loader's place in the epoch: the resumed run carries on with batch 1
    assert checkpoint["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"batches_done": 1}]


def test_resume_mid_epoch_is_bit_identical(attngan_resume_runs):
    assert_bit_identical(attngan_resume_runs["straight"], attngan_resume_runs["mid_epoch"])


def test_damsm_resume_is_bit_identical_after_an_epoch_and_after_sigusr1(
    tmp_path_factory: pytest.TempPathFactory, restore_signals: None
):
    # dropout in the text encoder, the learning-rate schedule and validation run between the epochs
    common = [*TINY_DAMSM, *TINY_DATA, *TINY_TRAINER, *EXACT, "model.num_attention_figures=0"]
    straight = tmp_path_factory.mktemp("damsm_straight")
    run_train(straight, *common, "trainer.max_epochs=2", f"export_path={straight / 'final.ckpt'}")

    one_epoch = tmp_path_factory.mktemp("damsm_one_epoch")
    run_train(one_epoch, *common, "trainer.max_epochs=1")
    resumed = tmp_path_factory.mktemp("damsm_resumed")
    last = one_epoch / "run" / "checkpoints" / "last.ckpt"
    run_train(
        resumed, *common, "trainer.max_epochs=2", f"ckpt_path={last}", f"export_path={resumed / 'final.ckpt'}"
    )
    assert_bit_identical(straight / "final.ckpt", resumed / "final.ckpt")

    killed = tmp_path_factory.mktemp("damsm_killed")
    with pytest.raises(SystemExit) as stopped:  # SIGUSR1 (SLURM's warning signal) in the middle of epoch 1
        run_train(
            killed,
            *common,
            "trainer.max_epochs=2",
            "+callbacks.signal._target_=test_reliability.SendSignal",
            "+callbacks.signal.epoch=1",
            "+callbacks.signal.batch=0",
            "+callbacks.signal.signum=SIGUSR1",
        )
    assert stopped.value.code == PREEMPTED_EXIT_CODE
    mid_epoch = tmp_path_factory.mktemp("damsm_mid_epoch")
    last = killed / "run" / "checkpoints" / "last.ckpt"
    run_train(
        mid_epoch, *common, "trainer.max_epochs=2", f"ckpt_path={last}", f"export_path={mid_epoch / 'f.ckpt'}"
    )
    assert_bit_identical(straight / "final.ckpt", mid_epoch / "f.ckpt")


# ------------------------------------------------------------------------------------------- checkpoints
def _size(paths: Any) -> int:
    """Size of the first of ``paths`` still there (0: none; a temporary file may be renamed meanwhile)."""
    for path in paths:
        try:
            return path.stat().st_size
        except FileNotFoundError:
            continue
    return 0


def test_kill_during_a_save_never_leaves_a_truncated_checkpoint(tmp_path: Path):
    import inspect

    from attngan.checkpoint import atomic_torch_save

    path = tmp_path / "last.ckpt"
    # the function's own source, so that the subprocess does not spend seconds importing Lightning
    script = "import os, sys, tempfile, torch\nfrom pathlib import Path\nfrom typing import Any\n"
    script += inspect.getsource(atomic_torch_save) + textwrap.dedent(
        """
        step = 0
        while True:
            atomic_torch_save({"step": step, "weights": torch.full((8_000_000,), float(step))}, sys.argv[1])
            step += 1
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script, str(path)], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if path.exists() and 0 < _size(tmp_path.glob(".last.ckpt.*.tmp")) < 30_000_000:  # mid-write
                process.send_signal(signal.SIGKILL)  # no handler, no cleanup: the worst case
                break
            time.sleep(0.002)
    finally:
        process.kill()
        _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, stderr
    assert list(tmp_path.glob(".last.ckpt.*.tmp")), "the kill did not land during a save"
    checkpoint = safe_load_checkpoint(path)  # the previous complete save
    assert torch.equal(checkpoint["weights"], torch.full((8_000_000,), float(checkpoint["step"])))


def test_trainer_reads_checkpoints_with_the_safe_loader(tmp_path: Path):
    import copy

    evil = tmp_path / "evil.ckpt"
    torch.save({"state_dict": {}, "hook": copy.copy}, evil)
    with pytest.raises(CheckpointError, match=r"evil\.ckpt.*not plain data"):
        AtomicCheckpointIO().load_checkpoint(evil)  # what Trainer.fit(ckpt_path=...) uses


def test_corrupt_ckpt_path_is_one_message_naming_the_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tiny_damsm_checkpoint: Path,
):
    from attngan.cli.train import main

    truncated = tmp_path / "truncated.ckpt"
    data = tiny_damsm_checkpoint.read_bytes()
    truncated.write_bytes(data[: len(data) // 3])
    code = run_cli(main, monkeypatch, tmp_path, *cli_args(tmp_path, *TINY_DAMSM, f"ckpt_path={truncated}"))
    err = capsys.readouterr().err
    assert code == 2
    assert f"checkpoint '{truncated}' cannot be read" in err and "truncated or corrupt" in err
    assert "Traceback" not in err


def test_every_checkpoint_records_config_version_vocabulary_and_step(
    attngan_resume_runs, tiny_damsm_checkpoint
):
    import attngan

    for path in (
        tiny_damsm_checkpoint,
        attngan_resume_runs["killed_checkpoint"],
        attngan_resume_runs["straight"],
    ):
        entry = safe_load_checkpoint(path)["attngan"]  # weights_only=True
        assert entry["version"] == attngan.__version__
        assert entry["config"]["model"]["_target_"].startswith("attngan.lit.")
        assert entry["config"]["seed"] == 42 and entry["vocab"][0] == "<pad>" and len(entry["vocab"]) > 10
        assert isinstance(entry["generator_step"], int)
    assert safe_load_checkpoint(attngan_resume_runs["straight"])["attngan"]["generator_step"] == 4


def _drop_optimizer_state(source: Path, target: Path) -> Path:
    checkpoint = safe_load_checkpoint(source)
    del checkpoint["optimizer_states"], checkpoint["loops"]
    torch.save(checkpoint, target)
    return target


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("damsm", r"is a 'damsm' checkpoint, expected a 'attngan' one"),
        ("weights_only", r"holds weights only .*model\.init_from"),
        ("other_model", r"does not fit the model of this run .*other shapes: generator\."),
    ],
)
def test_resume_refuses_a_checkpoint_of_another_run(
    tmp_path, tiny_damsm_checkpoint, tiny_attngan_checkpoint, case, message
):
    checkpoint = {
        "damsm": tiny_damsm_checkpoint,
        "weights_only": _drop_optimizer_state(tiny_attngan_checkpoint, tmp_path / "weights.ckpt"),
        "other_model": tiny_attngan_checkpoint,
    }[case]
    extra = ["model.generator.ngf=8"] if case == "other_model" else []
    cfg = compose_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        f"ckpt_path={checkpoint}",
        *extra,
    )
    from attngan.cli.train import train

    with pytest.raises(CheckpointError, match=message) as err:
        train(cfg)
    assert str(checkpoint) in str(err.value)


# ------------------------------------------------------------------------------------------ non-finite loss
@pytest.mark.parametrize("preempted", [False, True], ids=["detected", "at-preemption"])
def test_nonfinite_loss_stops_naming_step_and_term_and_saves_nothing(
    tmp_path, monkeypatch, capsys, restore_signals, tiny_damsm_checkpoint, preempted
):
    from attngan.cli.train import main

    overrides = [*SMALL_ATTNGAN, f"model.damsm_checkpoint={tiny_damsm_checkpoint}", "trainer.max_epochs=2"]
    overrides += nonfinite_loss("g_kl", at_step=2)  # epoch 1, batch 0 (2 batches per epoch)
    overrides += ["trainer.log_every_n_steps=100"]  # checked at the end of the epoch, or before a save
    if preempted:  # SIGUSR1 right after the bad step: the pre-emption save must not write the NaN weights
        overrides += ["+callbacks.signal._target_=test_reliability.SendSignal", "+callbacks.signal.epoch=1"]
        overrides += ["+callbacks.signal.batch=0", "+callbacks.signal.signum=SIGUSR1"]
    code = run_cli(main, monkeypatch, tmp_path, *cli_args(tmp_path, *overrides))
    err = capsys.readouterr().err
    assert code == NonFiniteLossError.exit_code == 3
    assert "the loss term 'g_kl' became non-finite (NaN or inf) at generator step 2" in err
    assert "model.nonfinite_policy=skip" in err and "Traceback" not in err
    last = safe_load_checkpoint(tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert (
        last["attngan"]["generator_step"] == 2 and last["epoch"] == 0
    )  # the last good checkpoint, untouched
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values() if t.is_floating_point())


def test_nonfinite_skip_policy_skips_the_step_and_counts_it(tmp_path, tiny_damsm_checkpoint):
    run_train(
        tmp_path,
        *SMALL_ATTNGAN,
        *nonfinite_loss("g_kl", at_step=1),
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.nonfinite_policy=skip",
        f"export_path={tmp_path / 'final.ckpt'}",
    )
    checkpoint = safe_load_checkpoint(tmp_path / "final.ckpt")
    assert int(checkpoint["state_dict"]["skipped_steps"]) == 1  # the generator step with the NaN
    assert int(checkpoint["state_dict"]["generator_step"]) == 2
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values() if t.is_floating_point())


@pytest.mark.parametrize("policy", ["stop", "skip"])
def test_nonfinite_damsm_loss(tmp_path, policy):
    args = [
        *TINY_DAMSM,
        *TINY_DATA,
        *TINY_TRAINER,
        *nonfinite_loss("word_t2i", at_step=1),  # the second training step (the sum "loss" with it)
        "trainer.limit_val_batches=0",
        f"model.nonfinite_policy={policy}",
    ]
    if policy == "stop":
        with pytest.raises(
            NonFiniteLossError, match=r"DAMSM loss term 'word_t2i' became non-finite .* at step 1"
        ):
            run_train(tmp_path, *args)
        assert not list((tmp_path / "run").rglob("*.ckpt"))  # nothing written after the bad step
        return
    run_train(tmp_path, *args, f"export_path={tmp_path / 'final.ckpt'}")
    checkpoint = safe_load_checkpoint(tmp_path / "final.ckpt")
    assert checkpoint["attngan"]["skipped_steps"] == 1
    assert int(checkpoint["optimizer_states"][0]["state"][0]["step"]) == 1  # Adam took one step of two
    assert all(torch.isfinite(t).all() for t in checkpoint["state_dict"].values() if t.is_floating_point())


# ---------------------------------------------------------------------------------------------- bad input
def test_wrong_data_root_is_one_message_without_traceback_unless_debugging(tmp_path, monkeypatch):
    from attngan.cli.train import main
    from attngan.errors import DataError

    args = [*FOLDER_DAMSM, "data=folder", f"data.root={tmp_path / 'nowhere'}", "logger=none"]
    # the console script's main() as the script runs it, in-process (tests/cli/test_cli_errors.py runs the
    # installed scripts as subprocesses); an escaping exception would fail here, not print a traceback
    quiet = run_in_process(["attngan-train", *cli_args(tmp_path, *args)], tmp_path)
    err = quiet.stderr
    assert quiet.returncode == 2
    assert f"data.root={tmp_path / 'nowhere'} is not a directory (it does not exist)" in err
    assert "Traceback" not in err and "ATTNGAN_DEBUG=1" in err
    # with the debug flag the error propagates, so Python prints its traceback
    monkeypatch.setenv("ATTNGAN_DEBUG", "1")
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(DataError, match="nowhere"):
        run_cli(main, monkeypatch, tmp_path, *cli_args(tmp_path, *args))


def test_missing_damsm_checkpoint_says_how_to_make_one(tmp_path, monkeypatch, capsys):
    from attngan.cli.train import main

    missing = tmp_path / "no_damsm.ckpt"
    args = [*SMALL_ATTNGAN, f"model.damsm_checkpoint={missing}"]
    code = run_cli(main, monkeypatch, tmp_path, *cli_args(tmp_path, *args))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"model.damsm_checkpoint '{missing}' does not exist" in err and "experiment=shapes_damsm" in err


def test_damsm_trained_on_other_captions_is_refused(tmp_path, mini_folder, tiny_damsm_checkpoint):
    from attngan.cli.train import train

    cfg = compose_train(
        tmp_path,
        *FOLDER_ATTNGAN,
        *TINY_TRAINER,
        "data=folder",
        f"data.root={mini_folder}",
        "data.num_workers=0",
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
    )
    with pytest.raises(
        VocabularyMismatchError, match=r"words only in the dataset vocabulary: \[.*'cat'"
    ) as err:
        train(cfg)
    assert str(tiny_damsm_checkpoint) in str(err.value) and "_damsm" in str(err.value)


def _damsm_on_folder(root: Path, *extra: str) -> list[str]:
    return [
        *FOLDER_DAMSM,
        *TINY_TRAINER,
        "data=folder",
        f"data.root={root}",
        "data.batch_size=2",
        "trainer.max_epochs=1",
        "trainer.limit_val_batches=0",
        *extra,
    ]


@pytest.mark.parametrize("damage", ["zero-byte", "truncated"])
def test_bad_image_while_training_error_policy(tmp_path, monkeypatch, capsys, mini_folder, damage):
    from attngan.cli.train import main

    image = mini_folder / "images" / "dog_02.png"  # a training image
    data = image.read_bytes()
    image.write_bytes(b"" if damage == "zero-byte" else data[: len(data) // 2])
    # a truncated image is only found when a DataLoader worker decodes it: its error must stay one message
    args = _damsm_on_folder(mini_folder, "data.num_workers=1", "data.on_bad_sample=error")
    code = run_cli(main, monkeypatch, tmp_path, *cli_args(tmp_path, *args))
    err = capsys.readouterr().err
    assert code == 2, err[-3000:]
    assert f"{image}: " in err and "data.on_bad_sample=skip" in err
    assert "Traceback" not in err and "DataLoader worker" not in err


def test_bad_images_while_training_skip_policy(tmp_path, mini_folder, caplog):
    import logging

    (mini_folder / "images" / "cat_02.png").write_bytes(b"")
    data = (mini_folder / "images" / "dog_02.png").read_bytes()
    (mini_folder / "images" / "dog_02.png").write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        run_train(tmp_path, *_damsm_on_folder(mini_folder, "data.num_workers=0", "data.on_bad_sample=skip"))
    assert "cat_02.png" in caplog.text  # left out at setup
    assert "bad samples were skipped (data.on_bad_sample=skip)" in caplog.text and "dog_02.png" in caplog.text


def _folder_module(root: Path, **options: Any) -> Any:
    from attngan.data import FolderDataModule

    module = FolderDataModule(root=root, image_sizes=[16, 32], batch_size=2, seed=0, **options)
    module.setup("fit")
    return module


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (lambda path: path.unlink(), "image without captions (caption file does not exist)"),
        (lambda path: path.write_text("\n  \n\n"), "empty captions (no line with a word)"),
    ],
    ids=["no-caption-file", "empty-caption-file"],
)
def test_images_without_captions(mini_folder, write, problem):
    caption_file = mini_folder / "captions" / "dog_01.txt"
    write(caption_file)
    with pytest.raises(BadSampleError) as err:
        _folder_module(mini_folder)
    assert f"{caption_file}: {problem}" in str(err.value) and "data.on_bad_sample=skip" in str(err.value)
    module = _folder_module(mini_folder, on_bad_sample="skip")
    assert "dog_01" not in {r.key for r in module.train_dataset.records}
    assert [p.path for p in module.bad_samples] == [str(caption_file)]


def test_captions_longer_than_max_words(mini_folder):
    words = [f"w{i:02d}" for i in range(30)]
    for key in ("cat_01", "bird_01"):  # a training and a test image
        (mini_folder / "captions" / f"{key}.txt").write_text(" ".join(words) + "\n")
    module = _folder_module(mini_folder, max_words=6)
    vocab = module.vocab
    train_index = [r.key for r in module.train_dataset.records].index("cat_01")
    test_index = [r.key for r in module.val_dataset.records].index("bird_01")
    kept = [
        vocab.decode(module.train_dataset[(train_index, s)]["caption"].tolist()).split() for s in range(4)
    ]
    assert all(len(k) == 6 and k == sorted(k) and set(k) <= set(words) for k in kept)  # ordered subsets
    assert len({tuple(k) for k in kept}) > 1  # a different subset per draw
    first = module.val_dataset[test_index]
    assert first["length"] == 6 and vocab.decode(first["caption"].tolist()).split() == words[:6]


def test_non_utf8_caption_file_is_read_and_reported(mini_folder, caplog):
    import logging

    caption_file = mini_folder / "captions" / "dog_01.txt"
    caption_file.write_bytes(b"a brown dog \xff\xfe on a sofa\n")
    with caplog.at_level(logging.WARNING):
        module = _folder_module(mini_folder)
    assert f"{caption_file} [train]: captions not valid UTF-8 (byte 12" in caplog.text
    index = [r.key for r in module.train_dataset.records].index("dog_01")
    sample = module.train_dataset[(index, 0)]
    assert module.vocab.decode(sample["caption"].tolist()) == "a brown dog on a sofa"


def test_unknown_config_key_is_refused_by_name(tmp_path, monkeypatch, capsys):
    from attngan.cli.train import main

    code = run_cli(
        main, monkeypatch, tmp_path, *cli_args(tmp_path, "experiment=shapes_damsm", "model.lamda_damsm=5")
    )
    captured = capsys.readouterr()
    out = captured.out + captured.err
    assert code == 2
    # not Hydra's "use +model.lamda_damsm" (a key nothing reads; the DAMSM has no lambda_damsm at all)
    assert "model.lamda_damsm is not a key" in out and "--cfg job" in out
    assert "+model.lamda_damsm" not in out and "Traceback" not in out
    assert not (tmp_path / "run").exists()  # refused before anything ran


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            "model.image_sizes=[16,32,64]",  # data.image_sizes follows it
            r"data.image_sizes=\[16, 32, 64\] \(model.image_sizes by default\) but the generator makes "
            r"\[16, 32\]: set model.generator.base_size and num_stages",
        ),
        (
            "data.image_sizes=[16]",
            r"data.image_sizes=\[16\] .* but the generator makes \[16, 32\]",
        ),
    ],
)
def test_image_sizes_that_do_not_match_the_stages(tmp_path, tiny_damsm_checkpoint, override, message):
    from attngan.cli.train import train

    cfg = compose_train(tmp_path, *SMALL_ATTNGAN, f"model.damsm_checkpoint={tiny_damsm_checkpoint}", override)
    with pytest.raises(ConfigError, match=message):
        train(cfg)
