"""Choosing the vocabulary of a dataset and encoding its captions as word ids: the steps the DataModule and
``attngan-data check`` share (index -> :func:`dataset_vocabulary` -> :func:`encode_splits`)."""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

from attngan.data.records import EMPTY_CAPTIONS, SPLITS, UNKNOWN_WORDS, DatasetIndex, Problem, Record
from attngan.errors import DataError
from attngan.outputs import atomic_path
from attngan.text.tokenizer import tokenize, unique_words
from attngan.text.vocabulary import Vocabulary

log = logging.getLogger(__name__)


def vocabulary_cache_path(cache_dir: str | Path, index: DatasetIndex) -> Path:
    """Where the vocabulary built from a dataset's captions is cached (one file per dataset root)."""
    digest = hashlib.sha1(str(Path(index.root).resolve()).encode()).hexdigest()[:12]
    return Path(cache_dir).expanduser() / "vocab" / f"{index.name}-{digest}.json"


def dataset_vocabulary(index: DatasetIndex, cache_dir: str | Path | None = None) -> tuple[Vocabulary, str]:
    """The vocabulary a dataset uses, and where it came from.

    The release's vocabulary (``captions.pickle``) wins, so ids match the released encoders. Otherwise the
    vocabulary is every word of the train and test captions, sorted, as the release builds it; it is cached
    in ``cache_dir`` so the ids stay the same while the captions do not gain new words.

    Returns:
        ``(vocabulary, source)``, where ``source`` says where it came from, for logs.
    """
    if index.vocab is not None:
        return index.vocab, f"{index.root / 'captions.pickle'}"
    words = unique_words(c for records in index.splits.values() for r in records for c in r.captions)
    built = Vocabulary(sorted(words))
    if cache_dir is None or str(cache_dir) in ("", "None"):
        return built, "the dataset's captions"
    path = vocabulary_cache_path(cache_dir, index)
    if path.is_file():
        try:
            cached = Vocabulary.load(path)
        except DataError as err:
            log.warning("Ignoring the damaged vocabulary cache %s (%s); rebuilding it.", path, err)
        else:
            if words <= set(cached.words):
                return cached, str(path)
            log.warning(
                "The captions of %s have %d words missing from the cached vocabulary %s; rebuilding it. Models "
                "trained with the old vocabulary need it back (it is stored in their checkpoints).",
                index.root,
                len(words - set(cached.words)),
                path,
            )
    with atomic_path(path) as tmp:
        built.save(tmp)
    return built, str(path)


def encode_records(
    records: list[Record], vocab: Vocabulary, split: str
) -> tuple[list[Record], list[list[list[int]]], list[Problem]]:
    """Encode every caption of ``records`` with ``vocab``.

    Unknown words are left out of the ids and counted in one ``UNKNOWN_WORDS`` warning. Captions left without
    any known word are dropped; an image left without captions becomes an ``EMPTY_CAPTIONS`` bad sample.

    Returns:
        ``(kept_records, caption_ids, problems)`` where ``caption_ids[i][j]`` are the ids of caption ``j`` of
        ``kept_records[i]`` (its captions are updated to the kept ones).
    """
    kept: list[Record] = []
    encoded: list[list[list[int]]] = []
    problems: list[Problem] = []
    unknown: Counter[str] = Counter()
    for record in records:
        ids_per_caption, texts = [], []
        for caption in record.captions:
            ids, missing = vocab.encode_tokens(tokenize(caption))
            unknown.update(missing)
            if ids:
                ids_per_caption.append(ids)
                texts.append(caption)
        if not ids_per_caption:
            detail = "no caption has a word of the vocabulary"
            problems.append(Problem(str(record.caption_path), EMPTY_CAPTIONS, detail, record.key, split))
            continue
        kept.append(replace(record, captions=tuple(texts)))
        encoded.append(ids_per_caption)
    if unknown:
        examples = ", ".join(f"{w!r} ({n}x)" for w, n in unknown.most_common(8))
        detail = f"{sum(unknown.values())} occurrences of {len(unknown)} words left out of the captions: {examples}"
        problems.append(Problem(f"{split} captions", UNKNOWN_WORDS, detail, split=split))
    return kept, encoded, problems


Encoded = dict[str, tuple[list[Record], list[list[list[int]]]]]


def encode_splits(index: DatasetIndex, vocab: Vocabulary) -> tuple[Encoded, list[Problem]]:
    """:func:`encode_records` on every split of ``index``.

    Returns:
        ``({split: (kept_records, caption_ids)}, problems)``.
    """
    encoded: Encoded = {}
    problems: list[Problem] = []
    for split in SPLITS:
        records, ids, found = encode_records(index.splits.get(split, []), vocab, split)
        encoded[split] = (records, ids)
        problems += found
    return encoded, problems
