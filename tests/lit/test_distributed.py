"""Distributed training on CPU: 2 processes (gloo) started by ``attngan-train ... trainer=ddp``.

Each rank writes a fingerprint of its networks at the end of ``fit`` (:class:`helpers.ranks.RankProbe`, injected
as an extra callback); the ranks must agree exactly. Also: ranks started by SLURM (a requeued job resumes; ranks
that disagree on the run directory stop) and the multirun + DDP guard. The multi-process runs overlap
(:func:`ddp_runs`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from helpers.cli import run_in_process
from helpers.ranks import fingerprint, probe_overrides, read_ranks
from helpers.training import TINY_ATTNGAN, TINY_DAMSM, TINY_DATA

HELPERS_ROOT = Path(__file__).resolve().parents[1]  # tests/: `helpers` (the rank probe) for the ranks too
TRAIN = Path(sys.executable).parent / "attngan-train"

# TINY_TRAINER without logger=none (the CSV logger shows what rank 0 logged), on 2 CPU processes
DDP_TRAINER = [
    "trainer=ddp",
    "trainer.accelerator=cpu",
    "trainer.devices=2",
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.log_every_n_steps=1",  # Lightning writes the losses to the CSV every N batches
    "callbacks.evaluation.num_images=16",  # the evaluation callback's val/ metrics, quickly
]


def start_cli(tmp_path: Path, shared_cache: Path, *overrides: str) -> Launched:
    """``attngan-train`` as a user runs it, in ``tmp_path`` (one thread per rank), started in the background;
    its output goes to ``tmp_path/train.log`` (a pipe nobody reads while other runs are awaited could fill)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HELPERS_ROOT), os.environ.get("PYTHONPATH")])),
        "OMP_NUM_THREADS": "1",
        "ATTNGAN_CACHE": str(shared_cache),
    }
    env.pop("WANDB_MODE", None)
    flags = [o for o in overrides if o.startswith("-")]  # -m must come before the overrides
    rest = [o for o in overrides if not o.startswith("-")]
    command = [sys.executable, str(TRAIN), *flags, f"paths.root_dir={tmp_path}", *rest]
    return Launched.start(command, tmp_path, env, tmp_path / "train.log")


@dataclass
class Launched:
    """A started process whose output (stdout and stderr together) goes to a log file."""

    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> Launched:
        with log.open("w") as handle:
            return cls(subprocess.Popen(command, cwd=cwd, env=env, stdout=handle, stderr=handle), log)

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        """Wait (killing it after ``timeout`` s); ``(exit code, output)``."""
        try:
            self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.returncode, self.log.read_text()


def shared_cache_of(checkpoint: Path) -> Path:
    """Where ``helpers.training.compose_train`` kept the generated shapes data of ``checkpoint``'s run."""
    return checkpoint.parent.parent / "shared-cache"


# ------------------------------------------------------------------------------------------ DDP runs
ATTNGAN_PREFIXES = ["generator.", "generator_ema.", "discriminators.", "text_encoder.", "image_encoder."]


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory: pytest.TempPathFactory, tiny_damsm_checkpoint: Path) -> dict[str, Any]:
    """Every multi-process run of this file, overlapped: each 2-rank run costs tens of seconds on 2 cores,
    and while one rank starts Python and torch (Lightning re-launches rank 1 only once rank 0 is set up), the
    other core would wait. Their processes share nothing but the read-only shapes data and DAMSM.

    - ``"attngan"`` (:func:`attngan_then_requeued`): an AttnGAN DDP run, then the same job requeued by SLURM;
    - ``"damsm"``: a DAMSM DDP run (``attngan-train ... trainer=ddp``), started with the first;
    - ``"split"``: two SLURM-started ranks given different run directories, started with the requeued job
      once the DAMSM run has ended (never more than two 2-rank runs at once: each rank holds ~0.7 GB).
    """
    cache = shared_cache_of(tiny_damsm_checkpoint)
    damsm_dir = tmp_path_factory.mktemp("damsm_ddp")
    damsm = start_cli(
        damsm_dir,
        cache,
        *TINY_DAMSM,
        *TINY_DATA,
        *DDP_TRAINER,
        "logger=none",
        *probe_overrides(damsm_dir / "probe", ["text_encoder.", "image_encoder."]),
    )
    split_dir = tmp_path_factory.mktemp("split_run_dirs")
    split: list[Launched] = []
    damsm_done: list[tuple[int, str]] = []

    def start_split() -> None:  # at most two 2-rank runs at a time (memory): the DAMSM run ends first
        damsm_done.append(damsm.finish())
        split.extend(
            start_as_slurm(
                split_dir,
                tiny_damsm_checkpoint,
                "split",
                [
                    slurm_job(tiny_damsm_checkpoint, 1, f"hydra.run.dir={split_dir}/run_{rank}")
                    for rank in (0, 1)
                ],
            )
        )

    try:
        attngan = attngan_then_requeued(
            tmp_path_factory.mktemp("attngan_ddp"), tiny_damsm_checkpoint, start_split
        )
    finally:
        if not split:  # the AttnGAN run failed before its requeue
            start_split()
        split_results = [rank.finish() for rank in split]
    damsm_code, damsm_output = damsm_done[0]
    return {
        "attngan": attngan,
        "damsm": {"returncode": damsm_code, "output": damsm_output, "probe": damsm_dir / "probe"},
        "split": {"results": split_results, "tmp_path": split_dir},
    }


def attngan_then_requeued(tmp_path: Path, damsm: Path, before_requeue: Callable[[], None]) -> dict:
    """One AttnGAN DDP run shared by two tests.

    1. ``attngan-train ... trainer=ddp`` as a user starts it: Lightning re-launches the command line for rank 1.
       What it left (rank reports, run directory, checkpoint fingerprint, samples, CSV) is recorded here,
       before step 2 adds to it.
    2. The same job started again by SLURM after a requeue (both ranks started outside Lightning, with
       SLURM's variables and ``SLURM_RESTART_COUNT=1``), as a ``-m`` sweep whose one job folder is that run
       directory, with a later ``trainer.max_epochs``: it must resume from the checkpoint of step 1.
       ``before_requeue()`` is called first (it starts other runs that overlap this one).
    """
    probe_dir = tmp_path / "probe"
    returncode, output = start_cli(
        tmp_path,
        shared_cache_of(damsm),
        *TINY_ATTNGAN,
        *TINY_DATA,
        *DDP_TRAINER,
        f"model.damsm_checkpoint={damsm}",
        "model.lambda_damsm=5",
        *probe_overrides(probe_dir, ATTNGAN_PREFIXES),
    ).finish()
    first: dict[str, Any] = {"returncode": returncode, "stderr": output, "tmp_path": tmp_path}
    if returncode != 0:
        return first
    first["ranks"] = read_ranks(probe_dir)
    run_dirs = [p for p in (tmp_path / "outputs" / "shapes_attngan").iterdir() if p.is_dir()]
    first["run_dirs"] = run_dirs
    if len(run_dirs) != 1:
        return first
    run_dir = run_dirs[0]
    first["hydra_config"] = (run_dir / ".hydra" / "config.yaml").exists()
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    first["checkpoint_ema"] = fingerprint(checkpoint["state_dict"], "generator_ema.")
    first["checkpoint_epoch"] = checkpoint["epoch"]
    first["samples"] = sorted(p.name for p in (run_dir / "samples").iterdir())
    first["metrics"] = (run_dir / "csv" / "metrics.csv").read_text()

    def job(max_epochs: int) -> list[str]:
        return slurm_job(
            damsm,
            max_epochs,
            "-m",
            # every rank must agree (a ${now} directory could differ); the job's folder is the run of step 1
            f"hydra.sweep.dir={run_dir.parent}",
            f"hydra.sweep.subdir={run_dir.name}",
            "model.lambda_damsm=5",
        )

    before_requeue()
    ranks = start_as_slurm(tmp_path, damsm, "requeued", [job(2), job(2)], restart_count=1)
    requeued = [rank.finish() for rank in ranks]
    return {"first": first, "requeued": requeued, "run_dir": run_dir}


@pytest.mark.slow
def test_attngan_ddp_two_cpu_processes(ddp_runs: dict) -> None:
    first = ddp_runs["attngan"].get("first", ddp_runs["attngan"])
    assert first["returncode"] == 0, first["stderr"][-4000:]
    ranks = first["ranks"]
    assert all(r["world_size"] == 2 and r["strategy"] == "GANDDPStrategy" for r in ranks)

    # every network identical on both ranks after training: parameters, BatchNorm buffers and the EMA
    assert ranks[0]["end"] == ranks[1]["end"]
    assert ranks[0]["start"] == ranks[1]["start"]  # rank 0's initial weights were broadcast
    # G, D and the EMA moved; the frozen DAMSM encoders did not
    for prefix in ("generator.", "generator_ema.", "discriminators."):
        assert ranks[0]["end"][prefix] != ranks[0]["start"][prefix], prefix
    for prefix in ("text_encoder.", "image_encoder."):
        assert ranks[0]["end"][prefix] == ranks[0]["start"][prefix], prefix
    # DistributedSampler: each rank trained on its own samples
    assert ranks[0]["keys"] and ranks[1]["keys"]
    assert not set(ranks[0]["keys"]) & set(ranks[1]["keys"])

    # one Hydra run directory; only rank 0 wrote the checkpoint, samples and metrics
    assert len(first["run_dirs"]) == 1, first["run_dirs"]
    assert first["hydra_config"]
    assert first["checkpoint_ema"] == ranks[0]["end"]["generator_ema."]
    assert first["checkpoint_epoch"] == 0
    assert first["samples"] == ["epoch_0000"]
    assert "train/g_loss" in first["metrics"]


@pytest.mark.slow
def test_damsm_ddp_averages_gradients(ddp_runs: dict) -> None:
    """The DAMSM uses automatic optimisation: GANDDPStrategy averages its gradients before clipping."""
    done = ddp_runs["damsm"]
    assert done["returncode"] == 0, done["output"][-4000:]
    ranks = read_ranks(done["probe"])
    assert ranks[0]["end"] == ranks[1]["end"]
    assert ranks[0]["end"]["text_encoder."] != ranks[0]["start"]["text_encoder."]
    assert not set(ranks[0]["keys"]) & set(ranks[1]["keys"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_as_slurm(
    tmp_path: Path, damsm: Path, name: str, overrides: list[list[str]], restart_count: int = 0
) -> list[Launched]:
    """What ``srun`` (or the submitit launcher) does, simulated: one local process per rank with SLURM's
    variables, ``overrides[rank]`` as its command line, started in the background (``.finish()`` each)."""
    port = free_port()
    ranks = []
    for rank, rank_overrides in enumerate(overrides):
        env = {
            **os.environ,
            "OMP_NUM_THREADS": "1",
            "ATTNGAN_CACHE": str(shared_cache_of(damsm)),
            "SLURM_NTASKS": str(len(overrides)),
            "SLURM_NTASKS_PER_NODE": str(len(overrides)),
            "SLURM_PROCID": str(rank),
            "SLURM_LOCALID": str(rank),
            "SLURM_NODEID": "0",
            "SLURM_JOB_NAME": "attngan",
            "SLURM_JOB_ID": "4242",
            "SLURM_NODELIST": "localhost",
            "SLURM_RESTART_COUNT": str(restart_count),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
        }
        flags = [o for o in rank_overrides if o.startswith("-")]
        rest = [o for o in rank_overrides if not o.startswith("-")]
        command = [sys.executable, str(TRAIN), *flags, f"paths.root_dir={tmp_path}", *rest]
        ranks.append(Launched.start(command, tmp_path, env, tmp_path / f"{name}_rank{rank}.log"))
    return ranks


def slurm_job(damsm: Path, max_epochs: int, *extra: str) -> list[str]:
    return [
        *TINY_ATTNGAN,
        *TINY_DATA,
        *(o for o in DDP_TRAINER if not o.startswith("trainer.max_epochs=")),
        f"trainer.max_epochs={max_epochs}",
        "logger=none",
        f"model.damsm_checkpoint={damsm}",
        *extra,
    ]


@pytest.mark.slow
def test_slurm_started_ranks_run_a_sweep_and_resume_after_requeue(ddp_runs: dict) -> None:
    """Ranks started by SLURM: a ``-m`` sweep is allowed (nothing re-launches it), and the job started again
    after a requeue (SLURM_RESTART_COUNT > 0) resumes from its last checkpoint in the same job directory
    (here the directory of the DDP run of :func:`attngan_then_requeued`, which trained epoch 0)."""
    attngan = ddp_runs["attngan"]
    first = attngan.get("first", attngan)
    assert first["returncode"] == 0, first["stderr"][-4000:]
    assert first["checkpoint_epoch"] == 0
    requeued = attngan["requeued"]
    for code, output in requeued:
        assert code == 0, output[-4000:]
    assert "requeued SLURM job: resuming from" in requeued[0][1]
    run_dir = attngan["run_dir"]
    jobs = [p.parent.parent for p in run_dir.parent.rglob(".hydra/overrides.yaml")]
    assert jobs == [run_dir]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1
    # 2 steps per epoch: the second epoch ran on top of the first
    assert checkpoint["attngan"]["generator_step"] == 4


@pytest.mark.slow
def test_ranks_with_different_run_directories_stop(ddp_runs: dict) -> None:
    split = ddp_runs["split"]
    assert len(split["results"]) == 2
    for code, output in split["results"]:
        assert code == 2, output[-3000:]
        assert "error: the ranks of this job use different run directories" in output
    assert not list(split["tmp_path"].rglob("last.ckpt"))


def test_sweep_with_ddp_stops_before_training(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    """``-m`` with a re-launching DDP strategy is refused with one message, before any job trains.

    In-process (the guard runs in the sweep's first job, before Lightning launches anything)."""
    done = run_in_process(
        [
            "attngan-train",
            "-m",
            f"paths.root_dir={tmp_path}",
            *TINY_ATTNGAN,
            *TINY_DATA,
            *DDP_TRAINER,
            f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
            "model.lambda_damsm=1,5",
            "logger=none",
        ],
        tmp_path,
        {"ATTNGAN_CACHE": str(shared_cache_of(tiny_damsm_checkpoint))},
    )
    assert done.returncode == 2, done.stderr[-3000:]
    assert "attngan-train: error: a Hydra sweep (-m) cannot start DDP jobs" in done.stderr
    assert "trainer.devices=1" in done.stderr
    assert "Traceback" not in done.stderr
    assert not list(tmp_path.rglob("last.ckpt"))
