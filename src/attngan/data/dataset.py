"""The torch side of the data: one dataset class for every source, the epoch sampler and the batch collation.

Randomness is reproducible and independent of the number of workers: the training sampler draws, in the
main process, an order and one seed per sample for each epoch (from ``(seed, epoch)``); a sample's caption
choice, word subset, crop and flip come from its own seed only. Evaluation uses no randomness at all.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from attngan import errors
from attngan.data.images import MultiScaleTransform, open_image
from attngan.data.records import BAD_IMAGE, Problem, Record
from attngan.errors import AttnGANError, BadSampleError, DataError
from attngan.text.encoding import caption_to_tensor

log = logging.getLogger(__name__)

ON_BAD_SAMPLE = ("error", "skip")
_MAX_REPLACEMENTS = 64


class CaptionImageDataset(Dataset):
    """Images with captions, returning one sample dict per image.

    An item is an index (deterministic: evaluation, or training with a seed derived from ``(seed, index)``)
    or an ``(index, sample_seed)`` pair from :class:`EpochSampler`.

    With ``on_bad_sample="skip"`` an image that cannot be decoded is replaced by the next readable image
    (index + 1, + 2, ... wrapping around), so a skipped sample is replaced deterministically; the bad file
    is written to ``bad_log_dir`` (one file per process, so DataLoader workers can report it) and later
    listed by :meth:`attngan.data.CaptionDataModule.report_bad_samples`.

    Args:
        records: the images of the split.
        caption_ids: ``caption_ids[i][j]``: word ids of caption ``j`` of image ``i``.
        transform: PIL image -> list of tensors.
        max_words: T of the caption tensors.
        train: random caption, words, crop and flip (else caption ``caption_index``, first words, centre crop).
        seed: the seed of index-only training items.
        on_bad_sample: ``"error"`` (raise :class:`BadSampleError`) or ``"skip"``.
        caption_index: the caption of evaluation samples (wrapped when an image has fewer captions).
        split: name of the split, for messages.
        bad_log_dir: where skipped samples are logged (``None``: kept in memory only).
    """

    def __init__(
        self,
        records: Sequence[Record],
        caption_ids: Sequence[Sequence[Sequence[int]]],
        transform: MultiScaleTransform,
        max_words: int,
        train: bool,
        seed: int = 0,
        on_bad_sample: str = "error",
        caption_index: int = 0,
        split: str = "train",
        bad_log_dir: str | Path | None = None,
    ) -> None:
        if len(records) != len(caption_ids):
            raise ValueError(f"{len(records)} records but {len(caption_ids)} caption lists.")
        if on_bad_sample not in ON_BAD_SAMPLE:
            raise DataError(f"data.on_bad_sample must be one of {ON_BAD_SAMPLE}, got {on_bad_sample!r}.")
        self.records = list(records)
        self.caption_ids = [[list(c) for c in caps] for caps in caption_ids]
        self.transform = transform
        self.max_words = int(max_words)
        self.train = bool(train)
        self.seed = int(seed)
        self.on_bad_sample = on_bad_sample
        self.caption_index = int(caption_index)
        self.split = split
        self.bad_log_dir = None if bad_log_dir is None else str(bad_log_dir)
        self.bad_indices: set[int] = set()  # per process

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, Any]:
        """One sample: ``images`` (list of ``(3, s, s)``), ``caption`` ``(T,)``, ``length``, ``class_id``,
        ``key``, ``text``."""
        if isinstance(item, tuple):
            index, sample_seed = int(item[0]), int(item[1])
        else:
            index, sample_seed = int(item), None
        if not 0 <= index < len(self.records):
            raise IndexError(f"index {index} out of range for {len(self.records)} {self.split} images")
        rng = None
        if self.train:
            rng = np.random.default_rng(sample_seed if sample_seed is not None else [self.seed, index])
        for step in range(min(len(self.records), _MAX_REPLACEMENTS)):
            current = (index + step) % len(self.records)
            if current in self.bad_indices:
                continue
            sample = self._load(current, rng)
            if sample is not None:
                return sample
        raise DataError(
            f"{_MAX_REPLACEMENTS} {self.split} images in a row from index {index} cannot be read "
            f"(e.g. {self.records[index].image_path}). Run `attngan-data check` on the dataset."
        )

    def _load(self, index: int, rng: np.random.Generator | None) -> dict[str, Any] | None:
        record = self.records[index]
        try:
            image = open_image(record.image_path, record.bbox)
        except BadSampleError as err:
            if self.on_bad_sample == "error":
                raise
            self._log_bad(index, err.problem)
            return None
        captions = self.caption_ids[index]
        if rng is None:
            choice = self.caption_index % len(captions)
        else:
            choice = int(rng.integers(len(captions)))
        caption, length = caption_to_tensor(captions[choice], self.max_words, rng)
        return {
            "images": self.transform(image, rng),
            "caption": caption,
            "length": length,
            "class_id": record.class_id,
            "key": record.key,
            "text": record.captions[choice],
        }

    def _log_bad(self, index: int, problem: str) -> None:
        self.bad_indices.add(index)
        record = self.records[index]
        log.debug("Skipping %s: %s", record.image_path, problem)
        if self.bad_log_dir is not None:
            entry = Problem(str(record.image_path), BAD_IMAGE, problem, record.key, self.split).to_json()
            with open(
                os.path.join(self.bad_log_dir, f"{os.getpid()}.jsonl"), "a", encoding="utf-8"
            ) as handle:
                handle.write(json.dumps(entry) + "\n")


def read_bad_log(directory: str | Path) -> list[Problem]:
    """The skipped samples logged by every process into ``directory``, in a stable order, without repeats."""
    found: dict[tuple[str, str], Problem] = {}
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            problem = Problem(**entry)
            found.setdefault((problem.split or "", problem.path), problem)
    return [found[k] for k in sorted(found)]


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


# torch re-raises an exception of a DataLoader worker as text: "Caught <Name> in DataLoader worker process
# <n>.\nOriginal Traceback ...\n<module>.<Name>: <message>"
_WORKER_ERROR_LINE = re.compile(r"^attngan\.errors\.(\w+): ", re.MULTILINE)


def worker_error(err: BaseException) -> AttnGANError | None:
    """The attngan error a DataLoader worker raised, rebuilt from the text torch hands back.

    A worker's exception reaches the main process as its formatted traceback (and as a ``RuntimeError`` when
    the class cannot be rebuilt from one string, as :class:`BadSampleError`). For user errors this gives the
    error back with its own message only, so the console scripts report it without a traceback.

    Returns:
        The rebuilt error, or ``None`` when ``err`` is not an attngan error from a worker.
    """
    text = str(err)
    if not text.startswith("Caught ") or " in DataLoader worker process " not in text.split("\n", 1)[0]:
        return None
    found = list(_WORKER_ERROR_LINE.finditer(text))
    if not found:
        return None
    cls = getattr(errors, found[-1].group(1), None)
    if not (isinstance(cls, type) and issubclass(cls, AttnGANError)):
        return None
    message = text[found[-1].end() :].rstrip("\n")
    rebuilt = cls.__new__(cls)
    Exception.__init__(rebuilt, message)
    if isinstance(rebuilt, BadSampleError):  # its attributes, from its message "<path>: <problem>. Fix ..."
        rebuilt.path, _, rest = message.partition(": ")
        rebuilt.problem = rest.split(". Fix or remove", 1)[0]
    return rebuilt


class _LoaderIterator:
    """Iterates a :class:`CaptionDataLoader`: counts the batches it delivers, reports worker errors cleanly."""

    def __init__(self, loader: CaptionDataLoader, iterator: Iterator[Any], skip: int) -> None:
        self._loader = loader
        self._iterator = iterator
        self._skip = skip
        loader._batches_done = 0

    def __iter__(self) -> _LoaderIterator:
        return self

    def __next__(self) -> Any:
        # skipped at the first batch, not before: the sampler reads its epoch (set_epoch) when it starts
        skip, self._skip = self._skip, 0
        for _ in range(skip):  # replays the epoch's first batches, so every random draw stays in place
            self._next()
        return self._next()

    def _next(self) -> Any:
        try:
            batch = next(self._iterator)
        except StopIteration:
            raise
        except Exception as err:
            clean = worker_error(err)
            if clean is None:
                raise
            raise clean from None
        self._loader._batches_done += 1
        return batch

    def __len__(self) -> int:
        return len(self._iterator)  # type: ignore[arg-type]


class CaptionDataLoader(DataLoader):
    """A ``DataLoader`` that reports the user errors of its worker processes (bad files) without a traceback."""

    _batches_done = 0  # batches delivered in the current epoch
    _resume_at = 0  # batches of the next epoch to skip (set by load_state_dict)

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        skip, self._resume_at = self._resume_at, 0
        return _LoaderIterator(self, super().__iter__(), skip)


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


def collate_captions(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack samples into a batch (see the Batches table of docs/ARCHITECTURE.md).

    Returns:
        ``images``: list of ``(B, 3, s, s)``, one per size; ``captions``: ``(B, T)`` long; ``lengths``: ``(B,)``;
        ``class_ids``: ``(B,)``; ``keys``, ``texts``: lists of ``B`` strings.
    """
    num_sizes = len(samples[0]["images"])
    return {
        "images": [torch.stack([s["images"][k] for s in samples]) for k in range(num_sizes)],
        "captions": torch.stack([s["caption"] for s in samples]),
        "lengths": torch.tensor([s["length"] for s in samples], dtype=torch.long),
        "class_ids": torch.tensor([s["class_id"] for s in samples], dtype=torch.long),
        "keys": [s["key"] for s in samples],
        "texts": [s["text"] for s in samples],
    }


def seed_worker(worker_id: int) -> None:
    """Seed numpy's and Python's global generators in a DataLoader worker from its torch seed.

    Our own randomness does not use them (see :class:`EpochSampler`), but third-party transforms might.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)
