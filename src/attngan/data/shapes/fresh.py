"""Fresh shapes training images: every training sample drawn anew from the sampler's seed (``data.fresh_images``).

The stored dataset (:mod:`attngan.data.shapes.generate`) fixes the training split at a few thousand images, seen again
every epoch. The shapes world is procedural, so a training sample can instead be a new image: the sampler's
per-sample seed (:class:`attngan.data.loader.EpochSampler`, different every epoch and run seed, the same after a
resume) picks an image of a separate stream of the same world. The test split and its stored files do not change,
so evaluation stays comparable. Combinations held out with ``data.holdout`` are never drawn (an image showing one is
replaced by the next of its stream). A training option (the release trains on a fixed set); off by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from attngan.data.dataset import CaptionImageDataset
from attngan.data.shapes.generate import Holdout, is_held_out
from attngan.data.shapes.render import render_shapes_image
from attngan.data.shapes.spec import shapes_class_id
from attngan.text import Vocabulary

# the fresh stream of a dataset with generation seed s renders (s + FRESH_SEED_OFFSET, index): never an image of
# the stored dataset itself, whose images are (s, 0..N-1)
FRESH_SEED_OFFSET = 1_000_003
_MAX_REDRAWS = 1000


class FreshShapesDataset(CaptionImageDataset):
    """The training split of a shapes dataset with every sample rendered anew (same length, same batches).

    Args:
        vocab: the run's vocabulary (every word of the shapes captions is in it).
        generation_seed: the stored dataset's seed; the fresh stream derives its own from it.
        holdout: combinations never drawn (:func:`attngan.data.shapes.parse_holdout` form).
        **kwargs: :class:`CaptionImageDataset` arguments (``train`` must be true).
    """

    def __init__(self, vocab: Vocabulary, generation_seed: int, holdout: Holdout = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not self.train:
            raise ValueError(
                "FreshShapesDataset is for the training split only (the test split stays stored)"
            )
        self.vocab = vocab
        self.stream_seed = int(generation_seed) + FRESH_SEED_OFFSET
        self.holdout = holdout

    def _load(self, index: int, rng: np.random.Generator | None) -> dict[str, Any] | None:
        if rng is None:  # an index without a sampler seed: deterministic in the index
            rng = np.random.default_rng([self.seed, index])
        draw = int(rng.integers(0, 2**62))
        for _ in range(_MAX_REDRAWS):
            image, _, objects, captions = render_shapes_image(self.stream_seed, draw)
            items = [(o.colour, o.shape, o.position) for o in objects]
            if not is_held_out(items, self.holdout):
                break
            draw = (draw + 1) % 2**62
        else:  # pragma: no cover - every combination held out is refused when the dataset is generated
            raise ValueError(f"no image of the fresh stream avoids the held-out combinations {self.holdout}")
        choice = int(rng.integers(len(captions)))
        ids, _ = self.vocab.encode(captions[choice])
        fields = {"class_id": shapes_class_id(items), "key": f"fresh-{draw}", "text": captions[choice]}
        return self._sample(image, ids, rng, **fields)


__all__ = ["FRESH_SEED_OFFSET", "FreshShapesDataset"]
