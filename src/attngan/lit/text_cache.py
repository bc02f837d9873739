"""Cache of the frozen DAMSM text encoder's outputs, per caption (``data.cache_text_embeddings=true``).

During AttnGAN training the text encoder is frozen and in eval mode (no dropout), so the word features
``(D, T)`` and the sentence feature ``(D,)`` of a caption never change: after the first epoch every
caption has been encoded once and the BiLSTM need not run again.

- **Key**: the caption's padded word ids and its length, under a *fingerprint* of the text encoder
  (SHA-256 of its constructor arguments and weights, i.e. of the DAMSM checkpoint's text encoder). A
  different DAMSM gives another fingerprint, and :meth:`TextEmbeddingCache.bind` empties the cache.
  Training captions longer than ``max_words`` keep a random subset of their words, so such a caption
  may get several entries (one per subset drawn).
- **Where**: keys live on the host and are looked up in ``on_before_batch_transfer`` (the batch is still on
  the CPU there); values live on the module's device in one growing store. Hits are a device gather and a
  batch with a miss is encoded live and written in: nothing inside the training step waits for the device.
- **Memory**: ``N * D * (T + 1) * 4`` bytes for N distinct captions: 6,000 shapes captions (D 256, T 18)
  take 117 MB; CUB's 88,550 training captions take 1.7 GB of device memory.

The cache lives in memory only, for one run (a resumed run fills it again during its first epoch).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

# keys that add_host_fields puts into a training batch (host values, read by the training step)
HOST_LENGTHS = "host_lengths"  # list[int]: caption lengths, so the text encoder needs no device read
TEXT_CACHE_SLOTS = "text_cache_slots"  # (B,) long: rows of the text-embedding cache
TEXT_CACHE_MISSING = "text_cache_missing"  # (M,) long: batch rows to encode live and store
TEXT_CACHE_PENDING = "text_cache_pending"  # list[int]: the slots of those rows


def text_encoder_fingerprint(text_encoder: nn.Module, spec: dict[str, Any] | None = None) -> str:
    """SHA-256 (hex) of a text encoder's constructor arguments and weights.

    Args:
        text_encoder: the frozen text encoder.
        spec: its constructor arguments (the DAMSM checkpoint's ``networks.text_encoder``).
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(spec or {}, sort_keys=True, default=str).encode())
    for name, tensor in sorted(text_encoder.state_dict().items()):
        flat = tensor.detach().to("cpu").contiguous().reshape(-1)
        digest.update(f"{name}:{flat.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


@dataclass
class CacheLookup:
    """Where the captions of a batch are (or will be) in the store.

    Attributes:
        slots: ``(B,)`` long, the store row of every caption of the batch.
        missing: ``(M,)`` long, the batch rows whose captions are not stored yet (their slots are reserved:
            the step encodes the batch live and :meth:`TextEmbeddingCache.store` writes these rows).
        pending: the slots of the missing rows, as host integers (``store`` marks them filled).
    """

    slots: torch.Tensor
    missing: torch.Tensor
    pending: list[int]


class TextEmbeddingCache:
    """Word and sentence features of captions already seen, keyed by ``(fingerprint, caption ids)``.

    Use: :meth:`bind` to the text encoder's fingerprint, :meth:`lookup` on the host batch, then in the step
    :meth:`gather` when ``lookup.missing`` is empty, else encode live and :meth:`store` the missing rows.

    Args:
        fingerprint: :func:`text_encoder_fingerprint` of the encoder whose outputs are cached; ``None``
            until :meth:`bind`.
    """

    def __init__(self, fingerprint: str | None = None) -> None:
        self.fingerprint = fingerprint
        self._slots: dict[bytes, int] = {}
        self._pending: set[int] = set()  # slots handed out by lookup() and not stored yet
        self._words: torch.Tensor | None = None  # (capacity, D, T)
        self._sentence: torch.Tensor | None = None  # (capacity, D)
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        """Number of captions stored."""
        return len(self._slots) - len(self._pending)

    def clear(self) -> None:
        """Forget every entry (and free the device store)."""
        self._slots.clear()
        self._pending.clear()
        self._words = self._sentence = None
        self.hits = self.misses = 0

    def bind(self, fingerprint: str) -> bool:
        """Use the cache for the encoder of ``fingerprint``; returns True when that emptied it (other encoder)."""
        if fingerprint == self.fingerprint:
            return False
        invalidated = bool(self._slots)
        self.clear()
        self.fingerprint = fingerprint
        return invalidated

    @staticmethod
    def keys(captions: torch.Tensor, lengths: torch.Tensor) -> list[bytes]:
        """One key per caption: its padded word ids ``(T,)`` and its length, as bytes."""
        rows = torch.cat([captions, lengths.unsqueeze(1)], dim=1).to(torch.int64).numpy()  # (B, T + 1)
        return [row.tobytes() for row in rows]

    def lookup(self, captions: torch.Tensor, lengths: torch.Tensor) -> CacheLookup:
        """Slots of a host batch; unseen captions get a new slot and are listed as missing.

        Args:
            captions: ``(B, T)`` word ids, on the CPU (call it before the batch moves to the device).
            lengths: ``(B,)``, on the CPU.
        """
        if self.fingerprint is None:
            raise RuntimeError("TextEmbeddingCache.lookup before bind(): the cache does not know its encoder")
        if captions.device.type != "cpu" or lengths.device.type != "cpu":
            raise ValueError(
                "TextEmbeddingCache.lookup needs the batch on the CPU (reading device tensors would wait for "
                f"the device); got captions on {captions.device}, lengths on {lengths.device}"
            )
        if captions.dim() != 2 or lengths.shape != captions.shape[:1]:
            raise ValueError(
                f"captions must be (B, T) and lengths (B,), got {tuple(captions.shape)} and {tuple(lengths.shape)}"
            )
        slots, missing, pending = [], [], []
        for row, key in enumerate(self.keys(captions, lengths)):
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = len(self._slots)
                self._pending.add(slot)
            if slot in self._pending:  # new, or reserved by a batch that was never stored: encode it live
                missing.append(row)
                pending.append(slot)
            slots.append(slot)
        self.misses += len(missing)
        self.hits += len(slots) - len(missing)
        return CacheLookup(
            torch.tensor(slots, dtype=torch.long), torch.tensor(missing, dtype=torch.long), pending
        )

    def _reserve(self, words: torch.Tensor, sentence: torch.Tensor) -> None:
        """Grow the device store (doubling) to hold every slot handed out so far."""
        needed = len(self._slots)
        capacity = 0 if self._words is None else self._words.shape[0]
        if self._words is not None and (
            self._words.shape[1:] != words.shape[1:] or self._words.device != words.device
        ):
            raise ValueError(
                f"cached word features are {tuple(self._words.shape[1:])} on {self._words.device}, "
                f"new ones {tuple(words.shape[1:])} on {words.device}; clear() the cache first"
            )
        if needed <= capacity:
            return
        new_capacity = max(needed, 2 * capacity, 64)
        new_words = words.new_zeros((new_capacity, *words.shape[1:]))
        new_sentence = sentence.new_zeros((new_capacity, *sentence.shape[1:]))
        if self._words is not None and self._sentence is not None:
            new_words[:capacity] = self._words
            new_sentence[:capacity] = self._sentence
        self._words, self._sentence = new_words, new_sentence

    @torch.no_grad()
    def store(
        self, slots: torch.Tensor, words: torch.Tensor, sentence: torch.Tensor, pending: list[int]
    ) -> None:
        """Write features into their slots (device tensors; no host synchronisation).

        Args:
            slots: ``(M,)`` long, ``lookup.slots[lookup.missing]`` (may be on the device).
            words: ``(M, D, T)``.
            sentence: ``(M, D)``.
            pending: ``lookup.pending``, the same slots as host integers.
        """
        if words.shape[0] != slots.shape[0] or sentence.shape[0] != slots.shape[0]:
            raise ValueError(
                f"{slots.shape[0]} slots for {words.shape[0]} word and {sentence.shape[0]} sentence features"
            )
        self._reserve(words, sentence)
        assert self._words is not None and self._sentence is not None
        self._words.index_copy_(0, slots.to(self._words.device), words.detach().to(self._words.dtype))
        self._sentence.index_copy_(
            0, slots.to(self._sentence.device), sentence.detach().to(self._sentence.dtype)
        )
        self._pending.difference_update(pending)

    def gather(self, slots: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(words (B, D, T), sentence (B, D))`` of stored slots."""
        if self._words is None or self._sentence is None:
            raise RuntimeError("TextEmbeddingCache.gather on an empty cache; store() features first")
        slots = slots.to(self._words.device)
        return self._words.index_select(0, slots), self._sentence.index_select(0, slots)


def add_host_fields(batch: Any, cache: TextEmbeddingCache | None) -> Any:
    """Host-side work for a training batch still on the CPU: the caption lengths as integers
    (:data:`HOST_LENGTHS`) and, with a cache, its lookup (:data:`TEXT_CACHE_SLOTS`, ``_MISSING``,
    ``_PENDING``). Anything else (no captions, a batch already on the device) is returned unchanged."""
    if not (isinstance(batch, dict) and "lengths" in batch and "captions" in batch):
        return batch
    lengths = batch["lengths"]
    if lengths.device.type != "cpu":  # a loader that already moved the batch: nothing to win
        return batch
    batch[HOST_LENGTHS] = lengths.tolist()
    if cache is not None:
        lookup = cache.lookup(batch["captions"], lengths)
        batch[TEXT_CACHE_SLOTS] = lookup.slots
        batch[TEXT_CACHE_MISSING] = lookup.missing
        batch[TEXT_CACHE_PENDING] = lookup.pending
    return batch


def cached_text_features(
    batch: dict[str, Any],
    cache: TextEmbeddingCache | None,
    encode: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Words ``(B, D, T)`` and sentence ``(B, D)`` of a training batch: from the cache when every caption is
    stored, else ``encode(captions, lengths)`` live (and the new captions stored).

    Args:
        batch: a batch that went through :func:`add_host_fields`.
        cache: the run's cache, or ``None`` (always encoded live).
        encode: the frozen text encoder, ``(captions (B, T), lengths (B,)) -> (words, sentence)``.
    """
    captions = batch["captions"]
    host_lengths = batch.get(HOST_LENGTHS)
    # lengths on the host: the text encoder packs sequences by length on the CPU
    lengths = torch.tensor(host_lengths) if host_lengths is not None else batch["lengths"]
    slots = batch.get(TEXT_CACHE_SLOTS)
    if cache is None or slots is None:
        return encode(captions, lengths)
    missing = batch[TEXT_CACHE_MISSING]
    if missing.numel() == 0:
        return cache.gather(slots)
    words, sentence = encode(captions, lengths)
    cache.store(slots[missing], words[missing], sentence[missing], batch[TEXT_CACHE_PENDING])
    return words, sentence


__all__ = [
    "HOST_LENGTHS",
    "TEXT_CACHE_MISSING",
    "TEXT_CACHE_PENDING",
    "TEXT_CACHE_SLOTS",
    "CacheLookup",
    "TextEmbeddingCache",
    "add_host_fields",
    "cached_text_features",
    "text_encoder_fingerprint",
]
