"""Tokeniser, vocabulary and caption tensors (attngan.text)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attngan.errors import DataError
from attngan.text import PAD_TOKEN, Vocabulary, caption_to_tensor, split_captions, tokenize


def test_tokenize_follows_the_release():
    assert tokenize("This bird has a RED crown, and white-ish belly!") == [
        "this", "bird", "has", "a", "red", "crown", "and", "white", "ish", "belly",
    ]  # fmt: skip
    assert tokenize("A café on the beach_side 42") == ["a", "caf", "on", "the", "beach_side", "42"]
    assert tokenize("été") == ["t"]  # non-ASCII characters are dropped from tokens
    assert tokenize("日本 ...") == []  # tokens left empty are dropped
    assert tokenize("") == []


def test_split_captions_skips_empty_lines():
    text = "a red bird\n\n   \n!!!\nA small Bird.\r\n"
    assert split_captions(text) == ["a red bird", "A small Bird."]


def test_vocabulary_from_captions_is_sorted_with_padding_zero():
    vocab = Vocabulary.from_captions(["the red bird", "A bird"])
    assert vocab.to_list() == [PAD_TOKEN, "a", "bird", "red", "the"]
    assert len(vocab) == 5
    assert vocab.word_id("a") == 1 and vocab.word_id("the") == 4 and vocab.word_id("cat") is None
    assert Vocabulary.from_captions(["A bird", "the red bird"]) == vocab  # order of captions does not matter


def test_encode_reports_unknown_words_and_decode_round_trips():
    vocab = Vocabulary.from_captions(["the red bird"])
    ids, unknown = vocab.encode("The blue bird, the RED one")
    assert ids == [vocab.word_id(w) for w in ("the", "bird", "the", "red")]
    assert unknown == ["blue", "one"]
    assert vocab.decode([*ids, 0, 0]) == "the bird the red"
    with pytest.raises(ValueError, match="outside"):
        vocab.decode([99])


def test_save_load_and_list_round_trip(tmp_path):
    vocab = Vocabulary(["zebra", "apple", "mango"])  # an explicit order is kept
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocabulary.load(tmp_path / "vocab.json")
    assert loaded == vocab and loaded.fingerprint() == vocab.fingerprint()
    assert Vocabulary.from_list(vocab.to_list()) == vocab
    assert Vocabulary.from_list(["<end>", "zebra", "apple", "mango"]) == vocab  # the release's id-0 name
    with pytest.raises(ValueError, match="padding"):
        Vocabulary.from_list(["zebra", "apple"])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataError, match=r"bad\.json"):
        Vocabulary.load(tmp_path / "bad.json")


def test_vocabulary_rejects_duplicates_and_reserved_words():
    with pytest.raises(ValueError, match="twice"):
        Vocabulary(["a", "b", "a"])
    with pytest.raises(ValueError, match="reserved"):
        Vocabulary(["a", "<pad>"])


def test_from_release_keeps_ids_exactly():
    ixtoword = {0: "<end>", 1: "wings", 2: "a", 3: "bird"}
    wordtoix = {w: i for i, w in ixtoword.items()}
    vocab = Vocabulary.from_release(ixtoword, wordtoix)
    assert vocab.to_list() == [PAD_TOKEN, "wings", "a", "bird"]
    assert vocab.encode("a bird with wings") == ([2, 3, 1], ["with"])
    with pytest.raises(DataError, match="inconsistent"):
        Vocabulary.from_release(ixtoword, {**wordtoix, "bird": 1})
    with pytest.raises(DataError, match="without gaps"):
        Vocabulary.from_release({0: "<end>", 2: "a"}, {"<end>": 0, "a": 2})


def test_caption_to_tensor_pads_and_evaluates_deterministically():
    caption, length = caption_to_tensor([5, 6, 7], max_words=5)
    assert caption.dtype == torch.long and caption.tolist() == [5, 6, 7, 0, 0] and length == 3
    caption, length = caption_to_tensor(list(range(1, 11)), max_words=4)
    assert caption.tolist() == [1, 2, 3, 4] and length == 4


def test_caption_to_tensor_training_keeps_a_random_ordered_subset():
    ids = list(range(1, 31))
    first, length = caption_to_tensor(ids, 8, np.random.default_rng(1))
    again, _ = caption_to_tensor(ids, 8, np.random.default_rng(1))
    other, _ = caption_to_tensor(ids, 8, np.random.default_rng(2))
    assert length == 8
    assert torch.equal(first, again) and not torch.equal(first, other)
    for kept in (first.tolist(), other.tolist()):
        assert kept == sorted(kept) and len(set(kept)) == 8 and set(kept) <= set(ids)
