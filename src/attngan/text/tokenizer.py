"""Caption tokenisation with the semantics of the authors' release.

The release lower-cases a caption, keeps the runs of word characters (``\\w+``), drops the non-ASCII
characters from every token and skips captions that end up without a token. Matching it exactly keeps
our word ids compatible with the released ``captions.pickle`` files and DAMSM encoders;
:func:`dropped_characters` names what that leaves out (``é``, ``🙂``), so that it is reported, not lost.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    """Split a caption into lower-case ASCII word tokens (``[]`` when it has no ASCII word character).

    Example:
        >>> tokenize("A bird, with a Café-coloured crown!")
        ['a', 'bird', 'with', 'a', 'caf', 'coloured', 'crown']
    """
    tokens = (word.encode("ascii", "ignore").decode("ascii") for word in _WORD.findall(text.lower()))
    return [token for token in tokens if token]


def dropped_characters(text: str) -> list[str]:
    """The runs of characters :func:`tokenize` leaves out that are neither spaces nor punctuation.

    They are the non-ASCII letters, marks and symbols (``é``, ``🙂``): no token can hold them, so a caller
    reports them beside its unknown words.

    Example:
        >>> dropped_characters("a large red circle é 🙂, café")
        ['é', '🙂', 'é']
    """
    return ["".join(run) for dropped, run in itertools.groupby(text, key=_is_dropped) if dropped]


def _is_dropped(char: str) -> bool:
    return not (char.isascii() or char.isspace() or unicodedata.category(char).startswith(("P", "Z")))


def split_captions(text: str) -> list[str]:
    """The captions of a caption file's text: its lines, stripped, without those that hold no token (blank,
    punctuation only), as in the release."""
    return [line.strip() for line in text.split("\n") if tokenize(line)]


def unique_words(captions: Iterable[str | Iterable[str]]) -> set[str]:
    """Every word of ``captions`` (strings are tokenised, token lists are taken as they are)."""
    words: set[str] = set()
    for caption in captions:
        words.update(tokenize(caption) if isinstance(caption, str) else caption)
    return words
