"""The training options beyond the release (model.training): hinge loss, gradient penalties, EMA ramp, λ ramp."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from attngan.errors import ConfigError
from attngan.losses import discriminator_loss, generator_loss, mismatched
from attngan.losses.penalties import (
    gradient_penalty,
    lazy_penalty_due,
    matching_aware_gradient_penalty,
    r1_penalty,
)
from attngan.models import Discriminator
from attngan.training.options import TrainingOptions


def _tiny_discriminator() -> tuple[Discriminator, torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    discriminator = Discriminator(16, 2, embedding_dim=6).double()
    real = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    fake = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    sentence = torch.randn(3, 6, dtype=torch.float64)
    return discriminator, real, fake, sentence


def test_hinge_losses_equal_their_formula() -> None:
    discriminator, real, fake, sentence = _tiny_discriminator()
    out = discriminator_loss(discriminator, real, fake, sentence, mismatched(sentence), loss_type="hinge")
    real_f, fake_f = discriminator(real), discriminator(fake)
    wrong = sentence.roll(-1, 0)
    ru = discriminator.unconditional_logits(real_f)
    rc = discriminator.conditional_logits(real_f, sentence)
    fu = discriminator.unconditional_logits(fake_f)
    fc = discriminator.conditional_logits(fake_f, sentence)
    wc = discriminator.conditional_logits(real_f, wrong)

    def hinge(x: torch.Tensor) -> torch.Tensor:  # max(0, x), written out
        return torch.where(x > 0, x, torch.zeros_like(x)).mean()

    expected = (hinge(1 - ru) + hinge(1 - rc)) / 2 + (hinge(1 + fu) + hinge(1 + fc) + hinge(1 + wc)) / 3
    torch.testing.assert_close(out["loss"], expected)
    torch.testing.assert_close(out["wrong_conditional"], hinge(1 + wc))

    g_out = generator_loss(discriminator, fake, sentence, loss_type="hinge")
    torch.testing.assert_close(g_out["loss"], -fu.mean() - fc.mean())
    # the release's BCE stays the default
    bce = discriminator_loss(discriminator, real, fake, sentence)
    torch.testing.assert_close(
        bce["real_unconditional"], F.binary_cross_entropy_with_logits(ru, torch.ones_like(ru))
    )


def test_unknown_loss_type_is_refused() -> None:
    discriminator, real, fake, sentence = _tiny_discriminator()
    with pytest.raises(ValueError, match="adversarial_loss must be one of"):
        discriminator_loss(discriminator, real, fake, sentence, loss_type="wasserstein")


def _per_sample_gradients(
    discriminator: Discriminator, real: torch.Tensor, sentence: torch.Tensor, head: str
):
    """∇ of each sample's logit with respect to its own image (and sentence), one logit at a time: the
    independent reference (with the discriminator in eval mode, where BatchNorm does not couple samples)."""
    rows = []
    for k in range(real.shape[0]):
        x = real.clone().requires_grad_(True)
        s = sentence.clone().requires_grad_(True)
        features = discriminator(x)
        if head == "conditional":
            logit = discriminator.conditional_logits(features, s)[k]
            gx, gs = torch.autograd.grad(logit, (x, s))
            rows.append(torch.cat((gx[k].flatten(), gs[k].flatten())))
        else:
            logit = discriminator.unconditional_logits(features)[k]
            (gx,) = torch.autograd.grad(logit, x)
            rows.append(gx[k].flatten())
    return torch.stack(rows)


def test_matching_aware_gradient_penalty_equals_autograd_reference() -> None:
    discriminator, real, _, sentence = _tiny_discriminator()
    penalty = matching_aware_gradient_penalty(discriminator, real, sentence, weight=2.0, power=6.0)
    grads = _per_sample_gradients(discriminator, real, sentence, "conditional")
    # the batch's logits depend on other samples only through BatchNorm statistics; the penalty takes the
    # gradient of the sum, i.e. includes those cross terms: compare with the gradient of the sum as well
    x = real.clone().requires_grad_(True)
    s = sentence.clone().requires_grad_(True)
    gx, gs = torch.autograd.grad(discriminator.conditional_logits(discriminator(x), s).sum(), (x, s))
    norms = torch.cat((gx.flatten(1), gs.flatten(1)), dim=1).norm(dim=1)
    torch.testing.assert_close(penalty, 2.0 * (norms**6).mean())
    assert grads.shape == (3, 3 * 16 * 16 + 6)
    # differentiable with respect to the discriminator's weights (it is a D loss term)
    penalty.backward()
    assert discriminator.conditional_head.logits.weight.grad.abs().sum() > 0
    assert next(discriminator.down_blocks.parameters()).grad.abs().sum() > 0


def test_matching_aware_gradient_penalty_per_sample_without_batch_coupling() -> None:
    discriminator, real, _, sentence = _tiny_discriminator()
    discriminator.eval()  # BatchNorm from running statistics: samples independent, gradients per sample exact
    penalty = matching_aware_gradient_penalty(discriminator, real, sentence, weight=0.5, power=2.0)
    grads = _per_sample_gradients(discriminator, real, sentence, "conditional")
    torch.testing.assert_close(penalty, 0.5 * grads.pow(2).sum(1).mean())


def test_r1_penalty_equals_autograd_reference() -> None:
    discriminator, real, _, sentence = _tiny_discriminator()
    discriminator.eval()
    grads = _per_sample_gradients(discriminator, real, sentence, "unconditional")
    torch.testing.assert_close(r1_penalty(discriminator, real, weight=10.0), 5.0 * grads.pow(2).sum(1).mean())
    torch.testing.assert_close(
        gradient_penalty("r1", discriminator, real, sentence, weight=10.0),
        r1_penalty(discriminator, real, 10.0),
    )


def test_lazy_penalty_schedule() -> None:
    assert [lazy_penalty_due("ma_gp", step, 4) for step in range(9)] == [
        True, False, False, False, True, False, False, False, True,
    ]  # fmt: skip
    assert not any(lazy_penalty_due("none", step, 1) for step in range(5))
    assert all(lazy_penalty_due("r1", step, 1) for step in range(5))


def test_ema_ramp_follows_stylegan2_ada() -> None:
    options = TrainingOptions(ema_rampup=0.05)
    batch = 32
    for images_seen in (32, 320, 3_200, 32_000, 320_000):
        target_halflife = batch * math.log(0.5) / math.log(0.99)  # what decay 0.99 means in images
        ema_nimg = min(target_halflife, 0.05 * images_seen)  # StyleGAN2-ADA: min(ema_kimg, rampup * cur_nimg)
        expected = 0.5 ** (batch / ema_nimg)
        assert options.ema_decay(0.99, batch, images_seen) == pytest.approx(expected, rel=1e-9)
    assert options.ema_decay(0.99, batch, 10**9) == pytest.approx(0.99)
    assert TrainingOptions().ema_decay(0.99, batch, 32) == 0.99  # the release: fixed


def test_lambda_ramp() -> None:
    options = TrainingOptions(lambda_damsm_start=1.0, lambda_rampup_steps=400)
    assert options.lambda_damsm(5.0, 0) == 1.0
    assert options.lambda_damsm(5.0, 200) == pytest.approx(3.0)
    assert options.lambda_damsm(5.0, 400) == 5.0
    assert options.lambda_damsm(5.0, 10_000) == 5.0
    assert TrainingOptions().lambda_damsm(5.0, 0) == 5.0


def test_release_defaults_have_no_departures_and_bad_values_are_named() -> None:
    assert TrainingOptions().departures() == {}
    assert TrainingOptions.from_config(None) == TrainingOptions()
    options = TrainingOptions.from_config({"adversarial_loss": "hinge", "gradient_penalty": "ma_gp"})
    assert options.departures() == {"adversarial_loss": "hinge", "gradient_penalty": "ma_gp"}
    for bad, key in [
        ({"adversarial_loss": "wgan"}, "adversarial_loss"),
        ({"gradient_penalty": "r2"}, "gradient_penalty"),
        ({"gradient_penalty_every": 0}, "gradient_penalty_every"),
        ({"hard_negative_fraction": 1.5}, "hard_negative_fraction"),
        ({"hard_negative_weights": {"texture": 1.0}}, "hard_negative_weights"),
        ({"ema_rampup": 0.0}, "ema_rampup"),
        ({"unknown_option": 1}, "unknown keys"),
    ]:
        with pytest.raises(ConfigError, match=key):
            TrainingOptions.from_config(bad)


def test_recipe_departures_name_every_option_by_its_full_key() -> None:
    from attngan.training import format_departures, recipe_departures

    release = compose_train_model("experiment=cub_attngan2")
    assert recipe_departures(release) == {}
    assert format_departures({}).startswith("the release recipe")
    config = {
        "model": {"training": {"hard_negative_fraction": 0.5}, "generator": {"coord_channels": True}},
        "data": {"fresh_images": True},
    }
    assert recipe_departures(config) == {
        "model.training.hard_negative_fraction": 0.5,
        "model.generator.coord_channels": True,
        "data.fresh_images": True,
    }
    assert "model.training.hard_negative_fraction=0.5" in format_departures(recipe_departures(config))


def compose_train_model(*overrides: str) -> dict:
    from omegaconf import OmegaConf

    from attngan.config import compose_config

    cfg = compose_config("train", ["paths.root_dir=/tmp", *overrides])
    return {"model": OmegaConf.to_container(cfg.model), "data": OmegaConf.to_container(cfg.data)}
