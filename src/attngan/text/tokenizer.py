"""Caption tokenisation with the semantics of the authors' release.

The release lower-cases a caption, keeps the runs of word characters (``\\w+``), drops the non-ASCII
characters from every token and skips captions that end up without a token. Matching it exactly keeps
our word ids compatible with the released ``captions.pickle`` files and DAMSM encoders;
:func:`dropped_characters` names what that leaves out (``é``, ``🙂``), so that it is reported, not lost.
"""

from __future__ import annotations

import re
import unicodedata
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


def dropped_characters(text: str) -> list[str]:
    """The runs of characters :func:`tokenize` leaves out that are neither spaces nor punctuation.

    They are the non-ASCII letters, marks and symbols (``é``, ``🙂``): no token can hold them, so a caller
    reports them beside its unknown words.

    Example:
        >>> dropped_characters("a large red circle é 🙂, café")
        ['é', '🙂', 'é']
    """
    runs: list[str] = []
    current = ""
    for char in text:
        kept = char.isascii() or char.isspace() or unicodedata.category(char).startswith(("P", "Z"))
        if kept and current:
            runs.append(current)
            current = ""
        elif not kept:
            current += char
    return [*runs, current] if current else runs


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
