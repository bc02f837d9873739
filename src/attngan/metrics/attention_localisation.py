"""Where the generator's word attention goes: the share of a colour or shape word's attention mass that falls
inside its object's ground-truth mask (shapes data only: it needs the label masks).

The label masks are downsampled to the attention grid by area (each cell holds the fraction of it the object
covers), so the share of word ``t`` of sample ``b`` naming object label ``l`` is
``sum_hw attention[b, t] * cover_l / sum_hw attention[b, t]``. A uniform attention map scores the object's
area; ``uniform_baseline`` reports that for reference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric

from attngan.data.shapes import CaptionObject, ShapesObject, parse_shapes_caption
from attngan.data.shapes.captions import COLOUR_OF_WORD

__all__ = ["AttentionLocalisation", "GroundTruthObject"]

# a ground-truth object: its colour and shape as attributes, or as ``{"colour": ..., "shape": ...}``
GroundTruthObject = ShapesObject | CaptionObject | Mapping[str, str]

# word position -> mask label, or (label, "colour" | "shape")
WordLabels = Mapping[int, int | tuple[int, str]]


def _word_labels_from_objects(
    tokens: Sequence[str], objects: Sequence[GroundTruthObject]
) -> dict[int, tuple[int, str]]:
    """Map word positions of a caption to ``(mask label, "colour" | "shape")`` via its ground-truth objects.

    A parsed object is matched to the ground-truth object with the same colour and shape (or the only one
    with its colour, or its shape, when the caption leaves the other out). Label ``k + 1`` is ``objects[k]``.
    """
    truth = [
        (o.get("colour"), o.get("shape")) if isinstance(o, Mapping) else (o.colour, o.shape) for o in objects
    ]
    out: dict[int, tuple[int, str]] = {}
    for parsed in parse_shapes_caption(list(tokens)):
        matches = [
            k
            for k, (colour, shape) in enumerate(truth)
            if (parsed.colour is None or parsed.colour == colour)
            and (parsed.shape is None or parsed.shape == shape)
        ]
        if len(matches) != 1:
            continue  # ambiguous or not in the image: not scored
        if parsed.colour_token is not None:
            out[parsed.colour_token] = (matches[0] + 1, "colour")
        if parsed.shape_token is not None:
            out[parsed.shape_token] = (matches[0] + 1, "shape")
    return out


def _scored_words(
    tokens: Sequence[Sequence[str]], word_labels: Sequence[WordLabels], num_words: int
) -> tuple[list[int], list[int], list[int], list[bool]]:
    """Flatten the word labels: ``(sample, word position, mask label, is colour word)`` lists, one per word."""
    sample_idx, word_idx, label_idx, is_colour = [], [], [], []
    for b, mapping in enumerate(word_labels):
        for t, value in mapping.items():
            if not 0 <= t < num_words:
                raise ValueError(
                    f"word position {t} outside the {num_words} attention maps of sample {b}; word labels "
                    "index the caption's words in attention order"
                )
            label, kind = value if isinstance(value, tuple) else (value, None)
            if kind is None:
                kind = "colour" if t < len(tokens[b]) and tokens[b][t] in COLOUR_OF_WORD else "shape"
            sample_idx.append(b)
            word_idx.append(t)
            label_idx.append(int(label))
            is_colour.append(kind == "colour")
    return sample_idx, word_idx, label_idx, is_colour


class AttentionLocalisation(Metric):
    """Share of each colour / shape word's attention mass that falls inside its object's mask, averaged over
    batches (sums across processes).

    :meth:`compute` writes the final result names of the metric registry: ``attention_localisation`` (all
    scored words), ``attention_colour_word_localisation``, ``attention_shape_word_localisation``,
    ``attention_uniform_baseline`` (NaN where nothing is scored) and ``attention_num_words``.

    States (float64, summed): ``share_sum`` / ``num_scored`` over all scored words, ``colour_share_sum`` /
    ``num_colour_words``, ``shape_share_sum`` / ``num_shape_words`` and ``baseline_sum`` (over all words).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    _STATES = (
        "share_sum",
        "num_scored",
        "colour_share_sum",
        "num_colour_words",
        "shape_share_sum",
        "num_shape_words",
        "baseline_sum",
    )

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for name in self._STATES:
            self.add_state(name, default=torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")

    def update(
        self,
        attention: Tensor,
        tokens: Sequence[Sequence[str]],
        masks: Tensor,
        objects: Sequence[Sequence[GroundTruthObject]] | None = None,
        word_labels: Sequence[WordLabels] | None = None,
    ) -> None:
        """Add one batch.

        Args:
            attention: ``(B, T, H, W)`` word attention (β of paper Eq. 2) of one generator stage.
            tokens: per sample, its words in attention order (``tokens[b][t]`` is attended at ``attention[b, t]``).
            masks: ``(B, H0, W0)`` long label masks: 0 background, ``k + 1`` for ``objects[b][k]``.
            objects: per sample, the ground-truth objects in label order: anything with ``colour`` and ``shape``
                (``attngan.data.shapes.ShapesObject``, ``attngan.data.shapes.CaptionObject``, or
                ``{"colour": ..., "shape": ...}`` mappings); the caption's colour and shape words are matched to
                them.
            word_labels: instead of ``objects``: per sample, word position -> mask label (or
                ``(label, "colour" | "shape")``).
        """
        share, colour, baseline = _word_shares(attention, tokens, masks, objects, word_labels)
        increments = {
            "share_sum": share.sum(),
            "num_scored": share.numel(),
            "colour_share_sum": share[colour].sum(),
            "num_colour_words": colour.sum(),
            "shape_share_sum": share[~colour].sum(),
            "num_shape_words": (~colour).sum(),
            "baseline_sum": baseline.sum(),
        }
        for name, value in increments.items():
            state = getattr(self, name)
            setattr(self, name, state + torch.as_tensor(value).to(state))

    def compute(self) -> dict[str, Tensor]:
        return {  # NaN where nothing was counted
            "attention_localisation": (self.share_sum / self.num_scored).float(),
            "attention_colour_word_localisation": (self.colour_share_sum / self.num_colour_words).float(),
            "attention_shape_word_localisation": (self.shape_share_sum / self.num_shape_words).float(),
            "attention_uniform_baseline": (self.baseline_sum / self.num_scored).float(),
            "attention_num_words": self.num_scored.long(),
        }


def _word_shares(
    attention: Tensor,
    tokens: Sequence[Sequence[str]],
    masks: Tensor,
    objects: Sequence[Sequence[GroundTruthObject]] | None = None,
    word_labels: Sequence[WordLabels] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Per scored word: share of its attention inside its object's mask (see :meth:`AttentionLocalisation.update`).

    Returns:
        ``(share (N,), is_colour_word (N,) bool, object_area (N,))`` over the N scored words; ``object_area``
        is the share a uniform attention map would get.
    """
    if attention.dim() != 4 or masks.dim() != 3 or masks.shape[0] != attention.shape[0]:
        raise ValueError(
            f"expected attention (B, T, H, W) and masks (B, H0, W0), got {tuple(attention.shape)} and "
            f"{tuple(masks.shape)}"
        )
    if (objects is None) == (word_labels is None):
        raise ValueError("give exactly one of objects= or word_labels=")
    batch, num_words, height, width = attention.shape
    if len(tokens) != batch:
        raise ValueError(f"got {batch} attention maps but {len(tokens)} token lists")
    if word_labels is None:
        assert objects is not None
        if len(objects) != batch:
            raise ValueError(f"got {batch} attention maps but {len(objects)} object lists")
        word_labels = [_word_labels_from_objects(t, o) for t, o in zip(tokens, objects)]

    sample_idx, word_idx, label_idx, is_colour = _scored_words(tokens, word_labels, num_words)
    device = attention.device
    if not sample_idx:
        empty = torch.zeros(0, device=device)
        return empty, empty.bool(), empty

    num_labels = max(int(masks.max()), *label_idx) + 1
    one_hot = F.one_hot(masks.long().to(device), num_labels)  # (B, H0, W0, L)
    cover = F.interpolate(
        one_hot.permute(0, 3, 1, 2).float(), size=(height, width), mode="area"
    )  # (B, L, H, W)
    s = torch.tensor(sample_idx, device=device)
    maps = attention[s, torch.tensor(word_idx, device=device)].float()  # (N, H, W)
    inside = cover[s, torch.tensor(label_idx, device=device)]  # (N, H, W)
    share = (maps * inside).sum(dim=(1, 2)) / maps.sum(dim=(1, 2)).clamp_min(1e-12)  # (N,)
    return share, torch.tensor(is_colour, device=device), inside.mean(dim=(1, 2))
