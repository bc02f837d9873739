"""Losses against plain references written from the paper's equations (float64, tight tolerances)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attngan.losses import (
    damsm_loss,
    discriminator_loss,
    generator_loss,
    kl_loss,
    mismatched,
    sentence_level_scores,
    word_level_scores,
)
from attngan.losses.damsm import class_mask
from attngan.models import Discriminator

GAMMA1, GAMMA2, GAMMA3 = 4.0, 5.0, 10.0


def _reference_pair_score(
    words: torch.Tensor, length: int, regions: torch.Tensor, gamma1: float, gamma2: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """R(Q, D) for one image and one caption, straight from Eqs. 7-10 (release convention: no 1/γ2).

    words (D, T), regions (D, h, w) -> (score, α (length, h*w)).
    """
    e = words[:, :length]  # (D, L): only the caption's own words
    v = regions.reshape(regions.size(0), -1)  # (D, R)
    s = e.t() @ v  # (L, R), Eq. 7: s_{t,r} = e_t · v_r
    s_bar = torch.exp(s) / torch.exp(s).sum(dim=0, keepdim=True)  # Eq. 8: normalised over words
    alpha = torch.exp(gamma1 * s_bar) / torch.exp(gamma1 * s_bar).sum(dim=1, keepdim=True)  # Eq. 9
    score = 0.0
    for t in range(length):
        c_t = (alpha[t].unsqueeze(0) * v).sum(dim=1)  # region-context vector of word t
        cosine = torch.dot(c_t, e[:, t]) / max(c_t.norm() * e[:, t].norm(), 1e-8)
        score = score + torch.exp(gamma2 * cosine)
    return torch.log(score), alpha


def _random_batch(batch: int = 5, dim: int = 7, num_words: int = 6, side: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    words = torch.randn(batch, dim, num_words, generator=gen, dtype=torch.float64)
    lengths = torch.randint(1, num_words + 1, (batch,), generator=gen)
    lengths[0], lengths[1] = num_words, 1  # always mixed, with the extremes
    words = words * (torch.arange(num_words) < lengths.unsqueeze(1)).unsqueeze(1)  # zero at padding
    regions = torch.randn(batch, dim, side, side, generator=gen, dtype=torch.float64)
    sentence = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
    image_global = torch.randn(batch, dim, generator=gen, dtype=torch.float64)
    return words, lengths, regions, sentence, image_global


def test_word_level_scores_equal_per_pair_reference() -> None:
    words, lengths, regions, _, _ = _random_batch()
    scores, attention = word_level_scores(words, lengths, regions, GAMMA1, GAMMA2, return_attention=True)
    batch = words.size(0)
    assert scores.shape == (batch, batch)
    assert attention.shape == (batch, 6, 3, 3)  # maps of the matched pairs
    for i in range(batch):  # image
        for j in range(batch):  # caption
            length = int(lengths[j])
            expected, alpha = _reference_pair_score(words[j], length, regions[i], GAMMA1, GAMMA2)
            torch.testing.assert_close(scores[i, j], expected, rtol=1e-12, atol=1e-12)
            if i == j:
                torch.testing.assert_close(
                    attention[i, :length].reshape(length, -1), alpha, rtol=1e-12, atol=1e-12
                )
                assert torch.all(attention[i, length:] == 0)


def test_word_level_scores_ignore_padding_content() -> None:
    words, lengths, regions, _, _ = _random_batch()
    noisy = words.clone()
    noisy[1, :, 1:] = 123.0  # caption 1 has one word: whatever sits in its padding must not matter
    torch.testing.assert_close(
        word_level_scores(noisy, lengths, regions, GAMMA1, GAMMA2),
        word_level_scores(words, lengths, regions, GAMMA1, GAMMA2),
        rtol=1e-12,
        atol=1e-12,
    )


def test_word_level_scores_rectangular() -> None:
    words, lengths, regions, _, _ = _random_batch(batch=4)
    scores = word_level_scores(words[:3], lengths[:3], regions, GAMMA1, GAMMA2)
    assert scores.shape == (4, 3)
    with pytest.raises(ValueError, match="matched pairs"):
        word_level_scores(words[:3], lengths[:3], regions, GAMMA1, GAMMA2, return_attention=True)
    torch.testing.assert_close(scores, word_level_scores(words, lengths, regions, GAMMA1, GAMMA2)[:, :3])


def test_sentence_level_scores_are_cosines() -> None:
    _, _, _, sentence, image_global = _random_batch()
    expected = F.cosine_similarity(image_global.unsqueeze(1), sentence.unsqueeze(0), dim=2)
    torch.testing.assert_close(sentence_level_scores(image_global, sentence), expected)


def test_class_mask() -> None:
    class_ids = torch.tensor([3, 5, 3, -1, -1, 5])
    mask = class_mask(class_ids, 6)
    expected = torch.zeros(6, 6, dtype=torch.bool)
    for i, j in [(0, 2), (2, 0), (1, 5), (5, 1)]:
        expected[i, j] = True
    assert torch.equal(mask, expected)  # -1 never masks, the diagonal never masks
    assert not class_mask(None, 4).any()
    assert not class_mask(torch.full((4,), -1), 4).any()


def _reference_matching_loss(
    logits: torch.Tensor, class_ids: list[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cross-entropy of the true match, both directions, dropping same-class negatives, one query at a time."""
    batch = logits.size(0)

    def one_direction(matrix: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for q in range(batch):
            keep = [
                k
                for k in range(batch)
                if k == q or class_ids is None or class_ids[q] == -1 or class_ids[k] != class_ids[q]
            ]
            row = matrix[q, keep]
            total = total - (matrix[q, q] - torch.log(torch.exp(row).sum()))
        return total / batch

    return one_direction(logits), one_direction(logits.t())


@pytest.mark.parametrize("class_ids", [None, [1, 2, 1, -1, 2], [-1, -1, -1, -1, -1], [4, 4, 4, 4, 7]])
def test_damsm_loss_equals_reference(class_ids: list[int] | None) -> None:
    words, lengths, regions, sentence, image_global = _random_batch()
    ids = None if class_ids is None else torch.tensor(class_ids)
    out = damsm_loss(words, lengths, regions, sentence, image_global, class_ids=ids)
    assert set(out) == {"word_i2t", "word_t2i", "sentence_i2t", "sentence_t2i", "loss"}

    batch = words.size(0)
    word_logits = (
        torch.stack(
            [
                torch.stack(
                    [
                        _reference_pair_score(words[j], int(lengths[j]), regions[i], GAMMA1, GAMMA2)[0]
                        for j in range(batch)
                    ]
                )
                for i in range(batch)
            ]
        )
        * GAMMA3
    )
    sentence_logits = torch.stack(
        [
            torch.stack(
                [
                    torch.dot(image_global[i], sentence[j])
                    / (image_global[i].norm() * sentence[j].norm())
                    * GAMMA3
                    for j in range(batch)
                ]
            )
            for i in range(batch)
        ]
    )
    word_i2t, word_t2i = _reference_matching_loss(word_logits, class_ids)
    sentence_i2t, sentence_t2i = _reference_matching_loss(sentence_logits, class_ids)
    tight = {"rtol": 1e-10, "atol": 1e-12}
    torch.testing.assert_close(out["word_i2t"], word_i2t, **tight)
    torch.testing.assert_close(out["word_t2i"], word_t2i, **tight)
    torch.testing.assert_close(out["sentence_i2t"], sentence_i2t, **tight)
    torch.testing.assert_close(out["sentence_t2i"], sentence_t2i, **tight)
    torch.testing.assert_close(out["loss"], word_i2t + word_t2i + sentence_i2t + sentence_t2i, **tight)


def test_damsm_loss_gradients_are_finite_with_class_masking() -> None:
    words, lengths, regions, sentence, image_global = _random_batch()
    regions.requires_grad_(True)
    words.requires_grad_(True)
    out = damsm_loss(words, lengths, regions, sentence, image_global, class_ids=torch.tensor([1, 1, 1, 2, 2]))
    out["loss"].backward()
    assert torch.isfinite(regions.grad).all() and torch.isfinite(words.grad).all()
    assert regions.grad.abs().sum() > 0


def test_damsm_loss_rejects_unmatched_batch() -> None:
    words, lengths, regions, sentence, image_global = _random_batch()
    with pytest.raises(ValueError, match="matched"):
        damsm_loss(words, lengths, regions[:4], sentence, image_global)


# --------------------------------------------------------------------------------------- adversarial, KL


def test_mismatched_shifts_by_one() -> None:
    sentence = torch.arange(4.0).unsqueeze(1)
    assert mismatched(sentence).squeeze(1).tolist() == [1.0, 2.0, 3.0, 0.0]


def test_discriminator_and_generator_losses_match_release_formula() -> None:
    torch.manual_seed(0)
    discriminator = Discriminator(16, 2, embedding_dim=6)
    real = torch.randn(3, 3, 16, 16)
    fake = torch.randn(3, 3, 16, 16, requires_grad=True)
    sentence = torch.randn(3, 6)
    out = discriminator_loss(discriminator, real, fake, sentence, mismatched(sentence))

    bce = torch.nn.BCELoss()  # the release: sigmoid outputs and BCELoss
    ones, zeros = torch.ones(3), torch.zeros(3)
    real_f, fake_f = discriminator(real), discriminator(fake.detach())
    real_u = bce(torch.sigmoid(discriminator.unconditional_logits(real_f)), ones)
    real_c = bce(torch.sigmoid(discriminator.conditional_logits(real_f, sentence)), ones)
    fake_u = bce(torch.sigmoid(discriminator.unconditional_logits(fake_f)), zeros)
    fake_c = bce(torch.sigmoid(discriminator.conditional_logits(fake_f, sentence)), zeros)
    wrong_c = bce(torch.sigmoid(discriminator.conditional_logits(real_f, sentence.roll(-1, 0))), zeros)
    torch.testing.assert_close(out["loss"], (real_u + real_c) / 2 + (fake_u + fake_c + wrong_c) / 3)
    torch.testing.assert_close(out["wrong_conditional"], wrong_c)
    out["loss"].backward()
    assert fake.grad is None  # the discriminator loss never reaches the generator

    default = discriminator_loss(discriminator, real, fake, sentence)
    torch.testing.assert_close(default["loss"], out["loss"])

    g_out = generator_loss(discriminator, fake, sentence)
    fake_f = discriminator(fake)
    expected = bce(torch.sigmoid(discriminator.unconditional_logits(fake_f)), ones) + bce(
        torch.sigmoid(discriminator.conditional_logits(fake_f, sentence)), ones
    )
    torch.testing.assert_close(g_out["loss"], expected)
    g_out["loss"].backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0


def test_kl_loss() -> None:
    mu = torch.tensor([[0.5, -1.0]])
    logvar = torch.tensor([[0.2, -0.3]])
    expected = -0.5 * sum(1 + lv - m**2 - math.exp(lv) for m, lv in [(0.5, 0.2), (-1.0, -0.3)]) / 2
    assert kl_loss(mu, logvar).item() == pytest.approx(expected)
    assert kl_loss(torch.zeros(3, 4), torch.zeros(3, 4)).item() == 0.0
