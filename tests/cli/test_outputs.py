"""Outputs are checked before any work, never replaced silently, written whole; one run per run directory; Ctrl-C.

The refusals run the console scripts in-process (:func:`helpers.cli.run_in_process`) with a checkpoint that is
not one (``junk.ckpt``): the output check must come first, so the error names the output key and not the file.
Each case also asserts that nothing was made (no data cache, no run directory).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lightning.pytorch import Callback

from attngan.errors import OutputError
from attngan.outputs import LOCK_NAME, MARKER, OutputDirectory, check_output_file, hold_run_directory
from helpers.cli import run_in_process
from helpers.training import TINY_DAMSM, TINY_DATA, TINY_TRAINER, compose_train, run_train


def _env(cwd: Path) -> dict[str, str]:
    return {"ATTNGAN_CACHE": str(cwd / "cache"), "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}


def _one_line_error(done: subprocess.CompletedProcess, *named: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr[-3000:]
    assert lines[0].startswith(f"{Path(done.args[0]).name}: error: "), lines[0]
    for text in named:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def not_writable(monkeypatch: pytest.MonkeyPatch):
    """``not_writable(dir)``: ``dir`` read-only (root may write anywhere: ``os.access`` then says no as a user's
    would)."""

    def make(directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o555)
        if os.geteuid() == 0:
            real = os.access

            def access(path: Any, mode: int, *args: Any, **kwargs: Any) -> bool:
                if mode & os.W_OK and Path(path).resolve() == directory.resolve():
                    return False
                return real(path, mode, *args, **kwargs)

            monkeypatch.setattr(os, "access", access)
        return directory

    yield make


@pytest.fixture
def cwd(tmp_path: Path) -> Path:
    """A working directory with a file that is not a checkpoint and a plain file to misuse as a directory."""
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint: a command that reads it first fails on it")
    (tmp_path / "a_file").write_text("a file\n")
    return tmp_path


# ------------------------------------------------------------------------------------------ the library
def _write(out: OutputDirectory, *names: str) -> None:
    for name in names:
        (out.staging / name).write_text(name)


def test_a_second_run_replaces_its_own_files_and_leaves_no_stale_one(tmp_path: Path) -> None:
    with OutputDirectory(tmp_path / "out", "output_dir", "attngan-generate") as out:
        _write(out, "a.png", "b.png", "generated.json")
    with OutputDirectory(tmp_path / "out", "output_dir", "attngan-generate") as out:
        _write(out, "a.png", "c.png", "generated.json")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        MARKER,
        "a.png",
        "c.png",
        "generated.json",
    ]
    assert json.loads((tmp_path / "out" / MARKER).read_text())["files"] == [
        "a.png",
        "c.png",
        "generated.json",
    ]


def test_a_failed_run_leaves_the_previous_results_as_they_were(tmp_path: Path) -> None:
    with OutputDirectory(tmp_path / "out", "output_dir", "attngan-eval") as out:
        _write(out, "metrics.json")
    with pytest.raises(RuntimeError), OutputDirectory(tmp_path / "out", "output_dir", "attngan-eval") as out:
        _write(out, "half.json")
        raise RuntimeError("the run failed")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [MARKER, "metrics.json"]
    with pytest.raises(RuntimeError), OutputDirectory(tmp_path / "new", "output_dir", "attngan-eval"):
        raise RuntimeError("the run failed")
    assert not (tmp_path / "new").exists()  # made by the failed run, and removed again


def test_a_directory_of_other_files_is_refused_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine\n")
    with pytest.raises(
        OutputError, match=r"output_dir=.*out already holds files that attngan-generate did not"
    ):
        OutputDirectory(tmp_path / "out", "output_dir", "attngan-generate")
    with OutputDirectory(tmp_path / "out", "output_dir", "attngan-generate", overwrite=True) as out:
        _write(out, "a.png")
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine\n"  # never removed
    with pytest.raises(
        OutputError, match="already holds the output of attngan-generate"
    ):  # another command's
        OutputDirectory(tmp_path / "out", "output_dir", "attngan-eval")


def test_locations_that_cannot_be_written(tmp_path: Path, not_writable) -> None:
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputError, match=r"output_dir=.*a_file is a file, not a directory"):
        OutputDirectory(tmp_path / "a_file", "output_dir", "attngan-generate")
    with pytest.raises(OutputError, match=r"cannot be created: .*a_file is a file"):
        OutputDirectory(tmp_path / "a_file" / "sub", "output_dir", "attngan-generate")
    locked = not_writable(tmp_path / "locked")
    with pytest.raises(OutputError, match="is not writable"):
        OutputDirectory(locked, "output_dir", "attngan-generate")
    with pytest.raises(OutputError, match=r"cannot be created: .*locked is not writable"):
        OutputDirectory(locked / "sub", "output_dir", "attngan-generate")


def test_a_file_result_is_replaced_only_when_asked(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"export_path=.* is a directory, not a file: give a file path"):
        check_output_file(tmp_path, "export_path", overwrite=True)
    (tmp_path / "model.ckpt").write_text("an earlier result")
    with pytest.raises(OutputError, match="already exists and would be replaced: overwrite=true replaces it"):
        check_output_file(tmp_path / "model.ckpt", "export_path", overwrite=False)
    assert (
        check_output_file(tmp_path / "model.ckpt", "export_path", overwrite=True) == tmp_path / "model.ckpt"
    )


@pytest.fixture
def other_process():
    """A live process that is not this one (its pid stands for a training run that holds a lock)."""
    process = subprocess.Popen(["sleep", "120"])
    yield process.pid
    process.kill()
    process.wait()


def test_one_process_per_run_directory(tmp_path: Path, other_process: int) -> None:
    run = tmp_path / "run"
    with hold_run_directory(run, "hydra.run.dir"):
        assert (run / LOCK_NAME).read_text().strip() == str(os.getpid())
        with hold_run_directory(run, "hydra.run.dir"):  # the same process again (hydra_main, then train)
            pass
        assert (run / LOCK_NAME).exists()
    assert not (run / LOCK_NAME).exists()
    (run / LOCK_NAME).write_text(f"{other_process}\n")
    with (
        pytest.raises(
            OutputError,
            match=rf"hydra.run.dir=.*run is in use by another training run \(process {other_process}",
        ),
        hold_run_directory(run, "hydra.run.dir"),
    ):
        pass
    (run / LOCK_NAME).write_text("999999999\n")  # its holder was killed: the directory is free
    with hold_run_directory(run, "hydra.run.dir"):
        assert (run / LOCK_NAME).read_text().strip() == str(os.getpid())


# ------------------------------------------------------------------------------------------ every command
REFUSED = {
    "generate_output_dir_is_a_file": (
        ("attngan-generate", "checkpoint=junk.ckpt", "captions=[a red circle]", "output_dir=a_file"),
        ("output_dir=a_file is a file",),
    ),
    "generate_output_dir_under_a_file": (
        ("attngan-generate", "checkpoint=junk.ckpt", "captions=[a red circle]", "output_dir=a_file/out"),
        ("output_dir=a_file/out cannot be created: a_file is a file",),
    ),
    "eval_output_dir_is_a_file": (
        ("attngan-eval", "checkpoint=junk.ckpt", "output_dir=a_file"),
        ("output_dir=a_file is a file",),
    ),
    "export_output_is_a_file": (
        ("attngan-export", "checkpoint=junk.ckpt", "output=a_file"),
        ("output=a_file is a file",),
    ),
    "export_output_holds_other_files": (
        ("attngan-export", "checkpoint=junk.ckpt", "output=foreign"),
        ("output=foreign already holds files that attngan-export did not write", "overwrite=true"),
    ),
    "train_run_dir_is_a_file": (
        ("attngan-train", "experiment=shapes_damsm", "hydra.run.dir=a_file"),
        ("hydra.run.dir=a_file is a file",),
    ),
    "train_run_dir_holds_other_files": (
        ("attngan-train", "experiment=shapes_damsm", "hydra.run.dir=foreign"),
        ("hydra.run.dir=foreign already holds files that attngan-train did not write", "overwrite=true"),
    ),
    "train_export_path_is_a_directory": (
        ("attngan-train", "experiment=shapes_damsm", "export_path=foreign"),
        ("export_path=foreign is a directory, not a file", "export_path=foreign/model.ckpt"),
    ),
    "train_export_path_exists": (  # the result of `make train`, which a quick experiment must not replace
        ("attngan-train", "experiment=shapes_damsm", "paths.root_dir=.", "trainer.max_epochs=1"),
        ("export_path=outputs/shapes/damsm.ckpt already exists", "overwrite=true replaces it"),
    ),
    "data_shapes_root_is_a_file": (("attngan-data", "shapes", "root=a_file"), ("root=a_file is a file",)),
    "data_shapes_root_under_a_file": (
        ("attngan-data", "shapes", "root=a_file/shapes"),
        ("root=a_file/shapes cannot be created: a_file is a file",),
    ),
    "data_check_manifest_under_a_file": (
        ("attngan-data", "check", "manifest=a_file/bad.json"),
        ("manifest=a_file/bad.json cannot be created: a_file is a file",),
    ),
    "reproduce_output_dir_holds_other_files": (
        ("attngan-reproduce", "output_dir=foreign", "plan_only=true"),
        ("output_dir=foreign already holds files that attngan-reproduce did not write", "overwrite=true"),
    ),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_an_output_that_cannot_be_written_is_refused_before_any_work(name: str, cwd: Path) -> None:
    argv, named = REFUSED[name]
    (cwd / "foreign").mkdir()
    (cwd / "foreign" / "holiday.jpg").write_bytes(b"not ours")
    (cwd / "outputs" / "shapes").mkdir(parents=True)
    (cwd / "outputs" / "shapes" / "damsm.ckpt").write_bytes(b"the result of make train")
    done = run_in_process(argv, cwd, _env(cwd))
    _one_line_error(done, *named)
    assert not (cwd / "cache").exists()  # no data generated
    assert sorted(p.name for p in (cwd / "outputs").iterdir()) == ["shapes"]  # no run directory
    assert sorted(p.name for p in (cwd / "outputs" / "shapes").iterdir()) == ["damsm.ckpt"]
    assert (cwd / "outputs" / "shapes" / "damsm.ckpt").read_bytes() == b"the result of make train"
    assert sorted(p.name for p in (cwd / "foreign").iterdir()) == ["holiday.jpg"]


def test_eval_into_a_read_only_directory_is_refused_before_any_work(cwd: Path, not_writable) -> None:
    not_writable(cwd / "readonly")
    done = run_in_process(["attngan-eval", "checkpoint=junk.ckpt", "output_dir=readonly"], cwd, _env(cwd))
    _one_line_error(done, "output_dir=readonly is not writable")
    generate = ["attngan-generate", "checkpoint=junk.ckpt", "captions=[a]", "output_dir=readonly/out"]
    _one_line_error(run_in_process(generate, cwd, _env(cwd)), "output_dir=readonly/out cannot be created")


def test_data_shapes_into_a_read_only_directory_is_refused_before_generating(cwd: Path, not_writable) -> None:
    readonly = not_writable(cwd / "readonly")
    shapes = ["attngan-data", "shapes", "num_images=5"]
    _one_line_error(
        run_in_process([*shapes, "root=readonly"], cwd, _env(cwd)), "root=readonly is not writable"
    )
    done = run_in_process([*shapes, "root=readonly/shapes"], cwd, _env(cwd))
    _one_line_error(done, "root=readonly/shapes cannot be created: ", "readonly is not writable")
    assert not any(readonly.iterdir())  # nothing generated
    assert not (cwd / "cache").exists()


def test_a_second_training_run_in_a_run_directory_in_use_is_refused(cwd: Path, other_process: int) -> None:
    run = cwd / "run"
    (run / ".hydra").mkdir(parents=True)
    (run / "csv").mkdir()
    (run / ".hydra" / "overrides.yaml").write_text("- experiment=shapes_damsm\n")
    (run / "csv" / "metrics.csv").write_text("epoch,loss\n0,1.0\n")
    (run / LOCK_NAME).write_text(f"{other_process}\n")  # the first run, still training
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    done = run_in_process(
        ["attngan-train", "experiment=shapes_damsm", f"hydra.run.dir={run}"], cwd, _env(cwd)
    )
    _one_line_error(done, f"hydra.run.dir={run} is in use by another training run (process {other_process}")
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before  # the running run's files
    assert not (cwd / "cache").exists()


# ------------------------------------------------------------------------------------------ Ctrl-C
class SendSigint(Callback):
    """Ctrl-C (``times`` SIGINTs to this process) after the first training batch."""

    def __init__(self, times: int = 1) -> None:
        self.times = times

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step == 1:
            for _ in range(self.times):
                os.kill(os.getpid(), signal.SIGINT)


@pytest.fixture
def keep_sigint():
    saved = signal.getsignal(signal.SIGINT)
    yield
    signal.signal(signal.SIGINT, saved)


def test_ctrl_c_saves_a_resumable_checkpoint_and_says_how_to_resume(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_sigint: None
) -> None:
    from attngan.checkpoint import safe_load_checkpoint
    from attngan.lit.callbacks import PREEMPTED_EXIT_CODE

    tiny = [
        *TINY_DAMSM,
        *TINY_DATA,
        *TINY_TRAINER,
        "export_path=null",
        "+callbacks.ctrl_c._target_=test_outputs.SendSigint",
    ]
    with pytest.raises(SystemExit) as stopped:
        run_train(tmp_path, *tiny)
    assert stopped.value.code == PREEMPTED_EXIT_CODE == 75
    err = capsys.readouterr().err
    last = tmp_path / "run" / "checkpoints" / "last.ckpt"
    (final,) = [line for line in err.splitlines() if line.startswith("attngan-train:")]
    assert f"interrupted (Ctrl-C); resumable checkpoint: {last}; resume with: " in final
    assert f"ckpt_path={last}" in final and "exit code 75" in final
    assert "graceful shutdown" not in err and "Traceback" not in err
    assert safe_load_checkpoint(last)["global_step"] == 1
    assert signal.getsignal(signal.SIGINT) is not None and not (tmp_path / "run" / LOCK_NAME).exists()


def test_a_second_ctrl_c_stops_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], keep_sigint: None
) -> None:
    from attngan.lit.callbacks import INTERRUPTED_EXIT_CODE

    tiny = [*TINY_DAMSM, *TINY_DATA, *TINY_TRAINER, "export_path=null"]
    tiny += ["+callbacks.ctrl_c._target_=test_outputs.SendSigint", "+callbacks.ctrl_c.times=2"]
    with pytest.raises(SystemExit) as stopped:
        run_train(tmp_path, *tiny)
    assert stopped.value.code == INTERRUPTED_EXIT_CODE == 130
    err = capsys.readouterr().err
    assert "attngan-train: stopped at once (a second Ctrl-C); no checkpoint was written" in err
    assert "graceful shutdown" not in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------ train's export
def test_a_resumed_run_may_replace_its_own_export(tmp_path: Path) -> None:
    from attngan.training.entry import check_outputs, record_export

    cfg = compose_train(tmp_path, *TINY_DAMSM, f"export_path={tmp_path / 'damsm.ckpt'}")
    (tmp_path / "damsm.ckpt").write_bytes(b"exported by run/")
    with pytest.raises(OutputError, match="already exists"):
        check_outputs(cfg, tmp_path / "other_run")
    (tmp_path / "run").mkdir()
    record_export(tmp_path / "run", tmp_path / "damsm.ckpt")
    check_outputs(cfg, tmp_path / "run")  # its own: no error


def test_sweep_jobs_export_into_their_own_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from attngan.cli import train

    cfg = compose_train(tmp_path, *TINY_DAMSM)
    monkeypatch.setattr(train, "_in_sweep", lambda: True)
    monkeypatch.setattr(train, "_command_line_overrides", lambda: ["model.lambda_damsm=1"])
    assert train.export_target(cfg, tmp_path / "job0") == tmp_path / "job0" / "damsm.ckpt"
    given = [f"export_path={tmp_path}/x.ckpt"]  # chosen on the command line: as given
    monkeypatch.setattr(train, "_command_line_overrides", lambda: given)
    assert (
        train.export_target(compose_train(tmp_path, *TINY_DAMSM, *given), tmp_path / "job0")
        == tmp_path / "x.ckpt"
    )


def test_the_next_command_keeps_the_data_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attngan.cli import train

    given = ["experiment=folder_damsm", "data.root=mydata", "data.bad_manifest=bad.json", "model.lr=0.001"]
    cfg = compose_train(tmp_path, *given)
    monkeypatch.setattr(train, "_command_line_overrides", lambda: given)
    command = train.next_command(cfg, {"checkpoint": "run/last.ckpt", "exported": str(cfg.export_path)})
    assert command.startswith("attngan-train experiment=folder_attngan")
    assert "data.root=mydata" in command and "data.bad_manifest=bad.json" in command
    assert "model.lr" not in command  # the DAMSM's own keys stay behind


# ------------------------------------------------------------------------------------------ generate, eval, export
def _generate(cwd: Path, checkpoint: Path, *captions: str) -> subprocess.CompletedProcess:
    argv = ["attngan-generate", f"checkpoint={checkpoint}", f"captions=[{','.join(captions)}]"]
    return run_in_process([*argv, "output_dir=out", "device=cpu"], cwd, _env(cwd))


def test_generating_twice_into_one_directory_leaves_only_the_second_run(
    tmp_path: Path, tiny_attngan_checkpoint: Path
) -> None:
    first = _generate(tmp_path, tiny_attngan_checkpoint, "a red circle", "a blue square", "a green circle")
    assert first.returncode == 0, first.stderr[-3000:]
    second = _generate(tmp_path, tiny_attngan_checkpoint, "a small red square")
    assert second.returncode == 0, second.stderr[-3000:]
    manifest = json.loads((tmp_path / "out" / "generated.json").read_text())
    listed = {
        name for record in manifest["captions"] for name in [*record["images"], record["attention_figure"]]
    }
    assert (
        {p.name for p in (tmp_path / "out").glob("*.png")}
        == listed
        == {
            "000_a_small_red_square.png",
            "000_a_small_red_square_attention.png",
        }
    )
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".attngan-partial")]


def test_export_finds_the_evaluation_of_the_readme(tmp_path: Path, tiny_attngan_checkpoint: Path) -> None:
    """`attngan-eval ... output_dir=eval/shapes`, then `attngan-export format=hf`: the card has the numbers."""
    cache = f"paths.cache_dir={tiny_attngan_checkpoint.parent.parent / 'shared-cache'}"
    export = ["attngan-export", f"checkpoint={tiny_attngan_checkpoint}", "format=hf"]
    unevaluated = run_in_process([*export, "output=model0"], tmp_path, _env(tmp_path))
    assert unevaluated.returncode == 0, unevaluated.stderr[-3000:]
    assert "evaluation=<an attngan-eval output_dir>" in unevaluated.stdout + unevaluated.stderr  # the key
    evaluate = ["attngan-eval", f"checkpoint={tiny_attngan_checkpoint}", cache, "data.num_images=240"]
    evaluate += ["num_images=48", "batch_size=16", "device=cpu", "metrics.names=[r_precision]"]
    evaluate += ["metrics.num_candidates=10", "metrics.num_folds=2", "output_dir=eval/shapes"]
    evaluated = run_in_process(evaluate, tmp_path, _env(tmp_path))
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    done = run_in_process([*export, "output=model"], tmp_path, _env(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    card = (tmp_path / "model" / "README.md").read_text()
    assert "not evaluated" not in card and "R-precision" in card
