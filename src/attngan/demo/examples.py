"""Example captions for the demo: the model's own test captions when its data is on disk, else some built
from its vocabulary.

Nothing is generated or downloaded here: the data config stored in the checkpoint (``entry["config"]["data"]``)
is read only when its files are already there (a shapes dataset that was never generated is not generated).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from attngan.text import Vocabulary

log = logging.getLogger(__name__)


def test_captions(data: Mapping[str, Any], limit: int) -> list[str]:
    """Up to ``limit`` first captions of the test split of the dataset ``data`` describes (one per image).

    Args:
        data: a resolved ``data`` config (the ``config.data`` of a checkpoint's ``"attngan"`` entry).
        limit: the most captions returned.

    Returns:
        The captions, or ``[]`` when the dataset is not on disk or cannot be read (the reason is logged).
    """
    from attngan.data.readers import ShapesReader, reader_from_config
    from attngan.errors import AttnGANError

    try:
        reader = reader_from_config(dict(data))
        if isinstance(reader, ShapesReader) and not reader.resolve_root(create=False).is_dir():
            return []  # never generated: do not generate it just for examples
        index = reader.build_index()
    except (AttnGANError, OSError, ValueError, TypeError, KeyError) as err:
        log.info("demo examples: the checkpoint's test captions are not readable here (%s)", err)
        return []
    records = index.splits.get("test") or []
    captions: list[str] = []
    for record in records:
        if record.captions and record.captions[0].strip() and record.captions[0] not in captions:
            captions.append(record.captions[0].strip())
        if len(captions) >= limit:
            break
    return captions


def vocabulary_captions(vocab: Vocabulary, limit: int, words_per_caption: int = 6) -> list[str]:
    """Up to ``limit`` captions of ``words_per_caption`` vocabulary words each, spread over the vocabulary.

    They are not sentences, only known words to start from; used when the training data is not on disk.
    """
    words = vocab.to_list()[1:]  # id 0 is padding
    if not words or limit < 1:
        return []
    count = min(limit, max(1, len(words) // words_per_caption))
    step = max(1, len(words) // count)
    return [" ".join(words[k * step : k * step + words_per_caption]) for k in range(count)]


def example_captions(metadata: Mapping[str, Any], vocab: Vocabulary, limit: int = 8) -> list[str]:
    """The demo's example captions: the test captions of the checkpoint's data when readable, else
    :func:`vocabulary_captions`.

    Args:
        metadata: the checkpoint's ``"attngan"`` entry (``AttnGANPipeline.metadata``).
        vocab: the model's vocabulary.
        limit: the most captions returned.
    """
    if limit < 1:
        return []
    data = ((metadata.get("config") or {}).get("data")) or {}
    captions: Sequence[str] = test_captions(data, limit) if data else []
    return list(captions) or vocabulary_captions(vocab, limit)
