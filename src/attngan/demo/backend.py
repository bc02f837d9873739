"""What the demo's buttons do, without Gradio: checked inputs in, images and messages out.

The images come from :class:`~attngan.pipeline.AttnGANPipeline` (the one generation path); this module only
checks what a visitor typed (a message instead of a traceback for every mistake) and lays the pipeline's
result out as the page shows it.
"""

from __future__ import annotations

import difflib
import threading
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from attngan.errors import AttnGANError
from attngan.pipeline import AttnGANPipeline
from attngan.text import tokenize

# the most images one click may ask for (per caption); a documented limit (docs/demo.md) that keeps one
# visitor from holding the server for minutes
MAX_IMAGES_PER_CAPTION = 8
# the longest caption accepted, in characters (the model reads at most max_words words anyway)
MAX_CAPTION_CHARS = 1000
# images are shown at least this large (the shapes models draw 32 or 64 pixels)
DISPLAY_SIZE = 256


class DemoInputError(AttnGANError):
    """Something typed into the demo page cannot be generated (shown in the page, not raised to Gradio)."""


@dataclass
class Generation:
    """One click of *Generate*.

    Attributes:
        images: the final-stage image of every requested image (shown at least ``DISPLAY_SIZE`` pixels).
        stages: ``(image, label)`` per stage of the first image, smallest first.
        attention: the attention figure of the first image (top-k words per attention stage).
        tokens: the words the model saw.
        unknown_words: words of the caption the model does not know (left out).
        words_cut: known words beyond the model's ``max_words`` (cut).
    """

    images: list[Image.Image]
    stages: list[tuple[Image.Image, str]]
    attention: Image.Image
    tokens: list[str]
    unknown_words: list[str] = field(default_factory=list)
    words_cut: int = 0

    def status(self) -> str:
        """The Markdown line shown under the images."""
        words = " ".join(self.tokens)
        text = f"The model read: **{words}**."
        if self.unknown_words:
            text += f" Unknown words (left out): **{', '.join(self.unknown_words)}**."
        if self.words_cut:
            text += f" The model reads {len(self.tokens)} words: the last **{self.words_cut}** were cut."
        return text


@dataclass
class Comparison:
    """One click of *Compare* (paper Fig. 5): two captions, the same noise, the images side by side.

    Attributes:
        images: ``[(image, caption), (image, caption)]``.
        changed: ``(old words, new words)`` for every difference between the two captions' words.
        unknown_words: per caption, the words left out.
        words_cut: per caption, the known words beyond the model's ``max_words`` (cut).
    """

    images: list[tuple[Image.Image, str]]
    changed: list[tuple[str, str]]
    unknown_words: list[list[str]]
    words_cut: list[int] = field(default_factory=lambda: [0, 0])

    def status(self) -> str:
        """The Markdown line shown under the pair."""
        if not self.changed:
            text = "The two captions have the same words: the images are the same."
        else:
            parts = [f"**{old or '(nothing)'}** → **{new or '(nothing)'}**" for old, new in self.changed]
            text = "Same noise, changed: " + "; ".join(parts) + "."
            if len(self.changed) > 1:
                text += " (Change one word to see that word's effect alone.)"
        for caption, unknown, cut in zip(("first", "second"), self.unknown_words, self.words_cut):
            if unknown:
                text += f" Unknown words of the {caption} caption (left out): **{', '.join(unknown)}**."
            if cut:
                text += f" The last **{cut}** words of the {caption} caption were cut (max_words)."
        return text


def display(image: Image.Image, size: int = DISPLAY_SIZE) -> Image.Image:
    """``image`` enlarged (nearest neighbour, so pixels stay pixels) to at least ``size`` pixels wide."""
    if image.width >= size:
        return image
    factor = -(-size // image.width)  # ceil
    return image.resize((image.width * factor, image.height * factor), Image.Resampling.NEAREST)


def check_caption(caption: Any, which: str = "caption") -> str:
    """``caption`` stripped; a :class:`DemoInputError` when it is empty or too long."""
    text = str(caption or "").strip()
    if not text:
        raise DemoInputError(f"The {which} is empty: type a caption (or pick one of the examples).")
    if len(text) > MAX_CAPTION_CHARS:
        raise DemoInputError(
            f"The {which} has {len(text)} characters; the demo takes at most {MAX_CAPTION_CHARS}. "
            "Shorten it (the model reads only its first words anyway)."
        )
    return text


def _whole(value: Any, default: int, low: int, high: int, what: str, limit: str = "", hint: str = "") -> int:
    """``value`` (empty: ``default``) as an int in ``[low, high]``; a :class:`DemoInputError` otherwise (1.5 is
    not a seed, NaN is not a count)."""
    try:
        number = float(value if value not in (None, "") else default)
    except (TypeError, ValueError):
        number = float("nan")
    if number != number or number != int(number) or not low <= number <= high:
        raise DemoInputError(
            f"{what} must be a whole number from {low} to {high}{limit}, got {value!r}{hint}."
        )
    return int(number)


def check_seed(seed: Any) -> int:
    """``seed`` as an int in ``[0, 2**31 - 1]``."""
    return _whole(seed, 0, 0, 2**31 - 1, "The seed")


def check_count(count: Any) -> int:
    """``count`` (images per caption) as an int in ``[1, MAX_IMAGES_PER_CAPTION]``."""
    limit, hint = " (the demo's limit)", "; for more, use attngan-generate num_images_per_caption=N"
    return _whole(count, 1, 1, MAX_IMAGES_PER_CAPTION, "Images per caption", limit, hint)


class DemoBackend:
    """The demo's actions over one pipeline (one generation at a time: the pipeline is not re-entrant).

    Args:
        pipe: the loaded model.
        top_k: words per attention stage in the attention figure.
    """

    def __init__(self, pipe: AttnGANPipeline, top_k: int = 5) -> None:
        self.pipe = pipe
        self.top_k = int(top_k)
        self._lock = threading.Lock()

    def generate(self, caption: Any, seed: Any = 0, num_images: Any = 1) -> Generation:
        """Images, stage images and attention figure of one caption.

        Raises:
            DemoInputError: empty or too long caption, bad seed, too many images.
            UnknownCaptionError: the caption has no word the model knows.
        """
        text, seed, n = check_caption(caption), check_seed(seed), check_count(num_images)
        with self._lock:
            result = self.pipe(text, seed=seed, num_images_per_caption=n)
            figure = result.attention_figure(0, top_k=self.top_k)
        sizes = self.pipe.image_sizes
        stages = [
            (display(image), f"stage {s + 1}: {size}×{size}")
            for s, (image, size) in enumerate(zip(result.stage_images[0], sizes))
        ]
        return Generation(
            images=[display(image) for image in result.images],
            stages=stages,
            attention=figure,
            tokens=result.tokens[0],
            unknown_words=result.unknown_words[0],
            words_cut=result.words_cut[0],
        )

    def compare(self, caption: Any, changed_caption: Any, seed: Any = 0) -> Comparison:
        """The first image of two captions with the same noise (z and ε), for a one-word change.

        Raises:
            DemoInputError: a caption is empty or too long, or a bad seed.
            UnknownCaptionError: a caption has no word the model knows.
        """
        first = check_caption(caption, "first caption")
        second = check_caption(changed_caption, "changed caption")
        seed = check_seed(seed)
        with self._lock:
            result = self.pipe([first, second], seed=seed)
        start = first_difference(result.tokens[0], result.tokens[1])
        return Comparison(
            images=[
                (display(result.images[0]), from_word(result.tokens[0], start)),
                (display(result.images[1]), from_word(result.tokens[1], start)),
            ],
            changed=word_changes(result.tokens[0], result.tokens[1]),
            unknown_words=result.unknown_words,
            words_cut=result.words_cut,
        )


def first_difference(before: list[str], after: list[str]) -> int:
    """Index of the first word where two token lists differ (the shorter length when one extends the other)."""
    return next((k for k, (a, b) in enumerate(zip(before, after)) if a != b), min(len(before), len(after)))


def from_word(tokens: list[str], start: int, context: int = 1) -> str:
    """A gallery label that shows the changed word: the words from ``context`` words before ``start`` (a long
    caption's label is cut by the page from its end, so the change must come first)."""
    begin = max(0, start - context)
    return ("… " if begin else "") + " ".join(tokens[begin:])


def word_changes(before: list[str], after: list[str]) -> list[tuple[str, str]]:
    """The ``(old, new)`` word runs that differ between two token lists (empty string: nothing)."""
    changes = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op != "equal":
            changes.append((" ".join(before[a0:a1]), " ".join(after[b0:b1])))
    return changes


def _contexts(captions: list[str]) -> dict[str, set[str]]:
    """Per word, the words seen just before (``"<x"``) and just after (``">x"``) it in ``captions``."""
    contexts: dict[str, set[str]] = {}
    for caption in captions:
        words = ["^", *tokenize(caption), "$"]
        for k in range(1, len(words) - 1):
            contexts.setdefault(words[k], set()).update({"<" + words[k - 1], ">" + words[k + 1]})
    return contexts


def one_word_changed(caption: str, examples: list[str], vocab_words: list[str]) -> str:
    """``caption`` with one word replaced by a word used like it: a start for the *change one word* view.

    Words are alike when they share neighbours in ``examples`` (``red`` and ``blue`` both come before
    ``circle`` and after ``large``); the pair sharing the most neighbours wins. Without examples that help, the
    last known word becomes its neighbour in ``vocab_words``. The caption itself when nothing fits.
    """
    words = tokenize(caption)
    if not words:
        return caption
    contexts = _contexts([*examples, caption])
    best: tuple[int, int, str] | None = None  # (shared neighbours, position, replacement)
    for position, word in enumerate(words):
        mine = contexts.get(word, set())
        for other, theirs in contexts.items():
            if other in words or other not in vocab_words:
                continue
            shared = len(mine & theirs)
            if shared and (best is None or shared > best[0]):
                best = (shared, position, other)
    if best is not None:
        _, position, replacement = best
        return " ".join([*words[:position], replacement, *words[position + 1 :]])
    index = {w: k for k, w in enumerate(vocab_words)}
    for position in range(len(words) - 1, -1, -1):
        k = index.get(words[position])
        if k is not None and len(vocab_words) > 1:
            replacement = vocab_words[k + 1] if k + 1 < len(vocab_words) else vocab_words[k - 1]
            return " ".join([*words[:position], replacement, *words[position + 1 :]])
    return caption
