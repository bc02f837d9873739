"""The torch dataset of every source, the batch collation, and how sample errors leave worker processes.

A sample's caption choice, word subset, crop and flip come from its own seed only (drawn by
:class:`~attngan.data.loader.EpochSampler`), so randomness does not depend on the number of workers.
Evaluation uses no randomness at all.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from attngan.data.images import MultiScaleTransform, open_image
from attngan.data.records import BAD_IMAGE, Problem, Record
from attngan.errors import AttnGANError, BadSampleError, DataError
from attngan.text.encoding import caption_to_tensor

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)

ON_BAD_SAMPLE = ("error", "skip")
_MAX_REPLACEMENTS = 64


class CaptionImageDataset(Dataset):
    """Images with captions, returning one sample dict per image.

    An item is an index (deterministic: evaluation, or training with a seed derived from ``(seed, index)``)
    or an ``(index, sample_seed)`` pair from :class:`~attngan.data.loader.EpochSampler`.

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

    def __getitems__(self, items: Sequence[int | tuple[int, int]]) -> list[Any]:
        """The samples of one batch (what a ``DataLoader`` calls).

        In a DataLoader worker process an :class:`AttnGANError` (a bad file) is returned as a
        :class:`SampleFailure` instead of raised: torch would pass on only its traceback text. The loaders of
        :mod:`attngan.data.loader` raise it again, as the same error, in the main process.
        """
        samples = []
        for item in items:
            try:
                samples.append(self[item])
            except AttnGANError as err:
                if get_worker_info() is None:
                    raise
                index = int(item[0] if isinstance(item, tuple) else item)
                key = self.records[index].key if 0 <= index < len(self.records) else None
                return [SampleFailure(type(err), str(err), dict(vars(err)), key)]
        return samples

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
        choice = self.caption_index % len(captions) if rng is None else int(rng.integers(len(captions)))
        text = record.captions[choice]
        return self._sample(image, captions[choice], rng, class_id=record.class_id, key=record.key, text=text)

    def _sample(
        self, image: Image.Image, ids: Sequence[int], rng: np.random.Generator | None, **fields: Any
    ) -> dict[str, Any]:
        """``images``, ``caption`` and ``length`` (words drawn before the crop), then ``fields``."""
        caption, length = caption_to_tensor(ids, self.max_words, rng)
        return {"images": self.transform(image, rng), "caption": caption, "length": length, **fields}

    def _log_bad(self, index: int, problem: str) -> None:
        self.bad_indices.add(index)
        record = self.records[index]
        log.debug("Skipping %s: %s", record.image_path, problem)
        if self.bad_log_dir is not None:
            entry = Problem(str(record.image_path), BAD_IMAGE, problem, record.key, self.split).to_json()
            with (Path(self.bad_log_dir) / f"{os.getpid()}.jsonl").open("a", encoding="utf-8") as handle:
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


@dataclass(frozen=True)
class SampleFailure:
    """An :class:`AttnGANError` of a DataLoader worker, carried to the main process as plain data.

    A worker's exception reaches the main process only as its traceback text, so the error is returned as
    this value (:meth:`CaptionImageDataset.__getitems__`), passed through :func:`collate_captions` as the
    batch, and :meth:`error` rebuilds the same error (type, message, attributes such as
    ``BadSampleError.path``) for the loader to raise. Using it as a batch raises that error too.

    Attributes:
        error_type: the class of the error.
        message: its message.
        attributes: its attributes (``vars(error)``).
        key: the key of the sample being loaded.
    """

    error_type: type[AttnGANError]
    message: str
    attributes: dict[str, Any]
    key: str | None = None

    def error(self) -> AttnGANError:
        """The error as it was raised in the worker; ``sample_key`` names the sample."""
        error = self.error_type.__new__(self.error_type)
        Exception.__init__(error, self.message)
        vars(error).update(self.attributes)
        error.sample_key = self.key  # type: ignore[attr-defined]
        return error

    def __getitem__(self, name: str) -> NoReturn:
        raise self.error()


def collate_captions(samples: list[dict[str, Any]] | list[SampleFailure]) -> dict[str, Any] | SampleFailure:
    """Stack samples into a batch (see the Batches table of docs/ARCHITECTURE.md).

    Returns:
        ``images``: list of ``(B, 3, s, s)``, one per size; ``captions``: ``(B, T)`` long; ``lengths``: ``(B,)``;
        ``class_ids``: ``(B,)``; ``keys``, ``texts``: lists of ``B`` strings. A :class:`SampleFailure` of a
        worker is passed on as it is.
    """
    if samples and isinstance(samples[0], SampleFailure):
        return samples[0]
    return {
        "images": [torch.stack(per_size) for per_size in zip(*(s["images"] for s in samples))],
        "captions": torch.stack([s["caption"] for s in samples]),
        "lengths": torch.tensor([s["length"] for s in samples], dtype=torch.long),
        "class_ids": torch.tensor([s["class_id"] for s in samples], dtype=torch.long),
        "keys": [s["key"] for s in samples],
        "texts": [s["text"] for s in samples],
    }
