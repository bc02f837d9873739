"""DAMSM text encoder: bidirectional LSTM over word embeddings (docs/ARCHITECTURE.md "Models"; release ``RNN_ENCODER``)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attngan.errors import ConfigError

RNN_TYPES = ("lstm", "gru")


class TextEncoder(nn.Module):
    """Captions -> word features e ``(B, D, T)`` and sentence feature ē ``(B, D)``.

    Embedding (init U(-0.1, 0.1)) -> dropout -> one-layer (bi)LSTM or GRU. Word features are the RNN
    outputs, zero at padding, over the full padded width T of the input (static shapes). The sentence
    feature is the final hidden state of each direction, concatenated ``[forward; backward]``,
    taken at each caption's own length. Captions need not be sorted by length.

    Args:
        vocab_size: number of word ids, padding id 0 included.
        embedding_dim: word-embedding size (300).
        hidden_dim: hidden size *per direction* (128).
        dropout: dropout on the word embeddings.
        rnn_type: ``"lstm"`` or ``"gru"``.
        bidirectional: run a backward RNN too.
    """

    def __init__(
        self,
        vocab_size: int,
        embedding_dim: int = 300,
        hidden_dim: int = 128,
        dropout: float = 0.5,
        rnn_type: str = "lstm",
        bidirectional: bool = True,
    ) -> None:
        super().__init__()
        rnn_type = rnn_type.lower()
        if rnn_type not in RNN_TYPES:
            raise ConfigError(f"TextEncoder rnn_type must be one of {RNN_TYPES}, got {rnn_type!r}")
        # the constructor arguments: saved beside the weights (checkpoints, attngan.hub) to rebuild this network
        self.config: dict[str, Any] = {
            "vocab_size": vocab_size,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "dropout": dropout,
            "rnn_type": rnn_type,
            "bidirectional": bidirectional,
        }
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.hidden_dim = hidden_dim
        self.rnn_type = rnn_type
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.output_dim = hidden_dim * self.num_directions

        # Release names: ``encoder`` (embedding), ``drop``, ``rnn``.
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.dropout = nn.Dropout(dropout)
        rnn_class = nn.LSTM if rnn_type == "lstm" else nn.GRU
        # The release also passes dropout to the one-layer RNN, where PyTorch ignores it.
        self.rnn = rnn_class(
            embedding_dim, hidden_dim, num_layers=1, batch_first=True, bidirectional=bidirectional
        )
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)

    def forward(self, captions: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode a batch of padded captions.

        Args:
            captions: word ids ``(B, T)``, 0 = padding after the caption.
            lengths: ``(B,)`` number of real words, ``1 <= lengths <= T``, any order.

        Returns:
            ``(words (B, output_dim, T), sentence (B, output_dim))``.
        """
        if captions.dim() != 2:
            raise ValueError(f"captions must be (B, T), got {tuple(captions.shape)}")
        batch, width = captions.shape
        if lengths.shape != (batch,):
            raise ValueError(f"lengths must be ({batch},), got {tuple(lengths.shape)}")
        cpu_lengths = lengths.detach().to("cpu", torch.int64)
        if int(cpu_lengths.min()) < 1 or int(cpu_lengths.max()) > width:
            raise ValueError(f"lengths must lie in [1, {width}], got {cpu_lengths.tolist()}")

        embedded = self.dropout(self.embedding(captions))  # (B, T, embedding_dim)
        packed = pack_padded_sequence(embedded, cpu_lengths, batch_first=True, enforce_sorted=False)
        output, hidden = self.rnn(packed)
        # pad_packed_sequence and h_n both come back in the input's (unsorted) order.
        output, _ = pad_packed_sequence(output, batch_first=True, total_length=width)  # (B, T, output_dim)
        words = output.transpose(1, 2)  # (B, output_dim, T), zero at padding
        final = hidden[0] if self.rnn_type == "lstm" else hidden  # (num_directions, B, hidden_dim)
        sentence = final.transpose(0, 1).reshape(batch, self.output_dim)  # [forward; backward]
        return words, sentence
