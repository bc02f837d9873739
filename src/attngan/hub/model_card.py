"""The model card (``README.md``) of a shareable model directory: Hub front matter, training, use, limitations.

The metrics come from the ``metrics.json`` of the last ``attngan-eval`` of the checkpoint
(:func:`find_evaluation`); the table and its protocol notes are the ones ``attngan-eval`` writes
(:func:`attngan.evaluation.report.markdown_table`), so the card and ``metrics.md`` never disagree.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import yaml

# Hub dataset names, for the front matter's `datasets`
HUB_DATASETS = {"cub": "cub-200-2011", "coco": "coco-2014", "shapes": "attngan-shapes"}

DATASET_NOTES = {
    "shapes": (
        "Trained on **shapes**, a synthetic set that `attngan-data` generates: one to a few coloured circles, "
        "squares and triangles on a plain background, with template captions naming colour, size and position. "
        "It is a test bed for checking that the model follows words (the shapes oracle measures it); it knows "
        "only the words of those templates and says nothing about natural images. Its biases are the "
        "generator's choices (colours, positions, object counts), which are uniform by design."
    ),
    "cub": (
        "Trained on **CUB-200-2011** (11,788 photographs of 200 North American bird species, 10 crowd-sourced "
        "captions each). It draws birds only, of species and poses frequent in those photographs; captions "
        "about other subjects or rare plumage give implausible images. The captions were written by "
        "English-speaking annotators with a limited, repetitive vocabulary (colours and body parts); "
        "photographs are mostly centred, daylight, from birding collections, and the crop uses the dataset's "
        "bounding boxes. Species and colour words are not equally represented."
    ),
    "coco": (
        "Trained on **MS-COCO 2014** (about 80,000 training photographs of everyday scenes, 5 captions each). "
        "At these resolutions a GAN renders textures and layouts rather than recognisable objects or people; "
        "images of people must not be taken as depicting anyone. COCO's photographs come from Flickr and "
        "over-represent Western, urban scenes; its captions carry the annotators' assumptions, and studies of "
        "COCO report gender and skin-tone imbalances in who appears in which activity, which a model trained "
        "on it can reproduce."
    ),
}
OTHER_DATA_NOTE = (
    "Trained on a custom dataset: its limitations and biases are those of that data, which this card cannot "
    "describe; the model knows only the words of its training captions."
)


# ------------------------------------------------------------------------------------------ evaluations
def _same_checkpoint(recorded: str, checkpoint: Path, base: Path) -> bool:
    recorded_path = Path(recorded)
    if not recorded_path.is_absolute():
        recorded_path = base / recorded_path
    try:
        return recorded_path.resolve() == checkpoint.resolve()
    except OSError:  # pragma: no cover - unreadable paths
        return False


def _read(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return report if isinstance(report, dict) and isinstance(report.get("metrics"), dict) else None


def find_evaluation(
    checkpoint: str | os.PathLike[str] | None, evaluation: str | os.PathLike[str] | None = None
) -> dict[str, Any] | None:
    """The ``metrics.json`` of the last ``attngan-eval`` of ``checkpoint``, or None when there is none.

    Args:
        checkpoint: the ``.ckpt`` file; its folder and that folder's sub-folders are searched for ``metrics.json``
            files that name it (newest first), and so are ``./eval`` (``attngan-eval``'s default output) and its
            sub-folders (``output_dir=eval/shapes``).
        evaluation: a ``metrics.json`` file or an ``attngan-eval`` output directory to use instead (it is used
            even when it names another path for the checkpoint, e.g. after a move).
    """
    if evaluation is not None:
        path = Path(evaluation)
        path = path / "metrics.json" if path.is_dir() else path
        report = _read(path)
        if report is None:
            from attngan.errors import ConfigError

            raise ConfigError(f"evaluation '{path}' is not a metrics.json written by attngan-eval")
        return report
    if checkpoint is None:
        return None
    checkpoint = Path(checkpoint)
    folder = checkpoint.parent
    candidates = [folder / "metrics.json", *folder.glob("*/metrics.json")]
    candidates += [Path("eval") / "metrics.json", *Path("eval").glob("*/metrics.json")]
    found = []
    for path in {p.resolve() for p in candidates if p.is_file()}:
        report = _read(path)
        if report is not None and _same_checkpoint(str(report.get("checkpoint", "")), checkpoint, Path.cwd()):
            found.append((path.stat().st_mtime, str(path), report))
    return max(found, key=lambda item: item[:2])[2] if found else None


# ------------------------------------------------------------------------------------------ the card
def _headline_results() -> list[str]:
    from attngan.metrics.registry import METRICS

    return [r.name for entry in METRICS.values() for r in entry.results if r.headline]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def front_matter(config: dict[str, Any], evaluation: dict[str, Any] | None) -> dict[str, Any]:
    """The Hub metadata of the card: library, tags, datasets, and ``model-index`` with the evaluation's metrics."""
    dataset = (config.get("training") or {}).get("dataset")
    meta: dict[str, Any] = {
        "library_name": "attngan",
        "pipeline_tag": "text-to-image",
        "tags": ["text-to-image", "gan", "attngan", "pytorch", "safetensors"],
    }
    if dataset:
        meta["datasets"] = [HUB_DATASETS.get(dataset, dataset)]
    if evaluation is None:
        return meta
    results = evaluation.get("metrics") or {}
    protocol = {
        "num_images": evaluation.get("num_images"),
        "seed": evaluation.get("seed"),
        "max_words": evaluation.get("max_words"),
        "image_size": evaluation.get("image_size"),
        **{k: v for k, v in (evaluation.get("settings") or {}).items() if k != "names"},
    }
    metrics = []
    for name in _headline_results():
        value = _number(results.get(name))
        if value is None:
            continue
        entry: dict[str, Any] = {"type": name, "name": name, "value": round(value, 6)}
        std = _number(results.get(f"{name}_std"))
        if std is not None:
            entry["args"] = {"std": round(std, 6)}
        metrics.append(entry)
    data = evaluation.get("data") or {}
    meta["model-index"] = [
        {
            "name": f"attngan-{data.get('name') or dataset or 'model'}",
            "results": [
                {
                    "task": {"type": "text-to-image", "name": "Text-to-Image"},
                    "dataset": {
                        "name": f"{data.get('name')} (test split)",
                        "type": HUB_DATASETS.get(str(data.get("name")), str(data.get("name"))),
                        "split": data.get("split", "test"),
                        "args": {k: v for k, v in protocol.items() if v is not None},
                    },
                    "metrics": metrics,
                    "source": {"name": "attngan-eval"},
                }
            ],
        }
    ]
    return meta


def read_front_matter(text: str) -> dict[str, Any]:
    """The YAML front matter of a model card (``---`` ... ``---`` at the top), as a dict."""
    if not text.startswith("---\n"):
        return {}
    end = text.index("\n---\n", 4)
    return yaml.safe_load(text[4:end]) or {}


CARD = """---
{front_matter}
---

# AttnGAN{dataset_title}

A text-to-image AttnGAN saved by the `attngan` package (`save_pretrained` / `attngan-export`): weights in \
safetensors, settings in `config.json`, no pickle.

```python
from attngan import AttnGANPipeline
pipe = AttnGANPipeline.from_pretrained("path/or/owner-name")
result = pipe("a description in the words of the training captions", seed=0)
result.images[0].save("sample.png")
```

## Evaluation

{evaluation}

## How it was trained

AttnGAN (Xu et al., CVPR 2018) with {num_stages} generator stage(s) ({sizes} px, ngf={ngf}, z_dim={z_dim}), \
conditioned by a DAMSM text encoder ({rnn_type}, vocabulary of {vocab_size} ids, captions of up to {max_words} \
words). The generator weights are the exponential moving average used for every sample and metric.

{settings}The full resolved training config is `training_config` in `config.json`.

## Intended use

Research on text-to-image generation: reproducing AttnGAN, studying word attention (the pipeline returns the \
attention maps of every word), and as a baseline. It is not suited to producing realistic images of people or to \
any decision about people; images are small and often visibly synthetic. Captions may only use words of its \
vocabulary (`vocab.json`); unknown words are left out and reported.

## Limitations and biases

{data_note}

A GAN reproduces the distribution of its training images, biases included, and cannot be asked for anything \
outside it.
"""


def render_model_card(config: dict[str, Any], evaluation: dict[str, Any] | None = None) -> str:
    """The ``README.md`` of a model directory.

    Args:
        config: what ``config.json`` holds (networks, sizes, training summary).
        evaluation: the ``metrics.json`` of ``attngan-eval`` (:func:`find_evaluation`), or None.
    """
    from attngan.evaluation.report import markdown_table

    training = config.get("training") or {}
    dataset = training.get("dataset")
    nets = config.get("networks") or {}
    generator, text_encoder = nets.get("generator") or {}, nets.get("text_encoder") or {}
    rows = [(k, v) for k, v in training.items() if not isinstance(v, dict)]
    rows += [(f"{k}.{kk}", vv) for k, v in training.items() if isinstance(v, dict) for kk, vv in v.items()]
    settings = "".join(["| setting | value |\n|---|---|\n", *(f"| {k} | `{v}` |\n" for k, v in rows), "\n"])
    return CARD.format(
        front_matter=yaml.safe_dump(
            front_matter(config, evaluation), sort_keys=False, allow_unicode=True
        ).rstrip(),
        dataset_title=f" ({dataset})" if dataset else "",
        evaluation="This model was not evaluated (no `attngan-eval` metrics.json was found for it)."
        if evaluation is None
        else markdown_table(evaluation).rstrip(),
        num_stages=generator.get("num_stages", "?"),
        sizes=", ".join(f"{s}×{s}" for s in config.get("image_sizes", [])),
        ngf=generator.get("ngf"),
        z_dim=config.get("z_dim"),
        rnn_type=text_encoder.get("rnn_type", "lstm"),
        vocab_size=config.get("vocab_size"),
        max_words=config.get("max_words"),
        settings=settings if rows else "",
        data_note=DATASET_NOTES.get(str(dataset), OTHER_DATA_NOTE),
    )
