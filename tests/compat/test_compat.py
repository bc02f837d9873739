"""Loading the authors' released state dicts, and writing ours back in their format.

The release files are simulated from tables of key names and shapes written here from the release's
``code/model.py`` (RNN_ENCODER, CNN_ENCODER, G_NET) — not generated from our modules — filled with random
values. Reference forward passes are written from the release's order of operations with functional ops.
"""

from __future__ import annotations

import pickle
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from attngan.compat import (
    export_original_generator,
    export_original_image_encoder,
    export_original_text_encoder,
    load_original_generator,
    load_original_image_encoder,
    load_original_models,
    load_original_text_encoder,
)
from attngan.errors import CheckpointError, ConfigError, VocabularyMismatchError
from attngan.models import Generator

Shape = tuple[int, ...]


# ------------------------------------------------------------------------------------ release tables


def _batch_norm(table: dict[str, Shape], prefix: str, channels: int, tracked: bool) -> None:
    for name in ("weight", "bias", "running_mean", "running_var"):
        table[f"{prefix}.{name}"] = (channels,)
    if tracked:  # PyTorch >= 0.4.1 saves this counter; the 2018 release files (PyTorch 0.3) do not
        table[f"{prefix}.num_batches_tracked"] = ()


def release_text_encoder_table(vocab_size: int, rnn: str = "LSTM") -> dict[str, Shape]:
    """RNN_ENCODER(ntoken, ninput=300, nhidden=256 -> 128 per direction), one bidirectional layer."""
    gates = 4 if rnn == "LSTM" else 3
    table: dict[str, Shape] = {"encoder.weight": (vocab_size, 300)}
    for direction in ("", "_reverse"):
        table[f"rnn.weight_ih_l0{direction}"] = (gates * 128, 300)
        table[f"rnn.weight_hh_l0{direction}"] = (gates * 128, 128)
        table[f"rnn.bias_ih_l0{direction}"] = (gates * 128,)
        table[f"rnn.bias_hh_l0{direction}"] = (gates * 128,)
    return table


def release_generator_table(ngf: int, r_num: int, branch_num: int, tracked: bool = False) -> dict[str, Shape]:
    """G_NET with GF_DIM=ngf, R_NUM=r_num, TREE.BRANCH_NUM=branch_num, Z_DIM=CONDITION_DIM=100, nef=256."""
    table: dict[str, Shape] = {"ca_net.fc.weight": (400, 256), "ca_net.fc.bias": (400,)}
    # INIT_STAGE_G(ngf * 16, ncf): fc = Linear(200, 16ngf*4*4*2, bias=False), BatchNorm1d, GLU
    table["h_net1.fc.0.weight"] = (ngf * 16 * 4 * 4 * 2, 200)
    _batch_norm(table, "h_net1.fc.1", ngf * 16 * 4 * 4 * 2, tracked)
    # upBlock(in, out): Upsample, conv3x3(in, 2 out), BatchNorm2d(2 out), GLU
    for k, (c_in, c_out) in enumerate([(16, 8), (8, 4), (4, 2), (2, 1)], start=1):
        table[f"h_net1.upsample{k}.1.weight"] = (2 * c_out * ngf, c_in * ngf, 3, 3)
        _batch_norm(table, f"h_net1.upsample{k}.2", 2 * c_out * ngf, tracked)
    table["img_net1.img.0.weight"] = (3, ngf, 3, 3)
    for stage in range(2, branch_num + 1):
        table[f"h_net{stage}.att.conv_context.weight"] = (ngf, 256, 1, 1)
        for r in range(r_num):  # ResBlock(2ngf): conv3x3(2ngf, 4ngf), BN, GLU, conv3x3(2ngf, 2ngf), BN
            table[f"h_net{stage}.residual.{r}.block.0.weight"] = (4 * ngf, 2 * ngf, 3, 3)
            _batch_norm(table, f"h_net{stage}.residual.{r}.block.1", 4 * ngf, tracked)
            table[f"h_net{stage}.residual.{r}.block.3.weight"] = (2 * ngf, 2 * ngf, 3, 3)
            _batch_norm(table, f"h_net{stage}.residual.{r}.block.4", 2 * ngf, tracked)
        table[f"h_net{stage}.upsample.1.weight"] = (2 * ngf, 2 * ngf, 3, 3)  # upBlock(2ngf, ngf)
        _batch_norm(table, f"h_net{stage}.upsample.2", 2 * ngf, tracked)
        table[f"img_net{stage}.img.0.weight"] = (3, ngf, 3, 3)
    return table


def fill(table: dict[str, Shape], seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors of the table's shapes; variances positive, counters distinct integers."""
    gen = torch.Generator().manual_seed(seed)
    state: dict[str, torch.Tensor] = {}
    for i, (key, shape) in enumerate(table.items()):
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(1000 + i)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=gen) + 0.5
        else:
            state[key] = torch.randn(shape, generator=gen) * 0.2
    return state


def _save(state: dict[str, torch.Tensor], path) -> str:
    torch.save(state, path)
    return str(path)


def _fingerprint(tensor: torch.Tensor) -> tuple:
    flat = tensor.detach().flatten().double()
    return (tuple(tensor.shape), round(flat.sum().item(), 6), tuple(flat[:3].tolist()))


def _assert_every_tensor_placed(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Every release tensor (random, so unique) appears exactly once among the module's tensors."""
    ours: dict[tuple, list[torch.Tensor]] = {}
    for key, value in module.state_dict().items():
        if not key.endswith("num_batches_tracked"):
            ours.setdefault(_fingerprint(value), []).append(value)
    release = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
    assert sum(len(v) for v in ours.values()) == len(release)
    for key, value in release.items():
        matches = [v for v in ours.get(_fingerprint(value), []) if torch.equal(v, value)]
        assert len(matches) == 1, f"{key} landed {len(matches)} times"


# ------------------------------------------------------------------------------------------- text encoder


def _release_text_forward(state: dict[str, torch.Tensor], captions: torch.Tensor, lengths: torch.Tensor):
    """RNN_ENCODER.forward on a batch sorted by decreasing length (as the release's prepare_data does)."""
    lstm = nn.LSTM(300, 128, 1, batch_first=True, bidirectional=True)
    lstm.load_state_dict({k[len("rnn.") :]: v for k, v in state.items() if k.startswith("rnn.")})
    embedded = F.embedding(captions, state["encoder.weight"])
    packed = nn.utils.rnn.pack_padded_sequence(embedded, lengths.tolist(), batch_first=True)
    output, (h_n, _) = lstm(packed)
    output = nn.utils.rnn.pad_packed_sequence(output, batch_first=True)[0]
    words = output.transpose(1, 2)  # (B, 256, max length)
    sentence = h_n.transpose(0, 1).contiguous().view(-1, 256)
    return words, sentence


def test_text_encoder_loads_release_keys_and_matches_release_forward(tmp_path) -> None:
    state = fill(release_text_encoder_table(vocab_size=40))
    encoder = load_original_text_encoder(_save(state, tmp_path / "text_encoder200.pth"), vocab_size=40)
    assert not encoder.training
    assert (encoder.vocab_size, encoder.embedding_dim, encoder.hidden_dim, encoder.rnn_type) == (
        40,
        300,
        128,
        "lstm",
    )
    assert torch.equal(encoder.embedding.weight, state["encoder.weight"])
    assert torch.equal(encoder.rnn.weight_hh_l0_reverse, state["rnn.weight_hh_l0_reverse"])
    _assert_every_tensor_placed(encoder, state)

    lengths = torch.tensor([7, 5, 5, 2])  # sorted, as the release requires
    captions = torch.randint(1, 40, (4, 9)) * (torch.arange(9) < lengths.unsqueeze(1))
    expected_words, expected_sentence = _release_text_forward(state, captions, lengths)
    with torch.no_grad():
        words, sentence = encoder(captions, lengths)
        torch.testing.assert_close(words[:, :, :7], expected_words)
        torch.testing.assert_close(sentence, expected_sentence)

    exported = export_original_text_encoder(encoder)
    assert list(exported) == list(state)
    assert all(torch.equal(exported[k], state[k]) for k in state)


def test_text_encoder_gru_and_dataparallel_prefix(tmp_path) -> None:
    state = {f"module.{k}": v for k, v in fill(release_text_encoder_table(12, rnn="GRU")).items()}
    encoder = load_original_text_encoder(_save(state, tmp_path / "gru.pth"))
    assert encoder.rnn_type == "gru" and encoder.vocab_size == 12


def test_text_encoder_vocabulary_mismatch_names_datasets(tmp_path) -> None:
    path = _save(fill(release_text_encoder_table(vocab_size=5450)), tmp_path / "text_encoder200.pth")
    with pytest.raises(VocabularyMismatchError) as err:
        load_original_text_encoder(path, vocab_size=27297)
    message = str(err.value)
    assert "5450" in message and "birds" in message and "27297" in message and "COCO" in message


def test_text_encoder_missing_and_unknown_keys_are_listed(tmp_path) -> None:
    state = fill(release_text_encoder_table(vocab_size=10))
    del state["rnn.bias_hh_l0_reverse"]
    state["rnn.weight_ih_l1"] = torch.zeros(3)
    with pytest.raises(CheckpointError) as err:
        load_original_text_encoder(_save(state, tmp_path / "t.pth"))
    assert "rnn.bias_hh_l0_reverse" in str(err.value) and "rnn.weight_ih_l1" in str(err.value)


def test_unreadable_or_foreign_files_fail_clearly(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_original_text_encoder(tmp_path / "absent.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00not torch")
    with pytest.raises(
        CheckpointError, match=r"garbage\.pth' is not a checkpoint file \(expected the authors' released"
    ):
        load_original_generator(garbage)
    truncated = _save(fill(release_generator_table(2, 1, 1)), tmp_path / "cut.pth")
    with open(truncated, "r+b") as handle:
        handle.truncate(handle.seek(0, 2) // 2)
    with pytest.raises(
        CheckpointError, match=r"cut\.pth' cannot be read .*truncated or corrupt; download it again"
    ):
        load_original_generator(truncated)
    evil = tmp_path / "evil.pth"
    torch.save({"a": torch.zeros(1), "b": warnings.warn}, evil)
    with pytest.raises(
        CheckpointError, match=r"evil\.pth' is not a checkpoint file .*warnings\.warn"
    ) as info:
        load_original_generator(evil)
    assert "weights_only" not in str(info.value)  # never a hint towards unsafe loading
    generator_file = _save(fill(release_generator_table(2, 1, 1)), tmp_path / "g.pth")
    with pytest.raises(CheckpointError, match="text encoder"):
        load_original_text_encoder(generator_file)


# ---------------------------------------------------------------------------------------------- generator


def _release_generator_forward(
    state: dict[str, torch.Tensor],
    ngf: int,
    noise: torch.Tensor,
    sentence: torch.Tensor,
    words: torch.Tensor,
    mask: torch.Tensor,
) -> list[torch.Tensor]:
    """G_NET.forward in eval mode, written with functional ops from the release's order of operations."""

    def bn(x: torch.Tensor, prefix: str) -> torch.Tensor:
        return F.batch_norm(
            x,
            state[f"{prefix}.running_mean"],
            state[f"{prefix}.running_var"],
            state[f"{prefix}.weight"],
            state[f"{prefix}.bias"],
            training=False,
        )

    def glu(x: torch.Tensor) -> torch.Tensor:
        half = x.size(1) // 2
        return x[:, :half] * torch.sigmoid(x[:, half:])

    def conv3x3(x: torch.Tensor, key: str) -> torch.Tensor:
        return F.conv2d(x, state[key], padding=1)

    def up_block(x: torch.Tensor, prefix: str) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return glu(bn(conv3x3(x, f"{prefix}.1.weight"), f"{prefix}.2"))

    def attention(h: torch.Tensor, prefix: str) -> torch.Tensor:
        batch, _, height, width = h.shape
        queries, source_len = height * width, words.size(2)
        target = h.view(batch, -1, queries).transpose(1, 2)  # (B, Q, ngf)
        source = F.conv2d(words.unsqueeze(3), state[f"{prefix}.conv_context.weight"]).squeeze(
            3
        )  # (B, ngf, T)
        attn = torch.bmm(target, source).view(batch * queries, source_len)
        attn = attn.masked_fill(mask.repeat(queries, 1), float("-inf"))  # the release's tiling
        attn = torch.softmax(attn, dim=1).view(batch, queries, source_len).transpose(1, 2)
        return torch.bmm(source, attn).view(batch, -1, height, width)

    x = glu(F.linear(sentence, state["ca_net.fc.weight"], state["ca_net.fc.bias"]))
    mu, logvar = x[:, :100], x[:, 100:]
    c_code = torch.randn(mu.shape) * torch.exp(0.5 * logvar) + mu
    h = glu(bn(F.linear(torch.cat((c_code, noise), 1), state["h_net1.fc.0.weight"]), "h_net1.fc.1"))
    h = h.view(-1, 16 * ngf, 4, 4)
    for k in range(1, 5):
        h = up_block(h, f"h_net1.upsample{k}")
    images = [torch.tanh(conv3x3(h, "img_net1.img.0.weight"))]
    stage = 2
    while f"img_net{stage}.img.0.weight" in state:
        h = torch.cat((h, attention(h, f"h_net{stage}.att")), 1)
        r = 0
        while f"h_net{stage}.residual.{r}.block.0.weight" in state:
            p = f"h_net{stage}.residual.{r}.block"
            out = glu(bn(conv3x3(h, f"{p}.0.weight"), f"{p}.1"))
            h = h + bn(conv3x3(out, f"{p}.3.weight"), f"{p}.4")
            r += 1
        h = up_block(h, f"h_net{stage}.upsample")
        images.append(torch.tanh(conv3x3(h, f"img_net{stage}.img.0.weight")))
        stage += 1
    return images


@pytest.mark.parametrize("tracked", [False, True])
def test_generator_loads_release_keys_and_matches_release_forward(tmp_path, tracked: bool) -> None:
    ngf, r_num = 2, 2
    state = fill(release_generator_table(ngf, r_num, branch_num=3, tracked=tracked))
    path = _save(state, tmp_path / "bird_AttnGAN2.pth")
    generator = load_original_generator(path, num_stages=3)
    assert not generator.training and generator.legacy_attention_mask
    assert (generator.num_stages, generator.ngf, generator.num_residual) == (3, ngf, r_num)
    assert (generator.embedding_dim, generator.z_dim, generator.condition_dim) == (256, 100, 100)
    # spot checks, by hand
    assert torch.equal(generator.conditioning.fc.bias, state["ca_net.fc.bias"])
    assert torch.equal(generator.initial_stage.bn.running_var, state["h_net1.fc.1.running_var"])
    assert torch.equal(generator.initial_stage.upsample[2].conv.weight, state["h_net1.upsample3.1.weight"])
    assert torch.equal(
        generator.refinement_stages[1].residual[1].bn2.weight, state["h_net3.residual.1.block.4.weight"]
    )
    assert torch.equal(
        generator.refinement_stages[0].attention.word_projection.weight,
        state["h_net2.att.conv_context.weight"],
    )
    assert torch.equal(generator.image_heads[2].conv.weight, state["img_net3.img.0.weight"])
    _assert_every_tensor_placed(generator, state)

    # the whole forward pass, padding mask bug included, against the release's order of operations
    batch, num_words = 3, 5
    noise, sentence = torch.randn(batch, 100), torch.randn(batch, 256)
    words = torch.randn(batch, 256, num_words)
    mask = torch.arange(num_words).unsqueeze(0) >= torch.tensor([[5], [2], [4]])
    torch.manual_seed(7)
    expected = _release_generator_forward(state, ngf, noise, sentence, words, mask)
    torch.manual_seed(7)
    with torch.no_grad():
        images = generator(noise, sentence, words, mask).images
    for ours, theirs in zip(images, expected, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-5)

    exported = export_original_generator(generator)

    def untracked(keys):
        return [k for k in keys if not k.endswith("num_batches_tracked")]

    assert untracked(exported) == untracked(state)  # G_NET's own key order
    for key, value in state.items():
        assert torch.equal(exported[key], value), key
    assert set(exported) - set(state) <= {k for k in exported if k.endswith("num_batches_tracked")}


def test_generator_round_trip_through_release_format(tmp_path) -> None:
    torch.manual_seed(0)
    ours = Generator(2, ngf=2, num_residual=3).eval()
    path = _save(export_original_generator(ours), tmp_path / "g.pth")
    loaded = load_original_generator(path, num_stages=2, ngf=2, num_residual=3)
    for (key, a), (key_b, b) in zip(ours.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert key == key_b and torch.equal(a, b), key
    with pytest.raises(ConfigError, match="base_size"):
        export_original_generator(Generator(1, ngf=2, base_size=32))


def test_generator_stage_and_size_mismatches(tmp_path) -> None:
    path = _save(fill(release_generator_table(2, 1, branch_num=2)), tmp_path / "attngan1.pth")
    assert load_original_generator(path, num_stages=None).num_stages == 2
    with pytest.raises(CheckpointError, match=r"2 stage\(s\).*num_stages=3"):
        load_original_generator(path, num_stages=3)
    with pytest.raises(CheckpointError, match="ngf"):
        load_original_generator(path, num_stages=2, ngf=32)
    with pytest.raises(CheckpointError, match="residual"):
        load_original_generator(path, num_stages=2, num_residual=2)

    state = fill(release_generator_table(2, 1, branch_num=2))
    state["h_net2.upsample.1.weight"] = torch.zeros(4, 4, 1, 1)
    with pytest.raises(CheckpointError, match=r"h_net2\.upsample\.1\.weight"):
        load_original_generator(_save(state, tmp_path / "bad_shape.pth"), num_stages=2)


# ------------------------------------------------------------------------------------------ image encoder


def _release_image_encoder_table_and_state(embedding_dim: int) -> dict[str, torch.Tensor]:
    """CNN_ENCODER: torchvision's Inception-v3 blocks Conv2d_1a_3x3 .. Mixed_7c, emb_features, emb_cnn_code.

    The trunk's keys are torchvision's own (the release used the same module); the heads are from the table.
    """
    from torchvision.models.inception import Inception3

    torch.manual_seed(1)
    trunk = Inception3(aux_logits=False, init_weights=False).state_dict()  # conv weights: random already
    batch_norm = {k: tuple(v.shape) for k, v in trunk.items() if v.dim() == 1 and not k.startswith("fc.")}
    state = {
        k: v for k, v in trunk.items() if not k.startswith("fc.") and not k.endswith("num_batches_tracked")
    }
    state.update(fill(batch_norm, seed=1))  # a PyTorch-0.3 file: no num_batches_tracked
    heads = {
        "emb_features.weight": (embedding_dim, 768, 1, 1),  # conv1x1(768, nef), no bias
        "emb_cnn_code.weight": (embedding_dim, 2048),  # nn.Linear(2048, nef)
        "emb_cnn_code.bias": (embedding_dim,),
    }
    state.update(fill(heads, seed=2))
    return state


def test_image_encoder_loads_release_keys_and_matches_forward(tmp_path) -> None:
    from torchvision.models.inception import Inception3

    state = _release_image_encoder_table_and_state(embedding_dim=8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loading a release file must not warn about random weights
        encoder = load_original_image_encoder(_save(state, tmp_path / "image_encoder200.pth"))
    assert not encoder.training and encoder.align_corners and encoder.embedding_dim == 8
    assert torch.equal(encoder.region_head.weight, state["emb_features.weight"])
    assert torch.equal(encoder.global_head.bias, state["emb_cnn_code.bias"])
    assert torch.equal(
        encoder.backbone.Mixed_7c.branch3x3dbl_3b.bn.running_var,
        state["Mixed_7c.branch3x3dbl_3b.bn.running_var"],
    )
    _assert_every_tensor_placed(encoder, state)

    # reference: torchvision's own Inception-v3 forward, Mixed_6e and the pooled features captured by hooks
    reference = Inception3(aux_logits=False, init_weights=False)
    reference.load_state_dict({k: v for k, v in state.items() if not k.startswith("emb_")}, strict=False)
    reference.eval()
    captured: dict[str, torch.Tensor] = {}
    reference.Mixed_6e.register_forward_hook(lambda m, i, o: captured.__setitem__("regions", o))
    reference.avgpool.register_forward_hook(lambda m, i, o: captured.__setitem__("pooled", o.flatten(1)))
    images = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        reference(F.interpolate(images, size=(299, 299), mode="bilinear", align_corners=True))
        regions, global_features = encoder(images)
    torch.testing.assert_close(regions, F.conv2d(captured["regions"], state["emb_features.weight"]))
    torch.testing.assert_close(
        global_features,
        F.linear(captured["pooled"], state["emb_cnn_code.weight"], state["emb_cnn_code.bias"]),
    )

    exported = export_original_image_encoder(encoder)
    for key, value in state.items():
        assert torch.equal(exported[key], value), key
    assert all(k.endswith("num_batches_tracked") for k in set(exported) - set(state))


# ------------------------------------------------------------------------------------------ whole release


def test_load_original_models_checks_vocabulary(tmp_path) -> None:
    ixtoword = {0: "<end>", 1: "a", 2: "small", 3: "bird"}
    wordtoix = {w: i for i, w in ixtoword.items()}
    captions = tmp_path / "captions.pickle"
    with captions.open("wb") as handle:
        pickle.dump([[[1, 2, 3]], [[3, 1]], ixtoword, wordtoix], handle, protocol=2)
    text_path = _save(fill(release_text_encoder_table(vocab_size=4)), tmp_path / "text_encoder200.pth")
    generator_path = _save(fill(release_generator_table(2, 1, branch_num=2)), tmp_path / "g.pth")

    models = load_original_models(captions, text_path, generator_path=generator_path, num_stages=2)
    assert len(models.vocab) == 4 and models.vocab.word_id("bird") == 3
    assert models.text_encoder.vocab_size == 4 and models.image_encoder is None
    assert models.generator is not None and models.generator.num_stages == 2

    wrong = _save(fill(release_text_encoder_table(vocab_size=5)), tmp_path / "other.pth")
    with pytest.raises(VocabularyMismatchError, match="5 words"):
        load_original_models(captions, wrong)
