"""The few-second check ``make train`` ends with: the shapes oracle and attention localisation of a checkpoint's
EMA generator on its test split, one caption per test image.

It is ``attngan-eval checkpoint=... 'metrics.names=[shapes_oracle,attention_localisation]'
num_images=<test images>`` without the files and without a data module (so without importing Lightning): the
same data (the checkpoint's own shapes set, read by the shapes reader, generated into the cache again when it
is missing), the same captions (caption 0 of every test image), the same noise
(seed 0, image ``i`` from ``(seed, i)``) and the same metrics (:mod:`attngan.metrics.shapes_oracle`,
:mod:`attngan.metrics.attention_localisation`), so its numbers equal the first pass of ``attngan-eval``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attngan.errors import ConfigError

if TYPE_CHECKING:
    from attngan.data.records import Record
    from attngan.pipeline import AttnGANPipeline

__all__ = [
    "QUICK_METRICS",
    "SplitCaptions",
    "format_quick_table",
    "quick_shapes_metrics",
    "shapes_test_split",
]

QUICK_METRICS = ["shapes_oracle", "attention_localisation"]


@dataclass
class SplitCaptions:
    """The test split's captions, as :func:`~attngan.evaluation.captions.caption_batches` reads them."""

    records: list[Record]
    caption_ids: list[list[list[int]]]
    max_words: int


def shapes_test_split(pipe: AttnGANPipeline) -> tuple[SplitCaptions, Path]:
    """The test split of the shapes set ``pipe``'s checkpoint was trained on, encoded with its vocabulary.

    The training data keys stored in the checkpoint (``data.num_images``, ``generation_seed``, ``root``,
    ``cache_dir``, ...) pick the set, as ``attngan-eval`` does; the shapes reader generates it into the cache
    again when it is missing. No data module (and no Lightning) is built.

    Returns:
        ``(test captions, dataset root)``.

    Raises:
        ConfigError: the checkpoint was not trained on the shapes data.
        DataError: the training ``data.root`` holds no shapes set any more.
    """
    from attngan.data.captions import encode_records
    from attngan.data.readers import make_reader, reader_class

    trained = (pipe.metadata.get("config") or {}).get("data") or {}
    if trained.get("name", "shapes") != "shapes":
        where = pipe.checkpoint_path or "the checkpoint"
        raise ConfigError(
            f"{where} was trained on data={trained.get('name')}; the quick check needs the shapes data. "
            f"Evaluate it with attngan-eval checkpoint={where} data={trained.get('name')} data.root=..."
        )
    accepted = set(reader_class("shapes").options())
    options = {k: v for k, v in trained.items() if k in accepted and v not in (None, "", "None", "null")}
    reader = make_reader("shapes", options)
    reader.prepare()  # generated again (deterministically) when the cache lost it
    index = reader.build_index()
    records, ids, _ = encode_records(index.splits.get("test", []), pipe.vocab, "test")
    if not records:
        raise ConfigError(f"the shapes set at {index.root} has no test image with a caption the model knows")
    return SplitCaptions(records, ids, pipe.max_words), Path(index.root)


def quick_shapes_metrics(
    pipe: AttnGANPipeline, num_images: int = 400, seed: int = 0, batch_size: int = 100
) -> dict[str, Any]:
    """Oracle and attention-localisation results of ``pipe`` on the first ``num_images`` test images.

    Args:
        pipe: an :class:`~attngan.pipeline.AttnGANPipeline` loaded with ``from_checkpoint`` (its metadata
            names the training data).
        num_images: test images, one caption each (caption 0); at most the test split's size.
        seed: the noise seed (as ``attngan-eval seed=``).
        batch_size: images per generator pass.

    Returns:
        ``{"metrics": {result name: float}, "num_images": n, "data_root": str, "seconds": float}``.

    Raises:
        ConfigError: the checkpoint was not trained on shapes data.
        DataError: its shapes set cannot be found or generated.
    """
    from attngan.evaluation.captions import caption_batches
    from attngan.evaluation.suite import MetricSuite, measure

    started = time.perf_counter()
    dataset, root = shapes_test_split(pipe)
    has_attention = len(pipe.image_sizes) > 1
    suite = MetricSuite(
        QUICK_METRICS if has_attention else QUICK_METRICS[:1],
        dataset="shapes",
        root=root,
        has_attention=has_attention,
    ).to(pipe.device)
    count = min(int(num_images), len(dataset.records))
    batches = caption_batches(dataset, range(count), batch_size, 0, 0, pipe.max_words, pipe.vocab.to_list())
    measure(suite, batches, pipe.text_encoder, pipe.generator, None, seed, use_class_ids=False)
    return {
        "metrics": suite.compute(),
        "num_images": count,
        "data_root": str(root),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _percent(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "   —"
    return f"{100 * float(value):5.1f}"


def format_quick_table(metrics: Mapping[str, Any]) -> str:
    """The quick check's results as a short plain-text table (per cent)."""
    m = metrics
    rows = [
        ("one object", "colour / side / shape / size", [f"shapes_single_object_{a}_acc" for a in _ONE]),
        ("two objects", "both colours / sides / shapes", [f"shapes_two_object_{a}_acc" for a in _TWO]),
    ]
    lines = [f"  {'':<13} {'measure':<36} per cent"]
    for name, what, keys in rows:
        lines.append(f"  {name:<13} {what:<36} " + " /".join(_percent(m.get(k)) for k in keys))
    colour, shape = m.get("attention_colour_word_localisation"), m.get("attention_shape_word_localisation")
    lines.append(
        f"  {'attention':<13} {'in object: colour / shape words':<36} "
        f"{_percent(colour)} /{_percent(shape)}   (uniform{_percent(m.get('attention_uniform_baseline'))})"
    )
    return "\n".join(lines)


_ONE = ("colour", "position", "shape", "size")
_TWO = ("colour", "position", "shape")
