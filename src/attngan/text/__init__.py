"""Text: tokenisation, the vocabulary, and captions as fixed-length id tensors (no neural networks here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from attngan.text.tokenizer import dropped_characters, split_captions, tokenize, unique_words
from attngan.text.vocabulary import PAD_TOKEN, Vocabulary

if TYPE_CHECKING:
    from attngan.text.encoding import caption_to_tensor, padding_mask

__all__ = [
    "PAD_TOKEN",
    "Vocabulary",
    "caption_to_tensor",
    "dropped_characters",
    "padding_mask",
    "split_captions",
    "tokenize",
    "unique_words",
]


def __getattr__(name: str) -> Any:
    # caption_to_tensor and padding_mask need torch; importing them lazily keeps the dataset checker light.
    if name in ("caption_to_tensor", "padding_mask"):
        from attngan.text import encoding

        return getattr(encoding, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
