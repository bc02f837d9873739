"""The word <-> id mapping shared by datasets, encoders and checkpoints.

Id 0 is padding (written ``"<pad>"``; the release calls it ``"<end>"``), real words start at 1. A vocabulary
is an ordered list of words, so it is stored as JSON and inside checkpoints as a plain list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attngan.errors import DataError, VocabularyMismatchError
from attngan.text.tokenizer import dropped_characters, tokenize, unique_words

PAD_TOKEN = "<pad>"
RELEASE_PAD_TOKEN = "<end>"  # the name of id 0 in the authors' pickles
_FORMAT = "attngan-vocabulary"


class Vocabulary:
    """An ordered vocabulary: ``words[k]`` has id ``k + 1``, id 0 is padding.

    Args:
        words: the real words in id order (without the padding token).

    Raises:
        ValueError: a word is empty, not a string, repeated, or is the padding token.
    """

    def __init__(self, words: Sequence[str]) -> None:
        self._words: list[str] = list(words)
        self._index: dict[str, int] = {}
        for i, word in enumerate(self._words, start=1):
            if not isinstance(word, str) or not word:
                raise ValueError(f"Vocabulary words must be non-empty strings; id {i} is {word!r}.")
            if word in (PAD_TOKEN, RELEASE_PAD_TOKEN):
                raise ValueError(f"{word!r} (id {i}) is reserved for padding, which always has id 0.")
            if word in self._index:
                raise ValueError(
                    f"Word {word!r} appears twice in the vocabulary (ids {self._index[word]}, {i})."
                )
            self._index[word] = i

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_captions(cls, captions: Iterable[str | Iterable[str]]) -> Vocabulary:
        """Every word of ``captions``, sorted, so the ids do not depend on file or caption order.

        Args:
            captions: caption strings (tokenised with :func:`attngan.text.tokenize`) or token lists.
        """
        return cls(sorted(unique_words(captions)))

    @classmethod
    def from_release(cls, ixtoword: Mapping[int, str], wordtoix: Mapping[str, int]) -> Vocabulary:
        """The vocabulary of an authors' ``captions.pickle``, keeping every id exactly.

        Args:
            ixtoword: id -> word, ids ``0 .. n-1`` with ``0`` the release's ``'<end>'`` (our padding).
            wordtoix: word -> id, the inverse mapping.

        Raises:
            DataError: the two mappings are not contiguous or not inverse of each other.
        """

        ids = sorted(int(i) for i in ixtoword)
        if ids != list(range(len(ids))) or not ids:
            raise DataError(
                f"The release vocabulary (ixtoword) must map the ids 0..n-1 without gaps; found {len(ids)} ids "
                f"from {ids[:1]} to {ids[-1:]}. The captions.pickle file is damaged; delete it to rebuild the "
                "vocabulary from the text/ captions (ids then differ from the released encoders)."
            )
        words = [ixtoword[i] for i in ids[1:]]
        inverse = {w: int(i) for w, i in wordtoix.items()}
        wrong = [(i, w, inverse.get(w)) for i, w in enumerate(words, start=1) if inverse.get(w) != i]
        if wrong or len(inverse) != len(ids):
            detail = ", ".join(f"ixtoword[{i}]={w!r} but wordtoix gives {j}" for i, w, j in wrong[:5])
            raise DataError(
                f"The release vocabulary is inconsistent: ixtoword has {len(ids)} ids and wordtoix "
                f"{len(inverse)} words. {detail}. The captions.pickle file is damaged."
            )
        return cls(words)

    @classmethod
    def from_list(cls, items: Sequence[str]) -> Vocabulary:
        """Inverse of :meth:`to_list`: ``items[i]`` is the word of id ``i``, ``items[0]`` the padding token."""
        if not items or items[0] not in (PAD_TOKEN, RELEASE_PAD_TOKEN):
            first = items[0] if items else "nothing"
            raise ValueError(
                f"A vocabulary list starts with the padding token {PAD_TOKEN!r} (id 0); it starts with {first!r}."
            )
        return cls(items[1:])

    def to_list(self) -> list[str]:
        """All tokens in id order, padding first: ``to_list()[i]`` is the word of id ``i``."""
        return [PAD_TOKEN, *self._words]

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (``{"format", "words"}``, words in id order, padding first)."""
        Path(path).write_text(json.dumps({"format": _FORMAT, "words": self.to_list()}, indent=0) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        """Read a vocabulary written by :meth:`save` (a plain JSON list in id order is accepted too).

        Raises:
            DataError: the file is missing or is not a vocabulary.
        """
        path = Path(path)
        try:
            data: Any = json.loads(path.read_text())
        except FileNotFoundError:
            raise DataError(f"Vocabulary file {path} does not exist.") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise DataError(f"Vocabulary file {path} is not readable JSON: {err}.") from None
        items = data.get("words") if isinstance(data, dict) else data
        try:
            return cls.from_list(items)
        except (ValueError, TypeError, AttributeError) as err:
            raise DataError(f"{path} is not a vocabulary file: {err}") from None

    # ------------------------------------------------------------------ use
    def __len__(self) -> int:
        """Number of ids, padding included."""
        return len(self._words) + 1

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocabulary) and self._words == other._words

    def __hash__(self) -> int:
        return hash(tuple(self._words))

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} ids, fingerprint {self.fingerprint()})"

    @property
    def words(self) -> list[str]:
        """The real words in id order (id ``k + 1`` is ``words[k]``)."""
        return list(self._words)

    def fingerprint(self) -> str:
        """A short hash of the word list: equal fingerprints mean equal ids."""
        return hashlib.sha1("\n".join(self._words).encode()).hexdigest()[:12]

    def word_id(self, word: str) -> int | None:
        """Id of ``word``, or ``None`` when it is not in the vocabulary."""
        return self._index.get(word)

    def encode_tokens(self, tokens: Iterable[str]) -> tuple[list[int], list[str]]:
        """Ids of already tokenised words.

        Returns:
            ``(ids, unknown_words)``: ids of the known words in order, and the words that have no id (left
            out of ``ids``, never silently: the caller decides to warn or fail).
        """
        tokens = list(tokens)
        return [self._index[t] for t in tokens if t in self._index], [
            t for t in tokens if t not in self._index
        ]

    def encode(self, text: str) -> tuple[list[int], list[str]]:
        """Tokenise and encode a caption; see :meth:`encode_tokens` for the result.

        The unknown words include the characters the tokeniser cannot keep (``é``, ``🙂``,
        :func:`~attngan.text.tokenizer.dropped_characters`), after the unknown tokens.
        """
        ids, unknown = self.encode_tokens(tokenize(text))
        return ids, unknown + dropped_characters(text)

    def decode(self, ids: Iterable[int]) -> str:
        """The words of ``ids`` joined by spaces; padding (0) is left out.

        Raises:
            ValueError: an id is outside the vocabulary.
        """
        words = []
        for raw in ids:
            index = int(raw)
            if index == 0:
                continue
            if not 0 < index <= len(self._words):
                raise ValueError(f"Word id {index} is outside this vocabulary of {len(self)} ids.")
            words.append(self._words[index - 1])
        return " ".join(words)

    def require_equal(self, other: Vocabulary, what: str) -> None:
        """Raise :class:`VocabularyMismatchError` unless ``other`` has the same ids (``what`` names them)."""
        if self == other:
            return
        first = next(
            (i for i, (a, b) in enumerate(zip(self.to_list(), other.to_list())) if a != b),
            min(len(self), len(other)),
        )
        raise VocabularyMismatchError(
            f"{what}: vocabularies differ ({len(self)} vs {len(other)} ids, first difference at id {first}). "
            "Use the vocabulary stored with the DAMSM checkpoint for every later stage."
        )
