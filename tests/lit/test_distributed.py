"""Distributed training on CPU: 2 processes (gloo) started by ``attngan-train ... trainer=ddp``.

Each rank writes a fingerprint of its networks at the end of ``fit`` (:class:`RankProbe`, injected as an extra
callback); the ranks must agree exactly. Also: the multirun + DDP guard, resuming (``ckpt_path=auto``) and
``trainer.deterministic=true`` runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from helpers.cli import run_in_process
from helpers.training import TINY_ATTNGAN, TINY_DAMSM, TINY_DATA, run_train

TESTS = Path(__file__).resolve().parent  # importable in the ranks: RankProbe is named by its target
HELPERS_ROOT = TESTS.parent  # tests/: `helpers` (imported by this module) for the ranks too
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
    "callbacks.evaluation.num_images=16",  # the evaluation callback's val/ metrics, quickly
]


# ------------------------------------------------------------------------------------------ rank probe
def fingerprint(state: dict[str, torch.Tensor], prefix: str) -> str:
    """A hash of every tensor of ``state`` whose name starts with ``prefix`` (names included)."""
    digest = hashlib.sha256()
    keys = sorted(k for k in state if k.startswith(prefix))
    assert keys, f"no tensors under {prefix!r}"
    for key in keys:
        digest.update(key.encode())
        digest.update(state[key].detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class RankProbe(Callback):
    """Writes ``<out_dir>/rank<r>.json``: network fingerprints at the start and end of fit, keys seen."""

    def __init__(self, out_dir: str, prefixes: list[str]) -> None:
        self.out_dir = Path(out_dir)
        self.prefixes = list(prefixes)
        self.start: dict[str, str] = {}
        self.keys: list[str] = []

    def _fingerprints(self, pl_module: LightningModule) -> dict[str, str]:
        state = pl_module.state_dict()
        return {prefix: fingerprint(state, prefix) for prefix in self.prefixes}

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.start = self._fingerprints(pl_module)

    def on_train_batch_start(
        self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self.keys += list(batch["keys"])

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        report = {
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
            "strategy": type(trainer.strategy).__name__,
            "start": self.start,
            "end": self._fingerprints(pl_module),
            "keys": self.keys,
        }
        (self.out_dir / f"rank{trainer.global_rank}.json").write_text(json.dumps(report))


def probe_overrides(out_dir: Path, prefixes: list[str]) -> list[str]:
    return [
        "+callbacks.probe._target_=test_distributed.RankProbe",
        f"+callbacks.probe.out_dir={out_dir}",
        f"+callbacks.probe.prefixes=[{','.join(prefixes)}]",
    ]


def run_cli(
    tmp_path: Path, shared_cache: Path, *overrides: str, timeout: float = 300
) -> subprocess.CompletedProcess:
    """``attngan-train`` as a user runs it, in ``tmp_path`` (one thread per rank: 2 ranks on 2 cores)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(TESTS), str(HELPERS_ROOT), os.environ.get("PYTHONPATH")])
        ),
        "OMP_NUM_THREADS": "1",
        "ATTNGAN_CACHE": str(shared_cache),
    }
    env.pop("WANDB_MODE", None)
    flags = [o for o in overrides if o.startswith("-")]  # -m must come before the overrides
    rest = [o for o in overrides if not o.startswith("-")]
    command = [sys.executable, str(TRAIN), *flags, f"paths.root_dir={tmp_path}", *rest]
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout)


def read_ranks(out_dir: Path) -> list[dict[str, Any]]:
    reports = [json.loads(p.read_text()) for p in sorted(out_dir.glob("rank*.json"))]
    assert [r["rank"] for r in reports] == [0, 1], f"expected reports of ranks 0 and 1, found {reports}"
    return reports


def shared_cache_of(checkpoint: Path) -> Path:
    return (
        checkpoint.parent.parent / "shared-cache"
    )  # where training.compose_train keeps the generated shapes data


# ------------------------------------------------------------------------------------------ DDP runs
ATTNGAN_PREFIXES = ["generator.", "generator_ema.", "discriminators.", "text_encoder.", "image_encoder."]


@pytest.fixture(scope="module")
def attngan_ddp_then_requeued(tmp_path_factory: pytest.TempPathFactory, tiny_damsm_checkpoint: Path) -> dict:
    """One AttnGAN DDP run shared by two tests (each 2-rank run costs tens of seconds on 2 cores).

    1. ``attngan-train ... trainer=ddp`` as a user starts it: Lightning re-launches the command line for rank 1.
       What it left (rank reports, run directory, checkpoint fingerprint, samples, CSV) is recorded here,
       before step 2 adds to it.
    2. The same job started again by SLURM after a requeue (both ranks started outside Lightning, with
       SLURM's variables and ``SLURM_RESTART_COUNT=1``), as a ``-m`` sweep whose one job folder is that run
       directory, with a later ``trainer.max_epochs``: it must resume from the checkpoint of step 1.
    """
    tmp_path = tmp_path_factory.mktemp("attngan_ddp")
    probe_dir = tmp_path / "probe"
    done = run_cli(
        tmp_path,
        shared_cache_of(tiny_damsm_checkpoint),
        *TINY_ATTNGAN,
        *TINY_DATA,
        *DDP_TRAINER,
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.lambda_damsm=5",
        *probe_overrides(probe_dir, ATTNGAN_PREFIXES),
    )
    first: dict[str, Any] = {"returncode": done.returncode, "stderr": done.stderr, "tmp_path": tmp_path}
    if done.returncode != 0:
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
            tiny_damsm_checkpoint,
            max_epochs,
            "-m",
            # every rank must agree (a ${now} directory could differ); the job's folder is the run of step 1
            f"hydra.sweep.dir={run_dir.parent}",
            f"hydra.sweep.subdir={run_dir.name}",
            "model.lambda_damsm=5",
        )

    requeued = launch_as_slurm(tmp_path, tiny_damsm_checkpoint, "requeued", [job(2), job(2)], restart_count=1)
    return {"first": first, "requeued": requeued, "run_dir": run_dir}


@pytest.mark.slow
def test_attngan_ddp_two_cpu_processes(attngan_ddp_then_requeued: dict) -> None:
    first = attngan_ddp_then_requeued.get("first", attngan_ddp_then_requeued)
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
def test_damsm_ddp_averages_gradients(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    """The DAMSM uses automatic optimisation: GANDDPStrategy averages its gradients before clipping."""
    probe_dir = tmp_path / "probe"
    done = run_cli(
        tmp_path,
        shared_cache_of(tiny_damsm_checkpoint),
        *TINY_DAMSM,
        *TINY_DATA,
        *DDP_TRAINER,
        "logger=none",
        *probe_overrides(probe_dir, ["text_encoder.", "image_encoder."]),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    ranks = read_ranks(probe_dir)
    assert ranks[0]["end"] == ranks[1]["end"]
    assert ranks[0]["end"]["text_encoder."] != ranks[0]["start"]["text_encoder."]
    assert not set(ranks[0]["keys"]) & set(ranks[1]["keys"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def launch_as_slurm(
    tmp_path: Path, damsm: Path, name: str, overrides: list[list[str]], restart_count: int = 0
) -> list[tuple[int, str]]:
    """What ``srun`` (or the submitit launcher) does, simulated: one local process per rank with SLURM's
    variables, ``overrides[rank]`` as its command line. Returns ``(exit code, output)`` per rank."""
    port = free_port()
    processes = []
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
        log = (tmp_path / f"{name}_rank{rank}.log").open("w")
        processes.append((subprocess.Popen(command, cwd=tmp_path, env=env, stdout=log, stderr=log), log))
    results = []
    for process, log in processes:
        try:
            process.wait(timeout=300)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
        results.append((process.returncode, Path(log.name).read_text()))
    return results


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
def test_slurm_started_ranks_run_a_sweep_and_resume_after_requeue(attngan_ddp_then_requeued: dict) -> None:
    """Ranks started by SLURM: a ``-m`` sweep is allowed (nothing re-launches it), and the job started again
    after a requeue (SLURM_RESTART_COUNT > 0) resumes from its last checkpoint in the same job directory
    (here the directory of the DDP run of :func:`attngan_ddp_then_requeued`, which trained epoch 0)."""
    first = attngan_ddp_then_requeued.get("first", attngan_ddp_then_requeued)
    assert first["returncode"] == 0, first["stderr"][-4000:]
    assert first["checkpoint_epoch"] == 0
    requeued = attngan_ddp_then_requeued["requeued"]
    for code, output in requeued:
        assert code == 0, output[-4000:]
    assert "requeued SLURM job: resuming from" in requeued[0][1]
    run_dir = attngan_ddp_then_requeued["run_dir"]
    jobs = [p.parent.parent for p in run_dir.parent.rglob(".hydra/overrides.yaml")]
    assert jobs == [run_dir]
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert checkpoint["epoch"] == 1
    # 2 steps per epoch: the second epoch ran on top of the first
    assert checkpoint["attngan"]["generator_step"] == 4


@pytest.mark.slow
def test_ranks_with_different_run_directories_stop(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    results = launch_as_slurm(
        tmp_path,
        tiny_damsm_checkpoint,
        "split",
        [slurm_job(tiny_damsm_checkpoint, 1, f"hydra.run.dir={tmp_path}/run_{rank}") for rank in (0, 1)],
    )
    for code, output in results:
        assert code == 2, output[-3000:]
        assert "error: the ranks of this job use different run directories" in output
    assert not list(tmp_path.rglob("last.ckpt"))


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


# ------------------------------------------------------------------------------------------ resume, determinism
def test_resolve_ckpt_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attngan.lit.strategy import resolve_ckpt_path

    monkeypatch.delenv("SLURM_RESTART_COUNT", raising=False)
    assert resolve_ckpt_path(None, tmp_path) is None
    assert resolve_ckpt_path("auto", tmp_path) is None  # nothing to resume yet: a fresh start
    assert resolve_ckpt_path("some/where.ckpt", tmp_path) == "some/where.ckpt"
    last = tmp_path / "checkpoints" / "last.ckpt"
    last.parent.mkdir()
    last.write_bytes(b"x")
    assert resolve_ckpt_path("auto", tmp_path) == str(last)
    assert resolve_ckpt_path(None, tmp_path) is None  # not requeued: a new run never resumes by itself
    monkeypatch.setenv("SLURM_RESTART_COUNT", "1")
    assert resolve_ckpt_path(None, tmp_path) == str(last)  # a requeued SLURM job carries on
    hpc = tmp_path / "hpc_ckpt_3.ckpt"  # Lightning's own SLURM requeue checkpoint, newer
    hpc.write_bytes(b"x")
    os.utime(last, (1, 1))
    assert resolve_ckpt_path(None, tmp_path) == str(hpc)


TINY_RUN = [
    "trainer.limit_val_batches=1",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def test_ckpt_path_auto_resumes_in_the_run_directory(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    common = [
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_RUN,
        "trainer.accelerator=cpu",
        "trainer.limit_train_batches=1",
        "logger=none",
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "ckpt_path=auto",
    ]
    run_train(tmp_path, *common, "trainer.max_epochs=1")
    first = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert first["epoch"] == 0
    run_train(tmp_path, *common, "trainer.max_epochs=2")
    second = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert second["epoch"] == 1
    assert second["attngan"]["generator_step"] == 2  # one step per epoch: the second run continued the first


def test_seed_and_deterministic_give_identical_runs(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    states = []
    for name in ("a", "b"):
        run_train(
            tmp_path / name,
            *TINY_ATTNGAN,
            *TINY_DATA,
            *TINY_RUN,
            "trainer.accelerator=cpu",
            "trainer.max_epochs=1",
            "trainer.limit_train_batches=2",
            "trainer.deterministic=true",
            "data.num_workers=1",
            "logger=none",
            "seed=7",
            f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        )
        checkpoint = torch.load(
            tmp_path / name / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
        )
        states.append(checkpoint["state_dict"])
    for prefix in ("generator.", "generator_ema.", "discriminators."):
        assert fingerprint(states[0], prefix) == fingerprint(states[1], prefix), prefix
