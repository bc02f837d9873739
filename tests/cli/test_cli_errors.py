"""Every user mistake a console script can meet is one line on stderr naming the culprit and the fix, exit code 2.

Most cases call the console script's ``main()`` in-process (``sys.argv`` as the script would see it, stderr
captured, ``SystemExit`` caught): starting Python and torch for each would cost seconds per case. The cases marked
``subprocess=True`` run as subprocesses of the installed console scripts (``.venv/bin/attngan-*``, as a user runs
them), started at once and awaited together: they prove the console-script wiring, that nothing else (warnings,
logging) reaches stderr, and the process's exit code. Every console script of ``pyproject.toml`` must resolve to
its ``main``. Each case runs in its own empty directory with its own cache, so a case that prepared data before
refusing would leave files behind: the tests check that it did not.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers.cli import BIN, console_scripts, run_in_process


@dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    named: tuple[str, ...]  # every string must be in the one line
    absent: tuple[str, ...] = ()
    code: int = 2
    subprocess: bool = False  # run as the installed console script (see the module docstring)


def _file(tmp: Path) -> str:
    path = tmp / "some.ckpt"
    path.write_bytes(b"not used: the run stops before reading it")
    return str(path)


CASES = {
    "generate_without_checkpoint": Case(
        ("attngan-generate", "captions=[a red circle]"),
        ("checkpoint is not set", "attngan-generate checkpoint="),
        subprocess=True,
    ),
    "eval_without_arguments": Case(("attngan-eval",), ("checkpoint is not set", "attngan-eval checkpoint=")),
    "import_original_without_captions": Case(
        ("attngan-import-original", "text_encoder=t.pth", "output=o.ckpt"),
        ("captions is not set", "attngan-import-original captions="),
    ),
    "sweep_with_cfg_job": Case(
        ("attngan-train", "-m", "experiment=shapes_attngan", "--cfg", "job"), ("-m", "--cfg", "drop -m")
    ),
    "experiment_key_the_dataset_does_not_take": Case(
        ("attngan-train", "experiment=shapes_attngan", "data=folder", "data.root=DIR"),
        ("data.num_images", "experiment=shapes_attngan", "data=folder", "~data.num_images"),
    ),
    "gpu_without_gpu": Case(
        ("attngan-train", "experiment=shapes_attngan", "trainer=gpu", "model.damsm_checkpoint={file}"),
        (
            "trainer.accelerator=gpu",
            "no CUDA or MPS device is visible",
            "trainer=cpu",
            "trainer.accelerator=auto",
        ),
    ),
    "slurm_without_plugin": Case(
        ("attngan-train", "hydra/launcher=slurm", "--cfg", "job"),
        ("submitit", "pip install 'attngan[slurm]'"),
    ),
    "mistyped_key": Case(
        ("attngan-train", "experiment=shapes_attngan", "model.lambda_dams=1"),
        ("model.lambda_dams", "did you mean model.lambda_damsm?"),
        absent=("+model.lambda_dams",),
        subprocess=True,
    ),
    "mistyped_added_key": Case(
        (
            "attngan-train",
            "experiment=shapes_attngan",
            "+model.lambda_dams=1",
            "model.damsm_checkpoint={file}",
        ),
        ("model.lambda_dams", "did you mean model.lambda_damsm?", "AttnGANModule"),
    ),
    "bare_train_needs_a_damsm": Case(
        ("attngan-train",), ("model.damsm_checkpoint is not set", "attngan-train experiment=shapes_damsm")
    ),
    "damsm_checkpoint_is_a_directory": Case(
        ("attngan-train", "experiment=shapes_attngan", "model.damsm_checkpoint={dir}"),
        ("model.damsm_checkpoint", "is a directory"),
    ),
    "unknown_experiment": Case(
        ("attngan-train", "experiment=shapes_attngn"), ("experiment=shapes_attngn", "shapes_attngan")
    ),
    "doctor_unknown_experiment": Case(
        ("attngan-doctor", "experiment=nope"), ("experiment=nope", "shapes_damsm")
    ),
}


def _skip_reason(name: str) -> str | None:
    if (
        name == "slurm_without_plugin"
        and importlib.util.find_spec("hydra_plugins")
        and importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher")
    ):
        return "hydra-submitit-launcher is installed here"
    if name == "gpu_without_gpu":
        import torch

        if torch.cuda.is_available() or (torch.backends.mps.is_available()):
            return "this machine has a GPU"
    return None


HELP = {
    "attngan-generate": (
        "checkpoint",
        "captions_file",
        "num_images_per_caption",
        "attngan-generate checkpoint=",
    ),
    "attngan-eval": ("checkpoint", "num_images", "attngan-eval checkpoint=", "data "),
    "attngan-import-original": ("captions", "text_encoder", "output", "attngan-import-original captions="),
    "attngan-train": ("experiment", "shapes_attngan", "ckpt_path", "attngan-train experiment="),
}
DOCTOR = {
    "doctor_ready": ("experiment=shapes_damsm",),
    "doctor_lacking": ("experiment=shapes_attngan", "data.root={dir}/nowhere"),
}


ENTRY_POINTS = console_scripts()


def _env(cwd: Path) -> dict[str, str]:
    """The variables every case runs with (a cache of its own; no debugging, so no tracebacks)."""
    return {"ATTNGAN_CACHE": str(cwd / "cache"), "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline"}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Run every command of this file; ``name -> (finished process, its working directory)``.

    The ``subprocess=True`` cases are started first, all at once; the in-process ones run while they start.
    """
    commands = {name: case.argv for name, case in CASES.items() if not _skip_reason(name)}
    commands.update({f"help_{prog}": (prog, "--help") for prog in HELP})
    commands.update({name: ("attngan-doctor", *argv) for name, argv in DOCTOR.items()})
    prepared = {}
    for name, command in commands.items():
        cwd = tmp_path_factory.mktemp(name)
        (cwd / "a_dir").mkdir()
        prepared[name] = ([a.format(file=_file(cwd), dir=cwd / "a_dir") for a in command], cwd)
    running = {}
    for name, (argv, cwd) in prepared.items():
        if name in CASES and CASES[name].subprocess:
            env = {**os.environ, **_env(cwd)}
            env.pop("ATTNGAN_DEBUG", None)
            env.pop("HYDRA_FULL_ERROR", None)
            command = [str(BIN / argv[0]), *argv[1:]]
            process = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            running[name] = (process, command, cwd)
    done = {
        name: (run_in_process(argv, cwd, _env(cwd)), cwd)
        for name, (argv, cwd) in prepared.items()
        if name not in running
    }
    for name, (process, command, cwd) in running.items():
        out, err = process.communicate(timeout=300)
        done[name] = (subprocess.CompletedProcess(command, process.returncode, out, err), cwd)
    return done


def test_some_cases_run_as_installed_console_scripts() -> None:
    """At least a training and a generation case prove the installed wiring, stderr and exit code."""
    assert {CASES[n].argv[0] for n in CASES if CASES[n].subprocess} >= {"attngan-train", "attngan-generate"}


@pytest.mark.parametrize("script", sorted(ep for ep in ENTRY_POINTS if ep.startswith("attngan-")))
def test_every_console_script_resolves_to_its_main(script: str) -> None:
    assert (BIN / script).exists(), f"{script} is not installed in {BIN}: pip install -e ."
    entry = ENTRY_POINTS[script]
    assert entry.value == f"{entry.module}:main" and callable(entry.load()), entry.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_user_mistake_is_one_line_naming_the_culprit(name: str, results) -> None:
    reason = _skip_reason(name)
    if reason:
        pytest.skip(reason)
    case = CASES[name]
    proc, cwd = results[name]
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == case.code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    prog = Path(proc.args[0]).name
    assert lines[0].startswith(f"{prog}: error: ")
    for text in case.named:
        assert text in lines[0], lines[0]
    for text in case.absent:
        assert text not in lines[0], lines[0]
    # refused before any data preparation or run directory
    assert not (cwd / "cache").exists() and not (cwd / "outputs").exists()


@pytest.mark.parametrize("prog", sorted(HELP))
def test_help_shows_the_commands_own_keys_and_examples(prog: str, results) -> None:
    proc, _ = results[f"help_{prog}"]
    assert proc.returncode == 0, proc.stderr
    assert "powered by Hydra" not in proc.stdout
    for key in HELP[prog]:
        assert key in proc.stdout, key
    if prog != "attngan-train":  # not the training groups
        assert "trainer" not in proc.stdout and "experiment" not in proc.stdout


# --------------------------------------------------------------------------------------------- attngan-doctor
def test_doctor_reports_the_environment_and_what_an_experiment_lacks(results) -> None:
    ready, cwd = results["doctor_ready"]
    assert ready.returncode == 0, ready.stdout + ready.stderr
    for fact in (
        "torch",
        "CUDA",
        "MPS",
        "bf16",
        "free disk",
        "WANDB_MODE=offline",
        "inception_v3_google-0cc3c7bd.pth",
        "weights-inception-2015-12-05-6726825d.pth",
    ):
        assert fact in ready.stdout, fact
    assert "shapes_damsm  ready" in ready.stdout and "Traceback" not in ready.stderr
    lacking, cwd = results["doctor_lacking"]
    assert lacking.returncode == 1, lacking.stdout + lacking.stderr
    assert "cannot run" in lacking.stdout and "Traceback" not in lacking.stderr
    assert (
        "attngan-train experiment=shapes_damsm" in lacking.stdout
    )  # the fix for the missing DAMSM checkpoint
    assert f"{cwd / 'a_dir' / 'nowhere'} not found" in lacking.stdout  # the missing data, with its path
    assert not (cwd / "cache").exists()  # the doctor writes nothing


def test_doctor_finds_an_incomplete_dataset(tmp_path: Path) -> None:
    from attngan.cli.doctor import data_problem

    root = tmp_path / "birds"
    (root / "text").mkdir(parents=True)
    problem = data_problem({"name": "cub", "root": str(root)})
    assert problem and "incomplete" in problem and "train/filenames.pickle" in problem
    assert "attngan-data check data=cub" in problem
    assert data_problem({"name": "shapes", "root": None}) is None  # generated on first use
