"""Caption tokenisation with the semantics of the authors' release.

The release lower-cases a caption, keeps the runs of word characters (``\\w+``), drops the non-ASCII
characters from every token and skips captions that end up without a token. Matching it exactly keeps
our word ids compatible with the released ``captions.pickle`` files and DAMSM encoders.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Split a caption into lower-case ASCII word tokens.

    Args:
        text: one caption.

    Returns:
        The tokens in caption order; ``[]`` for an empty caption or one without any ASCII word character.

    Example:
        >>> tokenize("A bird, with a Café-coloured crown!")
        ['a', 'bird', 'with', 'a', 'caf', 'coloured', 'crown']
    """
    tokens = []
    for match in _WORD.finditer(text.lower()):
        token = match.group().encode("ascii", "ignore").decode("ascii")
        if token:
            tokens.append(token)
    return tokens


def split_captions(text: str) -> list[str]:
    """Split the contents of a caption file into captions, one per non-blank line.

    Lines are stripped; lines without any token (blank, punctuation only) are skipped, as in the release.

    Args:
        text: the decoded contents of a caption file.

    Returns:
        The caption strings in file order.
    """
    return [line.strip() for line in text.split("\n") if tokenize(line)]


def unique_words(captions: Iterable[str | Iterable[str]]) -> set[str]:
    """Every word of ``captions`` (strings are tokenised, token lists are taken as they are)."""
    words: set[str] = set()
    for caption in captions:
        words.update(tokenize(caption) if isinstance(caption, str) else caption)
    return words
