"""``attngan-eval``: generate images for the test split's captions and measure them (paper section 4).

Examples::

    attngan-eval checkpoint=outputs/shapes/attngan.ckpt num_images=2000 output_dir=eval/shapes
    attngan-eval checkpoint=cub.ckpt data=cub data.root=/data/birds max_words=25 output_dir=eval/cub
    attngan-eval checkpoint=coco.ckpt data=coco data.root=/data/coco max_words=20 device=cuda

How: ``num_images`` images are generated in passes over the test split; pass ``k`` gives every test image
its caption ``k % captions_per_image`` (deterministic; the release drew random captions), the last pass
stops at ``num_images``. Image ``i`` gets noise from ``(seed, i)``. R-precision ranks each image's own
caption among ``num_candidates`` by the cosine of DAMSM global image and sentence vectors (mismatches from
other classes where the dataset has classes); FID compares with the test split's real images at the final
size; on shapes, the oracle checks colour/position/shape and attention localisation uses the generator's last
attention stage and the ground-truth masks. Results: ``<output_dir>/metrics.json`` (every value, the
settings, what was skipped) and ``<output_dir>/metrics.md`` (a table in the style of the paper's Tables 2/3).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from attngan.cli.common import hydra_main
from attngan.config import to_plain
from attngan.errors import ConfigError, VocabularyMismatchError

log = logging.getLogger("attngan.eval")

# the data keys that decide which images a dataset holds (compared with the checkpoint's training data)
_DATA_IDENTITY_KEYS = ("name", "root", "num_images", "generation_seed", "captions_per_image")
# of those, the ones the built-in shapes set is generated from (its root is a cache path)
_SHAPES_IDENTITY_KEYS = tuple(k for k in _DATA_IDENTITY_KEYS if k not in ("name", "root"))


# ------------------------------------------------------------------------------------------ data
def _command_line_keys() -> set[str]:
    """The keys set on the command line of the running Hydra app (``data.num_images=...`` -> ``data.num_images``)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        overrides = HydraConfig.get().overrides.task
    except (ImportError, ValueError):  # not inside a Hydra app (a composed config in Python)
        return set()
    return {item.split("=", 1)[0].lstrip("+~") for item in overrides}


def adopt_training_shapes(cfg: DictConfig, train_config: dict[str, Any], explicit: set[str]) -> list[str]:
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


def _check_training_data(cfg: DictConfig, train_config: dict[str, Any]) -> None:
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


def build_datamodule(cfg: DictConfig, pipe: Any, max_words: int) -> Any:
    """The data module of ``cfg.data`` at the generator's final size, encoding with the checkpoint's vocabulary.

    Raises:
        VocabularyMismatchError: most of the dataset's words are unknown to the checkpoint (another dataset).
    """
    from hydra.utils import instantiate

    from attngan.lit.attngan_module import vocabulary_difference

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
            "the dataset's vocabulary differs from the checkpoint's (%s); captions are encoded with the "
            "checkpoint's vocabulary, unknown words left out",
            vocabulary_difference(pipe.vocab.to_list(), datamodule.vocab.to_list()),
        )
        datamodule.set_vocabulary(pipe.vocab)
    if not datamodule.val_dataset:
        raise ConfigError(
            f"the {datamodule.dataset_name} dataset at {datamodule.root} has no test image to evaluate on"
        )
    return datamodule


def captions_per_image(datamodule: Any) -> int:
    """Captions per test image (the configured number, else the most any image has)."""
    dataset = datamodule.val_dataset
    most = max(len(captions) for captions in dataset.caption_ids)
    configured = getattr(datamodule, "captions_per_image", None)
    return max(1, min(int(configured), most) if configured else most)


# ------------------------------------------------------------------------------------------ metrics
def build_suite(cfg: DictConfig, datamodule: Any, pipe: Any) -> Any:
    from hydra.utils import instantiate

    from attngan.lit.evaluation import GenerationMetrics, shapes_ground_truth

    metrics_cfg = cfg.metrics
    names = metrics_cfg.get("names")
    if isinstance(names, str):
        names = [names]
    extractor = metrics_cfg.get("feature_extractor")
    suite = GenerationMetrics(
        list(names) if names is not None else None,
        dataset=datamodule.dataset_name,
        ground_truth=shapes_ground_truth(datamodule),
        has_attention=len(pipe.image_sizes) > 1,
        strict=bool(metrics_cfg.strict),
        inception_weights=metrics_cfg.get("inception_weights") or None,
        feature_extractor=instantiate(extractor) if extractor else None,
        antialias=bool(metrics_cfg.antialias),
        is_splits=int(metrics_cfg.is_splits),
        num_candidates=int(metrics_cfg.num_candidates),
        num_folds=int(metrics_cfg.num_folds),
        seed=int(cfg.seed),
    )
    num_images = int(cfg.num_images)
    needs = {
        "r_precision": (int(metrics_cfg.num_candidates), "metrics.num_candidates"),
        "is": (int(metrics_cfg.is_splits), "metrics.is_splits"),
    }
    for name, (needed, key) in needs.items():
        if name in suite.metrics and num_images < needed:
            raise ConfigError(
                f"num_images={num_images} is too few for {name} with {key}={needed}: raise num_images or "
                f"lower {key}"
            )
    if "r_precision" in suite.metrics and num_images < int(metrics_cfg.num_folds):
        raise ConfigError(f"num_images={num_images} is fewer than metrics.num_folds={metrics_cfg.num_folds}")
    return suite


# ------------------------------------------------------------------------------------------ table
def _mean_std(results: dict[str, Any], key: str, scale: float = 1.0, digits: int = 2) -> str:
    mean, std = results.get(key), results.get(f"{key}_std")
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    text = f"{scale * mean:.{digits}f}"
    if std is not None and not (isinstance(std, float) and math.isnan(std)):
        text += f" ± {scale * std:.{digits}f}"
    return text


def markdown_table(report: dict[str, Any]) -> str:
    """The results as a Markdown table in the style of the paper's Tables 2/3 (mean ± std), with notes."""
    results = report["metrics"]
    columns: list[tuple[str, str]] = []
    if "inception_score" in results:
        columns.append(("IS ↑", _mean_std(results, "inception_score")))
    if "fid" in results:
        columns.append(("FID ↓", _mean_std(results, "fid")))
    if "r_precision" in results:
        columns.append(("R-precision (%) ↑", _mean_std(results, "r_precision", 100.0)))
    # shapes oracle: one-object captions (the setting of the AttnGAN targets) / every object named
    for name, title in (("colour", "Colour"), ("position", "Position"), ("shape", "Shape")):
        if f"shapes_{name}_acc" in results:
            single = _mean_std(results, f"shapes_single_object_{name}_acc", 100.0, 1)
            every = _mean_std(results, f"shapes_{name}_acc", 100.0, 1)
            columns.append((f"{title} acc. (%) ↑ one object / all", f"{single} / {every}"))
    if "attention_localisation" in results:
        columns.append(
            (
                "Attention in object (%) ↑ (uniform)",
                f"{_mean_std(results, 'attention_localisation', 100.0, 1)} "
                f"({_mean_std(results, 'attention_uniform_baseline', 100.0, 1)})",
            )
        )
    head = ["Model", "Dataset", "Images", *(title for title, _ in columns)]
    row = [
        f"`{Path(report['checkpoint']).name}`",
        f"{report['data']['name']} (test)",
        f"{report['num_images']:,}",
        *(value for _, value in columns),
    ]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        "| " + " | ".join(row) + " |",
        "",
    ]
    notes = [
        f"{report['num_images']:,} images in {report['caption_passes']} pass(es) over the "
        f"{report['data']['num_test_images']:,} test images (pass k gives every image its caption k mod "
        f"{report['captions_per_image']}), {report['max_words']} words per caption, seed {report['seed']}, "
        f"{report['image_size']}×{report['image_size']} px."
    ]
    settings = report["settings"]
    if "r_precision" in results:
        notes.append(
            f"R-precision: own caption vs {settings['num_candidates'] - 1} mismatched ones, cosine of the "
            f"checkpoint's DAMSM vectors, mean ± std over {settings['num_folds']} folds (comparable only "
            "between models evaluated with the same DAMSM)."
        )
    if "inception_score" in results or "fid" in results:
        notes.append(
            f"IS/FID: Inception weights {settings.get('inception_weights')}; resize: "
            f"{settings.get('inception_resize')}. IS uses the ImageNet Inception: comparable with the paper "
            "for COCO only (its birds score used a CUB-fine-tuned Inception)."
        )
    if "fid" in results:
        notes.append(f"FID against {report['data']['num_test_images']:,} real test images.")
    if any(k.startswith("shapes_") for k in results):
        notes.append(
            "Shapes oracle: per object named by the caption (colour present, position side, shape from the "
            "fill ratio); real images score 100 %."
        )
    if "attention_localisation" in results:
        baseline = results.get("attention_uniform_baseline")
        shown = f"{100 * baseline:.1f} %" if isinstance(baseline, float) and not math.isnan(baseline) else "—"
        notes.append(
            "Attention in object: share of each colour/shape word's attention (last generator attention "
            f"stage) inside its object's mask; uniform attention would score {shown}."
        )
    for name, reason in (report.get("skipped") or {}).items():
        notes.append(f"Skipped `{name}`: {reason}.")
    return "\n".join(lines + [f"- {note}" for note in notes]) + "\n"


# ------------------------------------------------------------------------------------------ main
def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Generate ``cfg.num_images`` images, compute the metrics, write ``metrics.json`` and ``metrics.md``."""
    import torch

    import attngan
    from attngan.lit.evaluation import caption_batches, generate_batch, json_ready, sample_noise
    from attngan.pipeline import AttnGANPipeline

    started = time.perf_counter()
    num_images, batch_size, seed = int(cfg.num_images), int(cfg.batch_size), int(cfg.seed)
    if num_images < 1 or batch_size < 1:
        raise ConfigError(f"num_images and batch_size must be >= 1, got {num_images} and {batch_size}")
    pipe = AttnGANPipeline.from_checkpoint(cfg.checkpoint, device=str(cfg.device))
    train_config = pipe.metadata.get("config") or {}
    adopt_training_shapes(cfg, train_config, _command_line_keys())
    _check_training_data(cfg, train_config)
    max_words = int(cfg.max_words or pipe.max_words)
    datamodule = build_datamodule(cfg, pipe, max_words)
    dataset = datamodule.val_dataset
    suite = build_suite(cfg, datamodule, pipe).to(pipe.device)
    log.info(
        "evaluating %s on %d images (%s test split: %d images) with %s",
        cfg.checkpoint,
        num_images,
        datamodule.dataset_name,
        len(dataset),
        ", ".join(suite.names) or "no metric",
    )

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if suite.needs_real_images:
        for batch in datamodule.test_dataloader():
            suite.update_real(batch["images"][-1].to(pipe.device))

    per_image = captions_per_image(datamodule)
    num_test = len(dataset)
    passes = math.ceil(num_images / num_test)
    image_dir = out / "images"
    manifest = None
    if cfg.save_images:
        image_dir.mkdir(exist_ok=True)
        manifest = (out / "images.jsonl").open("w", encoding="utf-8")
    use_classes = bool(datamodule.num_classes)
    id_to_word = pipe.vocab.to_list()
    done, next_report = 0, 0.1
    try:
        for k in range(passes):
            positions = range(min(num_test, num_images - k * num_test))
            for batch in caption_batches(
                dataset, positions, batch_size, k % per_image, k * num_test, max_words, id_to_word
            ):
                device = pipe.device
                noise, condition_noise = sample_noise(batch["indices"], pipe.z_dim, pipe.condition_dim, seed)
                output, sentence, image_global = generate_batch(
                    pipe.text_encoder,
                    pipe.generator,
                    pipe.image_encoder if "r_precision" in suite.metrics else None,
                    batch["captions"].to(device),
                    batch["lengths"].to(device),
                    noise.to(device),
                    condition_noise.to(device),
                )
                suite.update(batch, output, sentence, image_global, use_classes)
                if manifest is not None:
                    _save_images(output.images[-1], batch, k % per_image, image_dir, manifest)
                done += len(batch["keys"])
                if done >= next_report * num_images:
                    log.info("%d / %d images", done, num_images)
                    next_report += 0.1
    finally:
        if manifest is not None:
            manifest.close()

    results = suite.compute()
    info = suite.describe()
    metrics_cfg = cfg.metrics
    report = {
        "metrics": results,
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
            "num_candidates": int(metrics_cfg.num_candidates),
            "num_folds": int(metrics_cfg.num_folds),
            "is_splits": int(metrics_cfg.is_splits),
            "antialias": bool(metrics_cfg.antialias),
            "inception_weights": info.get("inception_weights"),
            "inception_resize": info.get("inception_resize"),
            "class_ids": use_classes,
        },
        "skipped": info.get("skipped", {}),
        "images_dir": str(image_dir) if cfg.save_images else None,
        "attngan_version": attngan.__version__,
        "torch_version": str(torch.__version__),
        "device": str(pipe.device),
        "seconds": round(time.perf_counter() - started, 1),
    }
    report = json_ready(report)
    (out / "metrics.json").write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    table = markdown_table(report)
    (out / "metrics.md").write_text(table)
    print(table)
    log.info("wrote %s and %s", out / "metrics.json", out / "metrics.md")
    return report


def _save_images(
    images: Any, batch: dict[str, Any], caption_index: int, image_dir: Path, manifest: Any
) -> None:
    from attngan.viz import tensor_to_pil

    for i, index in enumerate(batch["indices"].tolist()):
        name = f"{index:06d}.png"
        tensor_to_pil(images[i].float().cpu()).save(image_dir / name)
        entry = {
            "index": index,
            "file": f"images/{name}",
            "key": batch["keys"][i],
            "caption_index": caption_index,
            "caption": " ".join(batch["tokens"][i]),
        }
        manifest.write(json.dumps(entry) + "\n")


def main(argv: list[str] | None = None) -> Any:
    return hydra_main("eval", "attngan-eval", evaluate, argv)


if __name__ == "__main__":
    main()
