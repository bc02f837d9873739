"""Test helpers for the Lightning side: a logger that records, and fault-injection overrides."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.loggers import Logger


class RecordingLogger(Logger):
    """Keeps every ``log_metrics`` call as ``(step, metrics)``; add it with
    ``+logger.record._target_=helpers.lit.RecordingLogger`` and read it back as ``trainer.loggers[0]``."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[int | None, dict[str, float]]] = []
        self.hyperparams: list[Any] = []

    @property
    def name(self) -> str:
        return "record"

    @property
    def version(self) -> str:
        return "0"

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        self.records.append((step, dict(metrics)))

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        self.hyperparams.append(params)


def nonfinite_loss(term: str, at_step: int) -> list[str]:
    """Overrides adding :class:`attngan.lit.faults.NonFiniteLoss`: ``term`` becomes NaN at ``at_step``."""
    return [
        "+callbacks.fault._target_=attngan.lit.faults.NonFiniteLoss",
        f"+callbacks.fault.term={term}",
        f"+callbacks.fault.at_step={at_step}",
    ]
