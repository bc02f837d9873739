"""DAMSM image–text matching loss (paper Eqs. 7–14; release ``miscc/losses.py``).

Conventions, fixed to match the released encoders:

- The word-level image–text score is ``R(Q, D) = log Σ_i exp(γ2 · R(c_i, e_i))`` **without** the paper's
  ``1/γ2`` exponent, as in the release (``words_loss``); the missing factor is absorbed by γ3.
- Cosines clamp the product of the norms at 1e-8, as the release's ``cosine_similarity``.
- Scores are laid out ``(B_images, B_captions)``: row i = image i. ``*_i2t`` is the cross-entropy over
  each row (image -> its caption; the release's ``loss0``), ``*_t2i`` over each column (``loss1``).

Everything is computed for all image–caption pairs at once; there is no Python loop over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from attngan.text.encoding import padding_mask

COSINE_EPS = 1e-8


def word_level_scores(
    words: torch.Tensor,
    lengths: torch.Tensor,
    regions: torch.Tensor,
    gamma1: float,
    gamma2: float,
    return_attention: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Word-level image–text scores ``R(Q_i, D_j)`` for every image i and caption j.

    For caption j (words e_t, t < length_j) and image i (regions v_r), in the release's order:
    ``s_{r,t} = v_r · e_t`` (Eq. 7); softmax over the caption's words (Eq. 8); times γ1, softmax over
    regions -> α (Eq. 9); region context ``c_t = Σ_r α_{t,r} v_r``; ``R = log Σ_t exp(γ2 cos(c_t, e_t))``
    (Eq. 10, no 1/γ2). Padded words take no part anywhere.

    Args:
        words: word features e, ``(B_captions, D, T)``.
        lengths: ``(B_captions,)`` real words per caption, ``1 <= length <= T``.
        regions: region features v, ``(B_images, D, h, w)``.
        gamma1: γ1, attention sharpness over regions (4.0 in the released configs).
        gamma2: γ2, word-relevance sharpness (5.0).
        return_attention: also return the region attention α of the matched pairs (image k with
            caption k, as the release's ``att_maps``); needs ``B_images == B_captions``.

    Returns:
        scores ``(B_images, B_captions)``; with ``return_attention`` also α of the matched pairs,
        ``(B, T, h, w)``, summing to 1 over the regions of each real word and zero for padded words.
    """
    num_captions, dim, num_words = words.shape
    num_images, region_dim, height, width = regions.shape
    if region_dim != dim:
        raise ValueError(f"words (B, D, T) and regions (B, D, h, w) must share D, got {dim} and {region_dim}")
    if lengths.shape != (num_captions,):
        raise ValueError(f"lengths must be ({num_captions},), got {tuple(lengths.shape)}")
    num_regions = height * width

    pad = padding_mask(lengths, num_words)  # (Bc, T)
    region_vectors = regions.reshape(num_images, dim, num_regions)  # (Bi, D, R)
    all_words = words.permute(1, 0, 2).reshape(dim, num_captions * num_words)  # (D, Bc*T)

    # Eq. 7, every region against every word of every caption, laid out so that both matmuls are
    # plain batched products without permuted copies.
    similarity = torch.matmul(region_vectors.transpose(1, 2), all_words)  # (Bi, R, Bc*T)
    similarity = similarity.view(num_images, num_regions, num_captions, num_words)  # (Bi, R, Bc, T)
    word_weights = torch.softmax(similarity.masked_fill(pad, float("-inf")), dim=3)  # over words, Eq. 8
    region_weights = torch.softmax(word_weights * gamma1, dim=1)  # over regions, Eq. 9: α

    context = torch.bmm(region_vectors, region_weights.view(num_images, num_regions, -1))  # (Bi, D, Bc*T)
    context = context.view(num_images, dim, num_captions, num_words)  # c_t, (Bi, D, Bc, T)
    # c_t · e_t = Σ_r α_{t,r} (v_r · e_t): reuse the similarities instead of another D-sized product.
    dot = (region_weights * similarity).sum(dim=1)  # (Bi, Bc, T)
    norms = context.norm(dim=1) * words.norm(dim=1).unsqueeze(0)  # (Bi, Bc, T)
    cosine = dot / norms.clamp(min=COSINE_EPS)
    relevance = (cosine * gamma2).masked_fill(pad.unsqueeze(0), float("-inf"))
    scores = torch.logsumexp(relevance, dim=2)  # (Bi, Bc), Eq. 10 without 1/γ2

    if not return_attention:
        return scores
    if num_images != num_captions:
        raise ValueError(
            f"return_attention needs matched pairs (as many images as captions), got {num_images} images "
            f"and {num_captions} captions"
        )
    index = torch.arange(num_images, device=regions.device)
    attention = region_weights[index, :, index]  # matched pairs (image k, caption k): (B, R, T)
    attention = attention.masked_fill(pad.unsqueeze(1), 0.0)
    attention = attention.transpose(1, 2).reshape(num_images, num_words, height, width)
    return scores, attention


def sentence_level_scores(image_global: torch.Tensor, sentence: torch.Tensor) -> torch.Tensor:
    """Cosine of every global image code with every sentence vector.

    Args:
        image_global: v̄, ``(B_images, D)``.
        sentence: ē, ``(B_captions, D)``.

    Returns:
        ``(B_images, B_captions)`` cosines (product of norms clamped at 1e-8, as the release).
    """
    if image_global.dim() != 2 or sentence.dim() != 2 or image_global.size(1) != sentence.size(1):
        raise ValueError(
            f"image_global (B, D) and sentence (B, D) must share D, got {tuple(image_global.shape)} "
            f"and {tuple(sentence.shape)}"
        )
    dot = image_global @ sentence.t()
    norms = image_global.norm(dim=1, keepdim=True) * sentence.norm(dim=1).unsqueeze(0)
    return dot / norms.clamp(min=COSINE_EPS)


def class_mask(
    class_ids: torch.Tensor | None, batch_size: int, device: torch.device | None = None
) -> torch.Tensor:
    """Negatives removed from the DAMSM posterior: same class as the query, other than the true match.

    ``mask[i, j]`` is True when ``j != i`` and ``class_ids[j] == class_ids[i] != -1``; -1 means "no
    class" and never masks. None masks nothing.

    Returns:
        ``(B, B)`` bool.
    """
    if class_ids is None:
        return torch.zeros(batch_size, batch_size, dtype=torch.bool, device=device)
    if class_ids.shape != (batch_size,):
        raise ValueError(f"class_ids must be ({batch_size},), got {tuple(class_ids.shape)}")
    same = class_ids.unsqueeze(0) == class_ids.unsqueeze(1)
    known = (class_ids != -1).unsqueeze(1)
    off_diagonal = ~torch.eye(batch_size, dtype=torch.bool, device=class_ids.device)
    return same & known & off_diagonal


def _matching_losses(scores: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of matched pairs over rows (i2t) and columns (t2i) of ``(B, B)`` logits."""
    scores = scores.masked_fill(mask, float("-inf"))
    labels = torch.arange(scores.size(0), device=scores.device)
    return F.cross_entropy(scores, labels), F.cross_entropy(scores.t(), labels)


def damsm_loss(
    words: torch.Tensor,
    lengths: torch.Tensor,
    regions: torch.Tensor,
    sentence: torch.Tensor,
    image_global: torch.Tensor,
    class_ids: torch.Tensor | None = None,
    gamma1: float = 4.0,
    gamma2: float = 5.0,
    gamma3: float = 10.0,
) -> dict[str, torch.Tensor]:
    """DAMSM loss of a batch of B matched image–caption pairs (pair k = image k, caption k).

    Args:
        words: word features e, ``(B, D, T)``.
        lengths: ``(B,)`` real words per caption.
        regions: region features v, ``(B, D, h, w)``.
        sentence: sentence features ē, ``(B, D)``.
        image_global: global image features v̄, ``(B, D)``.
        class_ids: ``(B,)`` class per pair, -1 = unknown; same-class pairs other than the match are
            removed from the negatives. None masks nothing.
        gamma1: γ1 (region attention).
        gamma2: γ2 (word relevance).
        gamma3: γ3 (posterior smoothing, both levels).

    Returns:
        ``{"word_i2t", "word_t2i", "sentence_i2t", "sentence_t2i", "loss"}``; ``loss`` is the sum
        ``Lw1 + Lw2 + Ls1 + Ls2``.
    """
    batch = words.size(0)
    if regions.size(0) != batch or sentence.size(0) != batch or image_global.size(0) != batch:
        raise ValueError(
            "damsm_loss needs B matched pairs: got words "
            f"{tuple(words.shape)}, regions {tuple(regions.shape)}, sentence {tuple(sentence.shape)}, "
            f"image_global {tuple(image_global.shape)}"
        )
    mask = class_mask(class_ids, batch, device=words.device)
    word_scores = word_level_scores(words, lengths, regions, gamma1, gamma2) * gamma3
    word_i2t, word_t2i = _matching_losses(word_scores, mask)
    sentence_scores = sentence_level_scores(image_global, sentence) * gamma3
    sentence_i2t, sentence_t2i = _matching_losses(sentence_scores, mask)
    return {
        "word_i2t": word_i2t,
        "word_t2i": word_t2i,
        "sentence_i2t": sentence_i2t,
        "sentence_t2i": sentence_t2i,
        "loss": word_i2t + word_t2i + sentence_i2t + sentence_t2i,
    }
