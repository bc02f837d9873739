"""Loading batches: the epoch sampler and the DataLoaders of the data module (mid-epoch resume, worker errors).

Randomness is reproducible and independent of the number of workers: the training sampler draws, in the
main process, an order and one seed per sample for each epoch (from ``(seed, epoch)``); a sample's caption
choice, word subset, crop and flip come from its own seed only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from attngan.data.dataset import SampleFailure


class EpochSampler(Sampler[tuple[int, int]]):
    """Yields ``(index, sample_seed)``; the order (shuffled or not) and the seeds depend on ``(seed, epoch)``.

    Lightning calls :meth:`set_epoch` before every epoch; without it, each new iteration moves to the next
    epoch by itself.

    Args:
        num_samples: size of the dataset.
        seed: the run's seed.
        shuffle: random order (training) or in order.
    """

    def __init__(self, num_samples: int, seed: int, shuffle: bool = True) -> None:
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.epoch = 0
        self._epoch_set = False

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self._epoch_set = True

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(self.num_samples) if self.shuffle else np.arange(self.num_samples)
        seeds = rng.integers(0, 2**62, size=self.num_samples)
        if not self._epoch_set:
            self.epoch += 1
        self._epoch_set = False
        return iter(zip(order.tolist(), seeds.tolist()))


class CaptionDataLoader(DataLoader):
    """A ``DataLoader`` that raises the user errors of its worker processes (bad files) as themselves.

    A :class:`~attngan.data.dataset.SampleFailure` batch from a worker is raised as the error it carries,
    so the console scripts report it as one message, as they do without workers.
    """

    _batches_done = 0  # batches delivered in the current epoch
    _resume_at = 0  # batches of the next epoch to skip (set by load_state_dict)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        skip, self._resume_at = self._resume_at, 0
        self._batches_done = 0
        return self._deliver(super().__iter__(), skip)

    def _deliver(self, batches: Iterator[Any], skip: int) -> Iterator[Any]:
        """The batches, counted; the first ``skip`` are replayed and dropped (so every random draw of a resumed
        epoch stays in place)."""
        for number, batch in enumerate(batches):
            if isinstance(batch, SampleFailure):  # a bad file met in a worker process: its own error, here
                raise batch.error()
            self._batches_done += 1
            if number >= skip:
                yield batch


class ResumableDataLoader(CaptionDataLoader):
    """The training loader: its place in the epoch is part of Lightning checkpoints (exact mid-epoch resume).

    Lightning's fit loop saves :meth:`state_dict` of a stateful training loader in every checkpoint and, when it
    resumes in the middle of an epoch, hands it back through :meth:`load_state_dict` before starting the rest
    of that epoch. The loader then replays the batches the interrupted run had already trained on and delivers
    the next one: the order and every random draw (caption, word subset, crop, flip) come from
    ``(seed, epoch)`` and each sample's own seed (:class:`EpochSampler`), so the resumed epoch is the
    interrupted one. The batches delivered are the batches trained on, because Lightning fetches the batches of
    a loader with a length one at a time (no pre-fetching); the exact-resume test checks this.
    """

    def state_dict(self) -> dict[str, int]:
        return {"batches_done": int(self._batches_done)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._resume_at = int(state_dict.get("batches_done", 0))


def seed_worker(worker_id: int) -> None:
    """Seed numpy's and Python's global generators in a DataLoader worker from its torch seed.

    Our own randomness does not use them (see :class:`EpochSampler`), but third-party transforms might.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
