"""Nothing of a caption is lost without a word: characters no token can hold are unknown words, and a caption
longer than ``max_words`` says how many words were cut (the pipeline's result, generated.json, the demo)."""

from __future__ import annotations

import pytest

from attngan.demo.backend import Comparison, DemoInputError, Generation, check_seed
from attngan.models.generator import Generator
from attngan.models.text_encoder import TextEncoder
from attngan.pipeline import AttnGANPipeline
from attngan.text import Vocabulary, dropped_characters, tokenize

WORDS = ["a", "circle", "large", "left", "on", "red", "the"]


@pytest.fixture(scope="module")
def pipe() -> AttnGANPipeline:
    """Untrained tiny networks: what is read and reported does not depend on training."""
    vocab = Vocabulary(WORDS)
    text_encoder = TextEncoder(len(vocab), embedding_dim=8, hidden_dim=8)
    generator = Generator(num_stages=2, ngf=4, embedding_dim=16, z_dim=8, condition_dim=8, base_size=16)
    return AttnGANPipeline(text_encoder, generator, vocab, max_words=6)


def test_characters_outside_ascii_are_reported_not_dropped() -> None:
    assert tokenize("a large red circle é 🙂") == ["a", "large", "red", "circle"]  # the release's tokens
    assert dropped_characters("a large red circle é 🙂") == ["é", "🙂"]
    assert dropped_characters("a café, isn’t it — fine!") == ["é"]  # punctuation is not a word
    ids, unknown = Vocabulary(WORDS).encode("a large red circle é 🙂")
    assert len(ids) == 4 and unknown == ["é", "🙂"]


def test_pipeline_reports_unknown_characters_and_words_cut(pipe: AttnGANPipeline) -> None:
    long = " ".join(["a large red circle on the left"] * 60)  # 420 words
    result = pipe(["a large red circle é 🙂", long], seed=0)
    assert result.unknown_words[0] == ["é", "🙂"]
    assert result.words_cut == [0, 420 - pipe.max_words]
    assert len(result.tokens[1]) == pipe.max_words


def test_demo_says_what_was_cut_and_refuses_a_fractional_seed() -> None:
    generation = Generation([], [], None, ["a", "red"], unknown_words=["é", "🙂"], words_cut=414)  # type: ignore[arg-type]
    status = generation.status()
    assert "é, 🙂" in status and "**414** were cut" in status
    comparison = Comparison([], [("red", "blue")], [[], []], words_cut=[0, 3])
    assert "**3** words of the second caption were cut" in comparison.status()
    with pytest.raises(DemoInputError, match="whole number"):
        check_seed(1.5)
    assert check_seed(2.0) == 2 and check_seed("7") == 7


def test_demo_compare_labels_start_at_the_changed_word() -> None:
    from attngan.demo.backend import first_difference, from_word

    before = [
        "a",
        "large",
        "red",
        "circle",
        "on",
        "the",
        "left",
        "of",
        "a",
        "small",
        "blue",
        "square",
        "at",
        "the",
        "top",
    ]
    after = [*before[:2], "green", *before[3:]]
    start = first_difference(before, after)
    assert start == 2
    assert from_word(before, start).startswith("… large red") and from_word(after, start).startswith(
        "… large green"
    )
    assert from_word(["red", "circle"], 0) == "red circle"


def test_demo_problems_stay_in_their_tab() -> None:
    """A mistake is written to the status box of its tab; no toast floats over the other tab."""
    import inspect

    from attngan.demo import app

    assert "**Cannot generate:** The seed" in app._problem(DemoInputError("The seed must be a whole number"))
    assert "gr.Warning(" not in inspect.getsource(app)
