"""``attngan-data check``: walk a dataset once, summarise it, list every problem, write a manifest.

Light by design (no torch, no Lightning): it reads the metadata and captions with the dataset's reader,
decodes every image fully, and encodes every caption with the vocabulary training would use.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

from attngan.data.captions import dataset_vocabulary, encode_splits
from attngan.data.images import open_image
from attngan.data.readers.base import DatasetReader
from attngan.data.records import BAD_IMAGE, SPLITS, Problem, Record
from attngan.errors import BadSampleError
from attngan.outputs import atomic_write_text
from attngan.progress import progress as show_progress
from attngan.text.tokenizer import tokenize


@dataclass
class CheckReport:
    """What ``attngan-data check`` found.

    Attributes:
        dataset: dataset name.
        root: dataset root.
        images: usable images per split.
        captions_per_image: ``(min, mean, max)`` over usable images.
        vocab_size: ids in the vocabulary training would use (padding included).
        vocab_source: where that vocabulary comes from.
        longest_caption: ``(number of words, key, caption)``.
        over_max_words: captions longer than ``max_words`` (a random subset of their words is used in training).
        max_words: the configured caption length.
        num_classes: distinct class ids (``0`` without classes).
        problems: every problem, bad samples first.
    """

    dataset: str
    root: str
    images: dict[str, int] = field(default_factory=dict)
    captions_per_image: tuple[int, float, int] = (0, 0.0, 0)
    vocab_size: int = 0
    vocab_source: str = ""
    longest_caption: tuple[int, str, str] = (0, "", "")
    over_max_words: int = 0
    max_words: int | None = None
    num_classes: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def bad_samples(self) -> list[Problem]:
        return [p for p in self.problems if p.is_bad]

    def manifest(self) -> dict[str, Any]:
        """The JSON manifest: ``bad_samples`` (left out by training with ``data.bad_manifest``) and ``warnings``."""
        return {
            "created_by": "attngan-data check",
            "dataset": self.dataset,
            "root": self.root,
            "bad_samples": [p.to_json() for p in self.bad_samples],
            "warnings": [p.to_json() for p in self.problems if not p.is_bad],
        }

    def write_manifest(self, path: str | Path) -> Path:
        return atomic_write_text(path, json.dumps(self.manifest(), indent=1) + "\n")

    def summary(self) -> str:
        """The report as text: the summary, then every problem with its file."""
        low, average, high = self.captions_per_image
        words, key, caption = self.longest_caption
        lines = [
            f"dataset: {self.dataset} at {self.root}",
            "images: " + ", ".join(f"{split} {n}" for split, n in self.images.items()),
            f"captions per image: min {low}, mean {average:.2f}, max {high}",
            f"vocabulary: {self.vocab_size} ids (padding included) from {self.vocab_source}",
            f"longest caption: {words} words ({key}): {caption!r}",
        ]
        if self.max_words is not None:
            lines.append(
                f"captions longer than max_words={self.max_words}: {self.over_max_words} "
                "(training keeps a random subset of their words, evaluation the first max_words)"
            )
        lines.append(f"classes: {self.num_classes if self.num_classes else 'none'}")
        if self.ok:
            lines.append("problems: none")
            return "\n".join(lines)
        kinds = Counter(p.kind for p in self.problems)
        lines.append(
            f"problems: {len(self.problems)} ("
            + ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            + f"); {len(self.bad_samples)} samples unusable"
        )
        lines += [f"  {'BAD ' if p.is_bad else 'WARN'} {p}" for p in self.problems]
        return "\n".join(lines)


def _decode(record: Record) -> str | None:
    try:
        open_image(record.image_path)
    except BadSampleError as err:
        return err.problem
    return None


def check_dataset(
    reader: DatasetReader,
    cache_dir: str | Path | None = None,
    max_words: int | None = None,
    workers: int = 4,
    progress: bool | None = None,
) -> CheckReport:
    """Walk a dataset once and report on it.

    Args:
        reader: the dataset's reader (see :func:`attngan.data.readers.make_reader`).
        cache_dir: the vocabulary cache, as in training (``data.cache_dir``).
        max_words: the configured caption length, to count the captions that are longer.
        workers: threads decoding images.
        progress: show the decoding's progress on stderr (:func:`attngan.progress.progress`; ``None``: only
            with ``ATTNGAN_PROGRESS=1``); ``attngan-data check`` passes its ``progress`` key.

    Returns:
        The report; ``report.ok`` is true when no problem was found.
    """
    index = reader.build_index()
    report = CheckReport(index.name, str(index.root), max_words=max_words, problems=list(index.problems))
    # the vocabulary and ids training would use: every indexed caption counts, undecodable images too
    vocab, report.vocab_source = dataset_vocabulary(index, cache_dir)
    report.vocab_size = len(vocab)
    encoded, found = encode_splits(index, vocab)
    report.problems += found

    records = [(split, r) for split in SPLITS for r in encoded[split][0]]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        decoded = pool.map(lambda item: _decode(item[1]), records)
        failures = show_progress(
            decoded, total=len(records), desc="decoding images", unit="img", enabled=progress
        )
        readable: dict[str, list[Record]] = {split: [] for split in SPLITS}
        for (split, record), failure in zip(records, failures, strict=True):
            if failure is None:
                readable[split].append(record)
            else:
                report.problems.append(Problem(str(record.image_path), BAD_IMAGE, failure, record.key, split))

    counts = []
    classes = set()
    for split in SPLITS:
        report.images[split] = len(readable[split])
        for record in readable[split]:
            counts.append(len(record.captions))
            if record.class_id >= 0:
                classes.add(record.class_id)
            for caption in record.captions:
                words = len(tokenize(caption))
                if words > report.longest_caption[0]:
                    report.longest_caption = (words, record.key, caption)
                if max_words is not None and words > max_words:
                    report.over_max_words += 1
    if counts:
        report.captions_per_image = (min(counts), mean(counts), max(counts))
    report.num_classes = len(classes)
    report.problems.sort(key=lambda p: (not p.is_bad, p.kind, p.path))
    return report
