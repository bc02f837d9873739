"""What the ranks of a multi-process training run report: :class:`RankProbe`, a callback named by its target
(``helpers.ranks.RankProbe``, importable in the ranks with ``tests/`` on ``PYTHONPATH``), and reading it back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


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
        "+callbacks.probe._target_=helpers.ranks.RankProbe",
        f"+callbacks.probe.out_dir={out_dir}",
        f"+callbacks.probe.prefixes=[{','.join(prefixes)}]",
    ]


def read_ranks(out_dir: Path) -> list[dict[str, Any]]:
    reports = [json.loads(p.read_text()) for p in sorted(out_dir.glob("rank*.json"))]
    assert [r["rank"] for r in reports] == [0, 1], f"expected reports of ranks 0 and 1, found {reports}"
    return reports
