"""One ``attngan-eval`` run: a checkpoint, the test split's captions, the metrics, ``metrics.json``/``metrics.md``.

How: ``num_images`` images are generated in passes over the test split; pass ``k`` gives every test image
its caption ``k % captions_per_image`` (deterministic; the release drew random captions), the last pass
stops at ``num_images``. Image ``i`` gets noise from ``(seed, i)``. R-precision ranks each image's own
caption among ``num_candidates`` by the cosine of DAMSM global image and sentence vectors (mismatches from
other classes where the dataset has classes); FID compares with the test split's real images at the final
size; on shapes, the oracle checks colour/position/shape and attention localisation uses the generator's last
attention stage and the ground-truth masks. Results: ``<output_dir>/metrics.json`` (every value, the
settings, what was skipped) and ``<output_dir>/metrics.md`` (a table in the style of the paper's Tables 2/3);
with ``compare=paper`` also ``<output_dir>/compare_paper.md``, the published numbers beside ours, each with its
protocol (:mod:`attngan.evaluation.paper`).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from omegaconf import DictConfig, open_dict

from attngan.config import to_plain
from attngan.errors import ConfigError, VocabularyMismatchError
from attngan.evaluation.captions import CaptionBatch, caption_batches, captions_per_image
from attngan.evaluation.paper import check_compare, write_comparison
from attngan.evaluation.report import write_report
from attngan.evaluation.suite import MetricSuite, measure
from attngan.metrics.options import MetricOptions
from attngan.progress import progress

if TYPE_CHECKING:
    from attngan.data.datamodule import CaptionDataModule
    from attngan.models.generator import GeneratorOutput
    from attngan.pipeline import AttnGANPipeline

log = logging.getLogger("attngan.eval")

__all__ = ["adopt_training_shapes", "build_datamodule", "evaluate", "read_metrics_config"]

# the data keys that decide which images a dataset holds (compared with the checkpoint's training data)
_DATA_IDENTITY_KEYS = ("name", "root", "num_images", "generation_seed", "captions_per_image", "holdout")
# of those, the ones the built-in shapes set is generated from (its root is a cache path)
_SHAPES_IDENTITY_KEYS = tuple(k for k in _DATA_IDENTITY_KEYS if k not in ("name", "root"))


# ------------------------------------------------------------------------------------------ data
def adopt_training_shapes(
    cfg: DictConfig, train_config: Mapping[str, Any], explicit: Collection[str]
) -> list[str]:
    """Evaluate on the built-in shapes set the checkpoint was trained on, unless told otherwise.

    The shapes data is generated from ``num_images``/``generation_seed``; a checkpoint trained on 2,000 images
    evaluated with the data config's default 1,000 would draw its "test" split from other parameters, which can
    hold training images. Every identity key that differs and was not given on the command line (``explicit``)
    takes the training value.

    Returns:
        ``key=value`` strings of what was adopted (empty for other datasets).
    """
    trained = train_config.get("data") or {}
    if trained.get("name") != "shapes" or cfg.data.get("name") != "shapes":
        return []
    adopted = []
    for key in _SHAPES_IDENTITY_KEYS:
        if (
            key in trained
            and key in cfg.data
            and f"data.{key}" not in explicit
            and cfg.data[key] != trained[key]
        ):
            cfg.data[key] = trained[key]
            adopted.append(f"data.{key}={trained[key]!r}")
    if adopted:
        log.info("evaluating on the checkpoint's training shapes set: %s", ", ".join(adopted))
    return adopted


def check_training_data(cfg: DictConfig, train_config: Mapping[str, Any]) -> None:
    """Warn when the evaluation data differs from the checkpoint's training data in what defines it."""
    trained = train_config.get("data") or {}
    if not trained.get("name"):  # e.g. a checkpoint imported from the release: nothing to compare
        return
    current = to_plain(cfg.data)
    if trained.get("name") != current.get("name"):
        log.warning(
            "the checkpoint was trained on data=%s, this evaluation uses data=%s",
            trained.get("name"),
            current.get("name"),
        )
        return
    differ = [
        f"data.{key}={current.get(key)!r} (training: {trained.get(key)!r})"
        for key in _DATA_IDENTITY_KEYS[1:]
        if key in trained and key in current and trained.get(key) != current.get(key)
    ]
    if differ:
        log.warning(
            "the evaluation data differs from the checkpoint's training data: %s. The test split may then "
            "hold training images; pass the training values to evaluate on its test split.",
            ", ".join(differ),
        )


def build_datamodule(cfg: DictConfig, pipe: AttnGANPipeline, max_words: int) -> CaptionDataModule:
    """The data module of ``cfg.data`` at the generator's final size, encoding with the checkpoint's vocabulary.

    Raises:
        VocabularyMismatchError: most of the dataset's words are unknown to the checkpoint (another dataset).
        ConfigError: the test split is empty.
    """
    from hydra.utils import instantiate

    final_size = pipe.image_sizes[-1]
    with open_dict(cfg):
        cfg.model.image_sizes = [final_size]
    datamodule = instantiate(
        cfg.data,
        image_sizes=[final_size],
        max_words=max_words,
        eval_batch_size=int(cfg.batch_size),
        _convert_="all",
    )
    datamodule.prepare_data()
    datamodule.setup("test")
    if datamodule.vocab != pipe.vocab:
        dataset_words = set(datamodule.vocab.words)
        unknown = sorted(dataset_words - set(pipe.vocab.words))
        if len(unknown) > 0.5 * len(dataset_words):
            raise VocabularyMismatchError(
                f"{len(unknown)} of the {len(dataset_words)} words of the {datamodule.dataset_name} captions at "
                f"{datamodule.root} are unknown to the checkpoint '{cfg.checkpoint}' (e.g. {unknown[:8]}): it "
                "was trained on other data. Evaluate it on its own dataset (data=..., data.root=...)."
            )
        log.warning(
            "the dataset's vocabulary differs from the checkpoint's (%d of its %d words are unknown to the "
            "checkpoint, e.g. %s); captions are encoded with the checkpoint's vocabulary, unknown words left out",
            len(unknown),
            len(dataset_words),
            unknown[:8],
        )
        datamodule.set_vocabulary(pipe.vocab)
    if not datamodule.val_dataset:
        raise ConfigError(
            f"the {datamodule.dataset_name} dataset at {datamodule.root} has no test image to evaluate on"
        )
    return datamodule


# ------------------------------------------------------------------------------------------ metrics
def read_metrics_config(cfg: DictConfig) -> tuple[list[str] | None, MetricOptions]:
    """``metrics.names`` and the measuring options of ``cfg.metrics`` (conf/eval.yaml + conf/metrics/)."""
    node = dict(to_plain(cfg.metrics))
    names = node.pop("names", None)
    if isinstance(names, str):
        names = [names]
    options = MetricOptions.from_config(node, seed=int(cfg.seed))
    return (list(names) if names is not None else None), options


# ------------------------------------------------------------------------------------------ run
class _ImageWriter:
    """Writes every generated image to ``<out>/images/`` and one line per image to ``<out>/images.jsonl``."""

    def __init__(self, out: Path) -> None:
        self.image_dir = out / "images"
        self.image_dir.mkdir(exist_ok=True)
        self.manifest: TextIO = (out / "images.jsonl").open("w", encoding="utf-8")
        self.caption_index = 0

    def __call__(self, batch: CaptionBatch, output: GeneratorOutput) -> None:
        from attngan.viz import tensor_to_pil

        images = output.images[-1]
        for i, index in enumerate(batch["indices"].tolist()):
            name = f"{index:06d}.png"
            tensor_to_pil(images[i].float().cpu()).save(self.image_dir / name)
            entry = {
                "index": index,
                "file": f"images/{name}",
                "key": batch["keys"][i],
                "caption_index": self.caption_index,
                "caption": " ".join(batch["tokens"][i]),
            }
            self.manifest.write(json.dumps(entry) + "\n")


def evaluate(cfg: DictConfig, explicit: Collection[str] = ()) -> dict[str, Any]:
    """Generate ``cfg.num_images`` images, compute the metrics, write ``metrics.json`` and ``metrics.md``.

    ``cfg.output_dir`` is checked before any weight is loaded (:class:`~attngan.outputs.OutputDirectory`: a
    directory of other files is refused unless ``cfg.overwrite``); the results appear in it together at the end,
    replacing those of an earlier ``attngan-eval`` there.

    Args:
        cfg: the composed ``eval`` config (conf/eval.yaml).
        explicit: the keys given on the command line (``data.num_images``), which the checkpoint's training
            data does not override (:func:`adopt_training_shapes`).

    Returns:
        The report as written to ``metrics.json``.
    """
    from attngan.outputs import OutputDirectory

    started = time.perf_counter()
    if cfg.get("protocol"):  # attngan-eval protocol=... is short for metrics.fid.protocol=...
        with open_dict(cfg):
            cfg.metrics.fid = {**(cfg.metrics.get("fid") or {}), "protocol": cfg.protocol}
    if not cfg.get("images"):
        _check_checkpoint_options(cfg)
    names, options = read_metrics_config(cfg)
    target = OutputDirectory(
        cfg.output_dir, "output_dir", "attngan-eval", overwrite=bool(cfg.get("overwrite"))
    )
    with target:
        if cfg.get("images"):
            from attngan.evaluation.folder import evaluate_folder

            report = evaluate_folder(cfg, options, out=target.staging)
        else:
            out, images_dir = target.staging, target.final("images")
            report = _evaluate_checkpoint(cfg, names, options, explicit, started, out, images_dir)
    written = [
        target.final(name) for name in ("metrics.json", "metrics.md", f"compare_{cfg.get('compare')}.md")
    ]
    log.info("wrote %s", ", ".join(str(p) for p in written if p.is_file()))
    return report


def _check_checkpoint_options(cfg: DictConfig) -> None:
    if not cfg.get("checkpoint"):
        raise ConfigError(
            "checkpoint is not set (mandatory): give checkpoint=..., e.g. attngan-eval checkpoint=outputs/shapes/"
            "attngan.ckpt; or score a folder of images: attngan-eval images=DIR reference=DIR_OR_NPZ"
        )
    if int(cfg.num_images) < 1 or int(cfg.batch_size) < 1:
        raise ConfigError(
            f"num_images and batch_size must be >= 1, got {cfg.num_images} and {cfg.batch_size}"
        )
    check_compare(cfg.get("compare") or None)


def _evaluate_checkpoint(
    cfg: DictConfig,
    names: list[str] | None,
    options: MetricOptions,
    explicit: Collection[str],
    started: float,
    out: Path,
    images_dir: Path,
) -> dict[str, Any]:
    """The run of :func:`evaluate` for a checkpoint, writing into ``out`` (``images_dir``: where the images of
    ``save_images`` end up, for the report)."""
    import torch

    import attngan
    from attngan.pipeline import AttnGANPipeline

    num_images, batch_size, seed = int(cfg.num_images), int(cfg.batch_size), int(cfg.seed)
    compare = cfg.get("compare") or None
    pipe = AttnGANPipeline.from_checkpoint(cfg.checkpoint, device=str(cfg.device))
    train_config = pipe.metadata.get("config") or {}
    adopt_training_shapes(cfg, train_config, explicit)
    check_training_data(cfg, train_config)
    max_words = int(cfg.max_words or pipe.max_words)
    datamodule = build_datamodule(cfg, pipe, max_words)
    dataset = datamodule.val_dataset
    suite = MetricSuite(
        names,
        dataset=datamodule.dataset_name,
        root=datamodule.root,
        has_attention=len(pipe.image_sizes) > 1,
        options=options,
        num_images=num_images,
    ).to(pipe.device)
    log.info(
        "evaluating %s on %d images (%s test split: %d images) with %s",
        cfg.checkpoint,
        num_images,
        datamodule.dataset_name,
        len(dataset),
        ", ".join(suite.names) or "no metric",
    )
    if suite.needs_real_images:
        from attngan.evaluation.fid_reference import feed_real_side

        feed_real_side(cfg, suite, datamodule, pipe.device)

    per_image, num_test = captions_per_image(datamodule), len(dataset)
    passes = math.ceil(num_images / num_test)
    writer = _ImageWriter(out) if cfg.save_images else None
    bar = progress(total=num_images, desc="generating images", unit="img", enabled=cfg.get("progress", True))

    def on_batch(batch: CaptionBatch, output: GeneratorOutput) -> None:
        if writer is not None:
            writer(batch, output)
        bar.update(len(batch["keys"]))

    use_classes = bool(datamodule.num_classes)
    try:
        for k in range(passes):
            positions = range(min(num_test, num_images - k * num_test))
            batches = caption_batches(
                dataset, positions, batch_size, k % per_image, k * num_test, max_words, pipe.vocab.to_list()
            )
            if writer is not None:
                writer.caption_index = k % per_image
            encoders = (pipe.text_encoder, pipe.generator, pipe.image_encoder)
            measure(suite, batches, *encoders, seed, use_classes, on_batch)
    finally:
        bar.close()
        if writer is not None:
            writer.manifest.close()

    info = suite.describe()
    report = {
        "metrics": suite.compute(),
        "checkpoint": str(cfg.checkpoint),
        "data": {
            "name": datamodule.dataset_name,
            "root": str(datamodule.root),
            "split": "test",
            "num_test_images": num_test,
            "vocabulary_size": len(pipe.vocab),
        },
        "num_images": num_images,
        "caption_passes": passes,
        "captions_per_image": per_image,
        "max_words": max_words,
        "image_size": pipe.image_sizes[-1],
        "seed": seed,
        "batch_size": batch_size,
        "settings": {
            "names": suite.names,
            "num_candidates": options.num_candidates,
            "num_folds": options.num_folds,
            "r_precision_protocol": options.r_precision_protocol,
            "clip_model": info.get("clip_model"),
            "clip_architecture": info.get("clip_architecture"),
            "is_splits": options.is_splits,
            "antialias": options.antialias,
            "inception_weights": info.get("inception_weights"),
            "inception_resize": info.get("inception_resize"),
            "class_ids": use_classes,
        },
        "protocols": info.get("protocols", {}),
        "skipped": info.get("skipped", {}),
        "images_dir": str(images_dir) if writer is not None else None,
        "attngan_version": attngan.__version__,
        "torch_version": str(torch.__version__),
        "device": str(pipe.device),
        "seconds": round(time.perf_counter() - started, 1),
    }
    report, table = write_report(out, report)
    print(table)
    if compare is not None:
        _, comparison = write_comparison(out, report, str(compare))
        print(comparison)
    return report
