"""Fast CPU tests of the networks (tiny widths; one random Inception-v3 shared by the module)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from attngan.errors import CheckpointError, ConfigError, WeightsNotFoundError
from attngan.models import (
    CNNImageEncoder,
    ConditioningAugmentation,
    Discriminator,
    Generator,
    GeneratorOutput,
    GlobalAttention,
    InceptionImageEncoder,
    TextEncoder,
    init_weights,
)
from attngan.models.attention import legacy_word_mask
from attngan.models.image_encoder import INCEPTION_WEIGHTS_FILE


def _word_mask(lengths: list[int], num_words: int) -> torch.Tensor:
    return torch.arange(num_words).unsqueeze(0) >= torch.tensor(lengths).unsqueeze(1)


# --------------------------------------------------------------------------------------------- generator


@pytest.mark.parametrize("num_stages", [1, 2, 3])
@pytest.mark.parametrize("base_size", [16, 32, 64])
def test_generator_output_shapes(num_stages: int, base_size: int) -> None:
    torch.manual_seed(0)
    batch, num_words, ngf = 2, 5, 4
    generator = Generator(num_stages, ngf, embedding_dim=16, z_dim=8, condition_dim=6, base_size=base_size)
    out = generator(
        torch.randn(batch, 8),
        torch.randn(batch, 16),
        torch.randn(batch, 16, num_words),
        _word_mask([5, 3], 5),
    )
    assert isinstance(out, GeneratorOutput)
    assert [tuple(x.shape) for x in out.images] == [
        (batch, 3, base_size * 2**i, base_size * 2**i) for i in range(num_stages)
    ]
    assert generator.image_sizes == [base_size * 2**i for i in range(num_stages)]
    assert [tuple(a.shape) for a in out.attention] == [
        (batch, num_words, base_size * 2**i, base_size * 2**i) for i in range(num_stages - 1)
    ]
    assert out.mu.shape == out.logvar.shape == (batch, 6)
    assert all(x.abs().max() <= 1 for x in out.images)


def test_generator_channel_plan_matches_release() -> None:
    generator = Generator(3, ngf=4, base_size=64)
    stage0 = generator.initial_stage
    assert stage0.fc.weight.shape == (4 * 16 * 4 * 4 * 2, 200)  # release: Linear(nz, ngf*16*4*4*2)
    # up blocks 16ngf -> 8ngf -> 4ngf -> 2ngf -> ngf; conv to 2*out (GLU halves)
    assert [tuple(b.conv.weight.shape[:2]) for b in stage0.upsample] == [(64, 64), (32, 32), (16, 16), (8, 8)]
    stage = generator.refinement_stages[0]
    assert stage.attention.word_projection.weight.shape == (4, 256, 1, 1)
    assert len(stage.residual) == 2
    assert stage.residual[0].conv1.weight.shape == (16, 8, 3, 3)
    assert stage.residual[0].conv2.weight.shape == (8, 8, 3, 3)
    assert stage.upsample.conv.weight.shape == (8, 8, 3, 3)
    assert generator.image_heads[0].conv.weight.shape == (3, 4, 3, 3)
    # smaller base sizes start lower and still end at ngf
    small = Generator(1, ngf=4, base_size=16)
    assert small.initial_stage.top_channels == 16
    assert small.initial_stage.upsample[-1].conv.weight.shape[0] == 2 * 4


def test_generator_rejects_bad_base_size() -> None:
    with pytest.raises(ConfigError, match="base_size"):
        Generator(1, 4, base_size=48)
    with pytest.raises(ConfigError, match="num_stages"):
        Generator(0, 4)


def test_generator_noise_shape_checked() -> None:
    generator = Generator(1, 4, base_size=16)
    with pytest.raises(ValueError, match="noise"):
        generator(torch.randn(2, 99), torch.randn(2, 256), torch.randn(2, 256, 3), None)


def test_coordinate_channels_and_coordconv_networks() -> None:
    from attngan.models.blocks import with_coordinates

    x = torch.zeros(2, 3, 4, 5)
    out = with_coordinates(x)
    assert out.shape == (2, 5, 4, 5) and torch.equal(out[:, :3], x)
    assert out[0, 3, 0].tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]  # x grows to the right
    assert out[1, 4, :, 0].tolist() == pytest.approx([-1.0, -1 / 3, 1 / 3, 1.0])  # y grows downwards
    torch.manual_seed(0)
    plain = Generator(num_stages=2, ngf=4, embedding_dim=8, z_dim=4, condition_dim=4, base_size=16)
    coord = Generator(
        num_stages=2, ngf=4, embedding_dim=8, z_dim=4, condition_dim=4, base_size=16, coord_channels=True
    )
    # two more input channels in every up block of stage 0, nothing else changes
    for a, b in zip(plain.initial_stage.upsample, coord.initial_stage.upsample, strict=True):
        assert b.conv.in_channels == a.conv.in_channels + 2
    assert (
        plain.refinement_stages[0].upsample.conv.in_channels
        == coord.refinement_stages[0].upsample.conv.in_channels
    )
    words = torch.randn(2, 8, 5)
    out = coord(torch.randn(2, 4), torch.randn(2, 8), words, _word_mask([5, 3], 5))
    assert [tuple(im.shape) for im in out.images] == [(2, 3, 16, 16), (2, 3, 32, 32)]
    disc = Discriminator(32, 2, embedding_dim=8, coord_channels=True)
    assert disc.down_blocks[0].conv.in_channels == 5
    assert disc(torch.randn(2, 3, 32, 32)).shape == (2, 16, 4, 4)


# --------------------------------------------------------------------------------------- discriminator


@pytest.mark.parametrize("image_size", [16, 32, 64, 128, 256])
def test_discriminator_logits_per_scale(image_size: int) -> None:
    torch.manual_seed(0)
    ndf = 2
    discriminator = Discriminator(image_size, ndf, embedding_dim=8)
    features = discriminator(torch.randn(2, 3, image_size, image_size))
    assert features.shape == (2, 8 * ndf, 4, 4)
    assert discriminator.unconditional_logits(features).shape == (2,)
    assert discriminator.conditional_logits(features, torch.randn(2, 8)).shape == (2,)
    assert discriminator.down_blocks[0].bn is None  # no BN on the first layer
    assert all(block.bn is not None for block in discriminator.down_blocks[1:])


def test_discriminator_plan_matches_release() -> None:
    ndf = 2
    outs = {s: [b.conv.out_channels for b in Discriminator(s, ndf).down_blocks] for s in (64, 128, 256)}
    refine = {s: [b.conv.out_channels for b in Discriminator(s, ndf).refine_blocks] for s in (64, 128, 256)}
    assert outs == {64: [2, 4, 8, 16], 128: [2, 4, 8, 16, 32], 256: [2, 4, 8, 16, 32, 64]}
    assert refine == {64: [], 128: [16], 256: [32, 16]}
    d = Discriminator(64, ndf, embedding_dim=8)
    assert d.conditional_head.joint.conv.weight.shape == (16, 16 + 8, 3, 3)
    assert d.conditional_head.logits.weight.shape == (1, 16, 4, 4)
    assert d.unconditional_head.weight.shape == (1, 16, 4, 4)


def test_discriminator_checks_input_size() -> None:
    with pytest.raises(ValueError, match="64"):
        Discriminator(64, 2)(torch.randn(1, 3, 32, 32))
    with pytest.raises(ConfigError):
        Discriminator(48, 2)


# ------------------------------------------------------------------------------------------- attention


def _attention_inputs(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    batch, num_words = len(lengths), 6
    hidden = torch.randn(batch, 4, 3, 5, generator=gen)
    words = torch.randn(batch, 8, num_words, generator=gen)
    return hidden, words, _word_mask(lengths, num_words)


def test_attention_fixed_mask_gives_zero_weight_at_padding() -> None:
    torch.manual_seed(0)
    attention = GlobalAttention(4, 8)
    lengths = [6, 2, 4, 1]
    hidden, words, mask = _attention_inputs(lengths)
    context, maps = attention(hidden, words, mask)
    assert context.shape == (4, 4, 3, 5)
    assert maps.shape == (4, 6, 3, 5)
    for b, length in enumerate(lengths):
        assert torch.all(maps[b, length:] == 0), f"sample {b} attends to padding"
        assert torch.all(maps[b, :length] > 0)
    torch.testing.assert_close(maps.sum(dim=1), torch.ones(4, 3, 5))
    # context = Σ_i β_i e'_i with e' the projected words
    projected = attention.word_projection(words.unsqueeze(3)).squeeze(3)
    torch.testing.assert_close(context, torch.einsum("bct,bthw->bchw", projected, maps))


def _release_style_masked_softmax(scores_bqt: torch.Tensor, mask_bt: torch.Tensor) -> torch.Tensor:
    """The release's layout, written out: rows (B*Q, T), mask tiled with ``repeat(Q, 1)``."""
    batch, queries, words = scores_bqt.shape
    rows = scores_bqt.reshape(batch * queries, words).clone()
    tiled = mask_bt.repeat(queries, 1)
    rows[tiled] = float("-inf")
    return torch.softmax(rows, dim=1).view(batch, queries, words)


def test_attention_legacy_mask_reproduces_release_layout() -> None:
    torch.manual_seed(0)
    attention = GlobalAttention(4, 8)
    hidden, words, mask = _attention_inputs([6, 2, 4])
    _, maps = attention(hidden, words, mask, legacy_mask=True)
    projected = attention.word_projection(words.unsqueeze(3)).squeeze(3)
    scores = torch.bmm(hidden.flatten(2).transpose(1, 2), projected)  # (B, Q, T)
    expected = _release_style_masked_softmax(scores, mask).transpose(1, 2).reshape(3, 6, 3, 5)
    torch.testing.assert_close(maps, expected)
    # row r of the flattened scores gets the mask of sample r % B
    legacy = legacy_word_mask(mask, 15).reshape(45, 6)
    for row in range(45):
        assert torch.equal(legacy[row], mask[row % 3])


def test_attention_legacy_differs_on_mixed_lengths_and_equals_on_equal_lengths() -> None:
    torch.manual_seed(0)
    attention = GlobalAttention(4, 8)
    hidden, words, mask = _attention_inputs([6, 2, 4])
    fixed, _ = attention(hidden, words, mask)
    legacy, legacy_maps = attention(hidden, words, mask, legacy_mask=True)
    assert not torch.allclose(fixed, legacy)
    assert (legacy_maps[1, 2:] > 0).any(), "the release bug lets sample 1 attend to its padding"

    hidden, words, mask = _attention_inputs([4, 4, 4])
    fixed, fixed_maps = attention(hidden, words, mask)
    legacy, legacy_maps = attention(hidden, words, mask, legacy_mask=True)
    assert torch.equal(fixed, legacy)
    assert torch.equal(fixed_maps, legacy_maps)


# ------------------------------------------------------------------------------------------ conditioning


def test_conditioning_augmentation() -> None:
    torch.manual_seed(0)
    ca = ConditioningAugmentation(embedding_dim=16, condition_dim=5)
    sentence = torch.randn(3, 16)
    c, mu, logvar = ca(sentence)
    assert c.shape == mu.shape == logvar.shape == (3, 5)
    hidden = ca.fc(sentence)
    gated = hidden[:, :10] * torch.sigmoid(hidden[:, 10:])
    torch.testing.assert_close(mu, gated[:, :5])
    torch.testing.assert_close(logvar, gated[:, 5:])
    torch.manual_seed(1)
    eps = torch.randn(3, 5)
    torch.manual_seed(1)
    c, _, _ = ca(sentence)
    torch.testing.assert_close(c, mu + eps * torch.exp(0.5 * logvar))


def test_conditioning_augmentation_with_given_epsilon() -> None:
    torch.manual_seed(0)
    ca = ConditioningAugmentation(embedding_dim=16, condition_dim=5)
    sentence, eps = torch.randn(3, 16), torch.randn(3, 5)
    state = torch.get_rng_state()
    c, mu, logvar = ca(sentence, eps)
    assert torch.equal(torch.get_rng_state(), state)  # a given ε draws nothing from the global generator
    assert torch.equal(c, mu + eps * torch.exp(0.5 * logvar))
    torch.manual_seed(5)
    assert torch.equal(ca(sentence, eps)[0], c)
    with pytest.raises(ValueError, match=r"condition_noise .*\(3, 5\).*got \(3, 4\)"):
        ca(sentence, torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"condition_noise .*\(3, 5\).*got \(2, 5\)"):
        ca(sentence, torch.randn(2, 5))


def _hooked_epsilon(generator: Generator, eps: torch.Tensor):
    """The forward hook that fixed ε before it became an argument (the old ``pipeline.fixed_condition_noise``)."""

    def replace(module, args, output):
        _, mu, logvar = output
        return mu + eps.to(mu) * torch.exp(0.5 * logvar), mu, logvar

    return generator.conditioning.register_forward_hook(replace)


def test_generator_condition_noise_is_deterministic_and_equals_the_old_hook() -> None:
    torch.manual_seed(0)
    generator = Generator(2, 4, embedding_dim=16, z_dim=8, condition_dim=6, base_size=16).eval()
    inputs = (torch.randn(3, 8), torch.randn(3, 16), torch.randn(3, 16, 5), _word_mask([5, 3, 1], 5))
    eps = torch.randn(3, 6)
    torch.manual_seed(1)
    given = generator(*inputs, condition_noise=eps)
    torch.manual_seed(2)
    again = generator(*inputs, eps)
    handle = _hooked_epsilon(generator, eps)
    try:
        hooked = generator(*inputs)
    finally:
        handle.remove()
    for a, b, c in zip(given.images, again.images, hooked.images, strict=True):
        assert torch.equal(a, b) and torch.equal(a, c)
    for a, c in zip(given.attention, hooked.attention, strict=True):
        assert torch.equal(a, c)
    torch.manual_seed(3)
    assert not torch.equal(generator(*inputs).images[-1], given.images[-1])  # None: CA draws ε itself
    with pytest.raises(ValueError, match="condition_noise"):
        generator(*inputs, condition_noise=torch.randn(3, 5))


# ------------------------------------------------------------------------------------------ text encoder


def _captions(lengths: list[int], num_words: int, vocab: int = 30, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    captions = torch.randint(1, vocab, (len(lengths), num_words), generator=gen)
    return captions.masked_fill(_word_mask(lengths, num_words), 0)


@pytest.mark.parametrize("rnn_type", ["lstm", "gru"])
def test_text_encoder_padding_and_unsorted_lengths(rnn_type: str) -> None:
    torch.manual_seed(0)
    encoder = TextEncoder(30, embedding_dim=12, hidden_dim=5, rnn_type=rnn_type).eval()
    assert encoder.output_dim == 10
    lengths = [3, 7, 1, 5]
    captions = _captions(lengths, 8)
    words, sentence = encoder(captions, torch.tensor(lengths))
    assert words.shape == (4, 10, 8)  # full padded width, even though the longest caption has 7 words
    assert sentence.shape == (4, 10)
    for b, length in enumerate(lengths):
        assert torch.all(words[b, :, length:] == 0)
        assert torch.all(words[b, :, :length] != 0)

    order = torch.argsort(torch.tensor(lengths), descending=True)
    sorted_words, sorted_sentence = encoder(captions[order], torch.tensor(lengths)[order])
    torch.testing.assert_close(sorted_words, words[order])
    torch.testing.assert_close(sorted_sentence, sentence[order])

    # each caption alone, without padding: words match, and the sentence is
    # [forward state after the last word; backward state after the first word]
    for b, length in enumerate(lengths):
        alone_words, alone_sentence = encoder(captions[b : b + 1, :length], torch.tensor([length]))
        torch.testing.assert_close(alone_words[0], words[b, :, :length])
        torch.testing.assert_close(alone_sentence[0], sentence[b])
        torch.testing.assert_close(sentence[b, :5], words[b, :5, length - 1])
        torch.testing.assert_close(sentence[b, 5:], words[b, 5:, 0])


def test_text_encoder_init_and_checks() -> None:
    encoder = TextEncoder(50)
    assert encoder.embedding.weight.abs().max() <= 0.1
    assert encoder.output_dim == 256
    with pytest.raises(ValueError, match="lengths"):
        encoder(torch.ones(2, 4, dtype=torch.long), torch.tensor([5, 1]))
    with pytest.raises(ConfigError):
        TextEncoder(50, rnn_type="transformer")


# ----------------------------------------------------------------------------------------- image encoders


@pytest.fixture(scope="module")
def inception() -> InceptionImageEncoder:
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="RANDOM weights"):
        return InceptionImageEncoder(embedding_dim=16, pretrained=False)


def test_inception_frozen_backbone_survives_training_steps(inception: InceptionImageEncoder) -> None:
    backbone_before = {k: v.clone() for k, v in inception.backbone.state_dict().items()}
    heads_before = [p.clone() for p in inception.trainable_parameters()]
    inception.train()
    assert inception.training and not inception.backbone.training
    assert not any(m.training for m in inception.backbone.modules())
    assert all(not p.requires_grad for p in inception.backbone.parameters())
    trainable = list(inception.trainable_parameters())
    assert len(trainable) == 3  # region conv weight, global linear weight + bias
    optimizer = torch.optim.Adam(trainable, lr=0.1)
    images = torch.rand(2, 3, 32, 32) * 2 - 1
    for _ in range(2):
        regions, global_features = inception(images)
        loss = regions.square().mean() + global_features.square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert regions.shape == (2, 16, 17, 17) and global_features.shape == (2, 16)
    for key, value in inception.backbone.state_dict().items():
        assert torch.equal(value, backbone_before[key]), f"backbone {key} changed"
    assert all(p.grad is None for p in inception.backbone.parameters())
    assert all(not torch.equal(a, b) for a, b in zip(heads_before, inception.trainable_parameters()))
    inception.eval()


def test_inception_gradient_reaches_input_images(inception: InceptionImageEncoder) -> None:
    inception.eval()
    graph_built: list[bool] = []
    hook = inception.backbone.Mixed_6e.register_forward_hook(
        lambda m, i, o: graph_built.append(o.requires_grad)
    )
    try:
        images = (torch.rand(1, 3, 32, 32) * 2 - 1).requires_grad_(True)
        regions, global_features = inception(images)
        (regions.sum() + global_features.sum()).backward()
        assert images.grad is not None and images.grad.abs().sum() > 0
        assert all(p.grad is None for p in inception.backbone.parameters())
        # images without gradients: no autograd graph through the frozen backbone, only the heads
        regions, _ = inception(images.detach())
        assert regions.requires_grad
    finally:
        hook.remove()
    assert graph_built == [True, False]


def test_inception_backbone_train_mode_reproduces_release_drift(inception: InceptionImageEncoder) -> None:
    inception.backbone_train_mode = True
    try:
        inception.train()
        assert inception.backbone.training
        before = inception.backbone.Conv2d_1a_3x3.bn.running_mean.clone()
        with torch.no_grad():
            inception(torch.rand(2, 3, 32, 32))
        assert not torch.equal(before, inception.backbone.Conv2d_1a_3x3.bn.running_mean)
        inception.backbone.Conv2d_1a_3x3.bn.running_mean.copy_(before)
    finally:
        inception.backbone_train_mode = False
        inception.eval()


def test_inception_head_init(inception: InceptionImageEncoder) -> None:
    assert inception.region_head.bias is None
    assert inception.region_head.weight.shape == (16, 768, 1, 1)
    assert inception.global_head.weight.shape == (16, 2048)


def test_inception_missing_weights_names_file_places_and_key(tmp_path, monkeypatch) -> None:
    missing = tmp_path / "nowhere" / INCEPTION_WEIGHTS_FILE
    with pytest.raises(WeightsNotFoundError) as err:
        InceptionImageEncoder(weights_path=missing)
    message = str(err.value)
    assert INCEPTION_WEIGHTS_FILE in message and str(missing) in message
    assert "model.image_encoder.weights_path" in message

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(WeightsNotFoundError) as err:
        InceptionImageEncoder()
    assert str(tmp_path / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE) in str(err.value)


def test_inception_loads_torchvision_weights_file(tmp_path, monkeypatch) -> None:
    from torchvision.models.inception import Inception3

    torch.manual_seed(0)
    reference = Inception3(aux_logits=True, init_weights=False)  # torchvision's key layout, fc + AuxLogits
    with torch.no_grad():
        reference.Mixed_6e.branch1x1.conv.weight.normal_()
        reference.Conv2d_1a_3x3.bn.running_var.fill_(3.0)
    path = tmp_path / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILE
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    encoder = InceptionImageEncoder(embedding_dim=8)
    assert encoder.weights_path == str(path)
    assert torch.equal(
        encoder.backbone.Mixed_6e.branch1x1.conv.weight, reference.Mixed_6e.branch1x1.conv.weight
    )
    assert torch.equal(encoder.backbone.Conv2d_1a_3x3.bn.running_var, reference.Conv2d_1a_3x3.bn.running_var)

    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"bad\.pth"):
        InceptionImageEncoder(weights_path=bad)


def test_cnn_image_encoder_shapes_and_trainable() -> None:
    torch.manual_seed(0)
    encoder = CNNImageEncoder(embedding_dim=16, input_size=64, base_channels=4)
    regions, global_features = encoder(torch.rand(3, 3, 32, 32) * 2 - 1)  # resized to 64
    assert regions.shape == (3, 16, 8, 8) and encoder.region_size == 8
    assert global_features.shape == (3, 16)
    assert len(list(encoder.trainable_parameters())) == len(list(encoder.parameters()))
    assert all(p.requires_grad for p in encoder.trainable_parameters())
    assert CNNImageEncoder(embedding_dim=16, input_size=128, base_channels=4)(torch.rand(1, 3, 128, 128))[
        0
    ].shape == (1, 16, 16, 16)


def test_frozen_cnn_image_encoder_encodes_each_image_on_its_own() -> None:
    """In eval mode (how the AttnGAN loss uses it) an image's features do not depend on its batch.

    With batch statistics they did, and the generator exploited it (docs/decisions/010-ordinary-batchnorm-in-shapes-cnn-encoder.md).
    """
    torch.manual_seed(0)
    encoder = CNNImageEncoder(embedding_dim=16, input_size=64, base_channels=4)
    for _ in range(3):  # training forwards fill the running statistics
        encoder(torch.rand(8, 3, 64, 64) * 2 - 1)
    encoder.eval()
    images = torch.rand(6, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        together = encoder(images)
        alone = encoder(images[:1])
        dimmed = encoder(torch.cat([images[:1], images[1:] * 0.1]))  # other images changed
    for a, b, c in zip(together, alone, dimmed, strict=True):
        torch.testing.assert_close(a[:1], b)
        torch.testing.assert_close(c[:1], b)
    assert all(buffer.numel() for name, buffer in encoder.named_buffers() if name.endswith("running_mean"))


# ---------------------------------------------------------------------------------------------------- init


def test_init_weights_statistics() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(8, 16, 3, bias=True), nn.BatchNorm2d(4096), nn.Linear(64, 32), nn.BatchNorm1d(8)
    )
    init_weights(net)
    conv_rows = net[0].weight.reshape(16, -1)  # 16 x 72: orthonormal rows
    torch.testing.assert_close(conv_rows @ conv_rows.t(), torch.eye(16), atol=1e-5, rtol=0)
    linear = net[2].weight  # 32 x 64
    torch.testing.assert_close(linear @ linear.t(), torch.eye(32), atol=1e-5, rtol=0)
    assert torch.all(net[0].bias == 0) and torch.all(net[2].bias == 0)
    bn = net[1].weight
    assert abs(bn.mean().item() - 1) < 0.003 and abs(bn.std().item() - 0.02) < 0.003
    assert torch.all(net[1].bias == 0) and torch.all(net[3].bias == 0)


def test_generator_and_discriminator_are_initialised() -> None:
    torch.manual_seed(0)
    generator = Generator(2, ngf=4, base_size=16)
    weight = generator.refinement_stages[0].residual[0].conv2.weight.reshape(8, -1)
    torch.testing.assert_close(weight @ weight.t(), torch.eye(8), atol=1e-5, rtol=0)
    fc = generator.conditioning.fc
    assert torch.all(fc.bias == 0)
    torch.testing.assert_close(fc.weight.t() @ fc.weight, torch.eye(256), atol=1e-5, rtol=0)  # 400 x 256
    discriminator = Discriminator(32, 4)
    assert torch.all(discriminator.unconditional_head.bias == 0)
    assert math.isclose(discriminator.down_blocks[1].bn.weight.mean().item(), 1.0, abs_tol=0.05)
