"""The text-embedding cache (``data.cache_text_embeddings=true``): cached features equal live encoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from attngan.lit.text_cache import TextEmbeddingCache, text_encoder_fingerprint
from attngan.models import TextEncoder

VOCAB, WIDTH = 30, 8


def _encoder(seed: int = 0) -> TextEncoder:
    torch.manual_seed(seed)
    return TextEncoder(VOCAB, embedding_dim=16, hidden_dim=8).eval()


def _captions(lengths: list[int], seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, WIDTH)`` word ids (1..VOCAB-1, zero padding) and ``(B,)`` lengths."""
    gen = torch.Generator().manual_seed(seed)
    lengths_t = torch.tensor(lengths)
    ids = torch.randint(1, VOCAB, (len(lengths), WIDTH), generator=gen)
    ids = ids * (torch.arange(WIDTH) < lengths_t.unsqueeze(1))
    return ids, lengths_t


@torch.no_grad()
def _fill(cache: TextEmbeddingCache, encoder: TextEncoder, captions: torch.Tensor, lengths: torch.Tensor):
    lookup = cache.lookup(captions, lengths)
    words, sentence = encoder(captions, lengths)
    cache.store(lookup.slots[lookup.missing], words[lookup.missing], sentence[lookup.missing], lookup.pending)
    return lookup


def test_fingerprint_follows_the_weights() -> None:
    assert text_encoder_fingerprint(_encoder(0)) == text_encoder_fingerprint(_encoder(0))
    assert text_encoder_fingerprint(_encoder(0)) != text_encoder_fingerprint(_encoder(1))
    spec = {"_target_": "attngan.models.TextEncoder", "hidden_dim": 8}
    assert text_encoder_fingerprint(_encoder(0), spec) != text_encoder_fingerprint(_encoder(0))


@torch.no_grad()
def test_cached_features_equal_live_encoding() -> None:
    encoder = _encoder()
    cache = TextEmbeddingCache(text_encoder_fingerprint(encoder))
    captions, lengths = _captions([8, 3, 5, 1, 7, 4])
    first = _fill(cache, encoder, captions, lengths)
    assert first.missing.tolist() == list(range(6)) and len(cache) == 6

    # another batch: the same captions in another order, one twice; every one is a hit
    order = torch.tensor([4, 0, 0, 2, 5, 1, 3])
    lookup = cache.lookup(captions[order], lengths[order])
    assert lookup.missing.numel() == 0 and lookup.pending == []
    cached_words, cached_sentence = cache.gather(lookup.slots)
    live_words, live_sentence = encoder(captions[order], lengths[order])
    torch.testing.assert_close(cached_words, live_words, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(cached_sentence, live_sentence, rtol=1e-6, atol=1e-6)
    assert cache.hits == 7 and cache.misses == 6


@torch.no_grad()
def test_new_captions_are_missing_and_the_store_grows() -> None:
    encoder = _encoder()
    cache = TextEmbeddingCache(text_encoder_fingerprint(encoder))
    for seed in range(30):  # 30 x 4 captions: past the first capacity of 64 rows
        captions, lengths = _captions([2, 4, 6, 8], seed=seed)
        _fill(cache, encoder, captions, lengths)
    captions, lengths = _captions([2, 4, 6, 8], seed=3)
    mixed = torch.cat([captions, _captions([5], seed=99)[0]]), torch.cat([lengths, torch.tensor([5])])
    lookup = cache.lookup(*mixed)
    assert lookup.missing.tolist() == [4]  # only the unseen caption is encoded
    words, _ = cache.gather(lookup.slots[:4])
    torch.testing.assert_close(words, encoder(captions, lengths)[0], rtol=1e-6, atol=1e-6)


def test_reserved_but_never_stored_captions_are_encoded_again() -> None:
    cache = TextEmbeddingCache("encoder-a")
    captions, lengths = _captions([3, 4])
    assert cache.lookup(captions, lengths).missing.tolist() == [0, 1]
    # the step of that batch never ran (e.g. it was skipped): no zero rows are served as hits
    again = cache.lookup(captions, lengths)
    assert again.missing.tolist() == [0, 1] and len(again.pending) == 2 and len(cache) == 0


@torch.no_grad()
def test_cache_is_emptied_for_another_text_encoder() -> None:
    encoder = _encoder(0)
    cache = TextEmbeddingCache(text_encoder_fingerprint(encoder))
    captions, lengths = _captions([3, 4, 5])
    _fill(cache, encoder, captions, lengths)
    assert not cache.bind(text_encoder_fingerprint(_encoder(0)))  # same weights: kept
    assert len(cache) == 3
    assert cache.bind(text_encoder_fingerprint(_encoder(1)))  # other weights: emptied
    assert len(cache) == 0
    assert cache.lookup(captions, lengths).missing.tolist() == [0, 1, 2]


def test_lookup_needs_a_bound_cache_and_host_tensors() -> None:
    captions, lengths = _captions([2, 3])
    with pytest.raises(RuntimeError, match="bind"):
        TextEmbeddingCache().lookup(captions, lengths)
    with pytest.raises(ValueError, match="CPU"):
        TextEmbeddingCache("x").lookup(captions.to("meta"), lengths)


# ------------------------------------------------------------------------ in the AttnGAN module
def _fit(tmp_path: Path, damsm: Path, *overrides: str) -> Any:
    """Train the tiny AttnGAN for 2 epochs x 2 batches; returns the module (losses logged every step)."""
    import lightning as L
    from hydra.utils import instantiate
    from lightning.pytorch import Callback

    from attngan.cli.train import build_module, build_trainer
    from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, compose_train

    class Losses(Callback):
        def __init__(self) -> None:
            self.values: list[float] = []

        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            self.values.append(float(trainer.callback_metrics["g_loss"]))

    cfg = compose_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={damsm}",
        "model.sample_every_n_epochs=0",
        "trainer.max_epochs=2",
        "callbacks=none",
        *overrides,
    )
    L.seed_everything(int(cfg.seed), verbose=False)  # as attngan-train: the same initial weights
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule.vocab.to_list())
    losses = Losses()
    trainer = build_trainer(cfg, extra_callbacks=[losses])
    trainer.fit(module, datamodule=datamodule)
    module.recorded_losses = losses.values
    module.fitted_datamodule = datamodule
    return module


def test_attngan_training_with_the_cache_matches_live_encoding(
    tmp_path: Path, tiny_damsm_checkpoint: Path
) -> None:
    few = ["data.num_images=40", "data.captions_per_image=1"]  # epoch 2 sees the captions of epoch 1 again
    live = _fit(tmp_path / "live", tiny_damsm_checkpoint, *few)
    cached = _fit(tmp_path / "cached", tiny_damsm_checkpoint, *few, "data.cache_text_embeddings=true")
    assert live.text_cache is None
    cache = cached.text_cache
    assert cache is not None and cache.fingerprint == text_encoder_fingerprint(
        cached.text_encoder, cached.damsm_networks["text_encoder"]
    )
    assert cache.misses > 0 and len(cache) == cache.misses  # every caption seen was stored
    assert cache.hits > 0
    # same seeds and batches: the run with the cache trains the same model
    torch.testing.assert_close(
        torch.tensor(cached.recorded_losses), torch.tensor(live.recorded_losses), rtol=1e-4, atol=1e-5
    )

    # every cached caption of the training split equals its live encoding
    batch = next(iter(cached.fitted_datamodule.train_dataloader()))
    lookup = cache.lookup(batch["captions"], batch["lengths"])
    if lookup.missing.numel():  # captions not drawn in the two epochs: store them as the step would
        words, sentence = cached.encode_text(batch["captions"], batch["lengths"])
        missing = lookup.missing
        cache.store(lookup.slots[missing], words[missing], sentence[missing], lookup.pending)
    cached_words, cached_sentence = cache.gather(lookup.slots)
    live_words, live_sentence = cached.encode_text(batch["captions"], batch["lengths"])
    torch.testing.assert_close(cached_words, live_words, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(cached_sentence, live_sentence, rtol=1e-6, atol=1e-6)
