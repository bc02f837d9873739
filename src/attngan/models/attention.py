"""Generator word attention (paper Eq. 2; release ``GlobalAttention.py: GlobalAttentionGeneral``)."""

from __future__ import annotations

import torch
from torch import nn

from attngan.models.blocks import conv1x1


def legacy_word_mask(word_mask: torch.Tensor, num_queries: int) -> torch.Tensor:
    """Per-row padding mask as the release builds it, bug included.

    The release flattens the scores to ``(B * Q, T)`` (row ``r`` belongs to sample ``r // Q``) and
    tiles the mask with ``mask.repeat(Q, 1)``, so row ``r`` receives the mask of sample ``r % B``.
    With B > 1 and unequal lengths, samples get another sample's padding mask.

    Args:
        word_mask: ``(B, T)`` bool, True at padding.
        num_queries: Q = H * W, number of image sub-regions.

    Returns:
        ``(B, Q, T)`` bool mask, laid out exactly as the release applies it.
    """
    batch, words = word_mask.shape
    return word_mask.repeat(num_queries, 1).view(batch, num_queries, words)


class GlobalAttention(nn.Module):
    """Attention from every image sub-region to the words.

    Words are projected into the image-feature space by a 1x1 convolution without bias
    (``word_dim -> query_dim``, e'_i); for sub-region j, ``s'_{j,i} = h_j · e'_i``,
    ``β_{j,i} = softmax_i(s'_{j,i})`` over the non-padded words, and the word-context vector is
    ``c_j = Σ_i β_{j,i} e'_i``.

    Args:
        query_dim: channels C of the image features h (ngf).
        word_dim: channels E of the word features e (256).
    """

    def __init__(self, query_dim: int, word_dim: int) -> None:
        super().__init__()
        self.query_dim = query_dim
        self.word_dim = word_dim
        # Release name: ``conv_context``.
        self.word_projection = conv1x1(word_dim, query_dim)

    def forward(
        self,
        hidden: torch.Tensor,
        words: torch.Tensor,
        word_mask: torch.Tensor | None = None,
        legacy_mask: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Word-context vectors for every sub-region.

        Args:
            hidden: image features h, ``(B, C, H, W)``.
            words: word features e, ``(B, E, T)``.
            word_mask: ``(B, T)`` bool, True at padding; None attends to every position. Every
                sample needs at least one real word (else its softmax is over nothing: NaN).
            legacy_mask: apply the mask the release's way (:func:`legacy_word_mask`), which
                mixes up samples; only for reproducing released checkpoints.

        Returns:
            ``(context (B, C, H, W), attention (B, T, H, W))``; attention sums to 1 over T and is
            exactly 0 at masked words.
        """
        batch, channels, height, width = hidden.shape
        if channels != self.query_dim:
            raise ValueError(f"hidden must have {self.query_dim} channels, got {tuple(hidden.shape)}")
        if words.dim() != 3 or words.size(0) != batch or words.size(1) != self.word_dim:
            raise ValueError(f"words must be ({batch}, {self.word_dim}, T), got {tuple(words.shape)}")
        num_words = words.size(2)
        num_queries = height * width

        queries = hidden.reshape(batch, channels, num_queries)  # (B, C, Q)
        projected = self.word_projection(words.unsqueeze(3)).squeeze(3)  # (B, C, T)
        scores = torch.bmm(queries.transpose(1, 2), projected)  # (B, Q, T)

        if word_mask is not None:
            if word_mask.shape != (batch, num_words):
                raise ValueError(
                    f"word_mask must be ({batch}, {num_words}) like the words, got {tuple(word_mask.shape)}"
                )
            word_mask = word_mask.to(torch.bool)
            if legacy_mask:
                row_mask = legacy_word_mask(word_mask, num_queries)  # (B, Q, T)
            else:
                row_mask = word_mask.unsqueeze(1)  # (B, 1, T), broadcast over Q
            scores = scores.masked_fill(row_mask, float("-inf"))

        attention = torch.softmax(scores, dim=2)  # (B, Q, T)
        context = torch.bmm(projected, attention.transpose(1, 2))  # (B, C, Q)
        context = context.view(batch, channels, height, width)
        attention = attention.transpose(1, 2).reshape(batch, num_words, height, width)
        return context, attention
