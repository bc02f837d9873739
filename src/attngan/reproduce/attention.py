"""What the generator's word attention attends to, per attention stage (paper Fig. 4 and §4.1).

On one-object test captions every word belongs to the one object, so each word kind has a well-defined
"inside": the object's ground-truth mask, downsampled by area to the attention grid. Per attention stage and
word kind (colour, shape, size, position, function words):

- ``inside``: the share of the word's attention map inside the object (a uniform map scores the object's area,
  ``uniform``);
- ``mass``: the share of all attention the kind receives (each region's attention sums to 1 over the words).

The top-k words per stage rank word types by their mean share of the attention mass. For §4.1 ("the second
attention model attends to words the first one missed"): a content word (colour, shape, size, position) is
*attended* by a stage when it gets more than the uniform share ``1 / words`` of that stage's mass;
``recovered`` is the share of the content words stage 1 did not attend that stage 2 does, ``repeated`` the share
of those stage 1 did attend that stage 2 attends again (near-uniform attention gives both about one half).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import torch
import torch.nn.functional as F

from attngan.data.shapes.captions import COLOUR_OF_WORD, POSITION_OF_WORD, SHAPE_OF_WORD, SIZE_OF_WORD
from attngan.reproduce.probes import Probe, generate_items, proportion, single_object_items

__all__ = ["WORD_KINDS", "attention_study", "word_kind"]

WORD_KINDS = ("colour", "shape", "size", "position", "function")
CONTENT_KINDS = ("colour", "shape", "size", "position")


def word_kind(word: str) -> str:
    """The kind of a caption word: colour, shape, size, position or function (everything else)."""
    for kind, table in (
        ("colour", COLOUR_OF_WORD),
        ("shape", SHAPE_OF_WORD),
        ("size", SIZE_OF_WORD),
        ("position", POSITION_OF_WORD),
    ):
        if word in table:
            return kind
    return "function"


def attention_study(
    probe: Probe, num_captions: int, seed: int, top_k: int = 5, min_count: int = 5
) -> dict[str, Any]:
    """The attention measurements of :mod:`this module <attngan.reproduce.attention>` on ``num_captions``
    one-object test captions.

    Returns:
        ``{"stages": [{"size", "inside": {kind: {"value", "n"}}, "uniform", "mass": {kind: value},
        "top_words": [[word, mean mass share, count], ...]}, ...], "recovered": {"value", "se", "n"} | None,
        "captions": N}``.
    """
    items = single_object_items(probe, num_captions)
    generated = generate_items(probe.pipe, [i.caption for i in items], [i.index for i in items], seed)
    stages = []
    kinds_per_item = [[word_kind(w) for w in tokens] for tokens in generated.tokens]
    attended: list[list[list[bool]]] = []  # per stage, per item, per word
    for maps_per_item in generated.attention:
        inside: dict[str, list[float]] = defaultdict(list)
        mass: dict[str, float] = defaultdict(float)
        word_mass: dict[str, list[float]] = defaultdict(list)
        areas, total_mass = [], 0.0
        stage_attended = []
        for item, maps, kinds, tokens in zip(
            items, maps_per_item, kinds_per_item, generated.tokens, strict=True
        ):
            words, height, width = maps.shape
            mask = torch.from_numpy(item.truth.mask() == item.truth.objects[0].index).float()
            cover = F.interpolate(mask[None, None], size=(height, width), mode="area")[0, 0]  # (h, w)
            areas.append(float(cover.mean()))
            per_word = maps.sum(dim=(1, 2))  # (words,) attention mass of each word
            shares = (maps * cover).sum(dim=(1, 2)) / per_word.clamp_min(1e-12)
            fraction = per_word / per_word.sum().clamp_min(1e-12)
            total_mass += 1.0
            for t in range(words):
                inside[kinds[t]].append(float(shares[t]))
                mass[kinds[t]] += float(fraction[t])
                word_mass[tokens[t]].append(float(fraction[t]))
            stage_attended.append([bool(fraction[t] > 1.0 / words) for t in range(words)])
        attended.append(stage_attended)
        ranked = sorted(
            ((w, sum(v) / len(v), len(v)) for w, v in word_mass.items() if len(v) >= min_count),
            key=lambda entry: -entry[1],
        )
        stages.append(
            {
                "size": int(maps_per_item[0].shape[-1]) if maps_per_item else None,
                "inside": {
                    k: {
                        "value": sum(inside[k]) / len(inside[k]) if inside[k] else float("nan"),
                        "n": len(inside[k]),
                    }
                    for k in WORD_KINDS
                },
                "uniform": sum(areas) / len(areas) if areas else float("nan"),
                "mass": {k: mass[k] / total_mass if total_mass else float("nan") for k in WORD_KINDS},
                "top_words": [[w, round(m, 4), n] for w, m, n in ranked[:top_k]],
            }
        )
    recovered = repeated = None
    if len(attended) >= 2:
        missed = hits = kept = again = 0
        for i, kinds in enumerate(kinds_per_item):
            for t, kind in enumerate(kinds):
                if kind not in CONTENT_KINDS:
                    continue
                if attended[0][i][t]:
                    kept += 1
                    again += int(attended[1][i][t])
                else:
                    missed += 1
                    hits += int(attended[1][i][t])
        recovered, repeated = proportion(hits, missed), proportion(again, kept)
    return {"stages": stages, "recovered": recovered, "repeated": repeated, "captions": len(items)}
