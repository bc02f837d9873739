"""Writing evaluation results: strict JSON (``metrics.json``, ``evaluation.jsonl``, each written whole) and the one
Markdown table of ``attngan-eval`` (``metrics.md``: a checkpoint's in the style of the paper's Tables 2/3, or a
folder of images' IS and FID)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from attngan.outputs import atomic_path

__all__ = ["append_jsonl", "json_ready", "markdown_table", "mean_std", "write_report"]


def json_ready(value: Any) -> Any:
    """``value`` with NaN/inf floats as ``None`` and tensors/numpy scalars as numbers (strict JSON)."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, Tensor | np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def append_jsonl(path: Path, record: Mapping[str, Any]) -> None:
    """Append ``record`` as one strict-JSON line to ``path`` (created with its folder), whole or not at all."""
    # Rewritten, not appended to: the old lines and the new one go to a temporary file beside it, flushed to
    # disk and renamed over it (atomic_path), so a reader sees the old file or the new one and a kill, a full
    # disk or a file-size limit mid-write leaves the old file as it was. An append, even one os.write on an
    # O_APPEND descriptor, can land part of a line (a short write on a full disk) that a reader then sees.
    # The copy costs one read of a small file (a line per evaluation), and the run lock
    # (attngan.outputs.hold_run_directory) keeps a second writer, whose record the rename could drop, away.
    line = json.dumps(json_ready(record), allow_nan=False) + "\n"  # a record that is not JSON: no write
    path = Path(path)
    try:
        previous = path.read_bytes()
    except FileNotFoundError:
        previous = b""
    if previous and not previous.endswith(b"\n"):  # a torn line of an older writer: keep it, on its own line
        previous += b"\n"
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        handle.write(previous + line.encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())  # on disk before the rename makes it the file: no empty file after a crash


def write_report(out: Path, report: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """Write ``<out>/metrics.json`` (strict JSON) and ``<out>/metrics.md`` (:func:`markdown_table`).

    Returns:
        ``(the JSON-ready report, the Markdown table)``.
    """
    ready = json_ready(report)
    (out / "metrics.json").write_text(json.dumps(ready, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    table = markdown_table(ready)
    (out / "metrics.md").write_text(table, encoding="utf-8")
    return ready, table


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def mean_std(results: Mapping[str, Any], key: str, scale: float = 1.0, digits: int = 2) -> str:
    """``results[key]`` and its ``<key>_std`` as ``"m ± s"`` times ``scale`` (``"—"`` when missing or NaN)."""
    mean, std = results.get(key), results.get(f"{key}_std")
    if _missing(mean):
        return "—"
    text = f"{scale * mean:.{digits}f}"
    if not _missing(std):
        text += f" ± {scale * std:.{digits}f}"
    return text


def _columns(results: Mapping[str, Any]) -> list[tuple[str, str]]:
    columns: list[tuple[str, str]] = []
    if "inception_score" in results:
        columns.append(("IS ↑", mean_std(results, "inception_score")))
    if "fid" in results:
        columns.append(("FID ↓", mean_std(results, "fid")))
    if "r_precision" in results:
        columns.append(("R-precision (%) ↑", mean_std(results, "r_precision", 100.0)))
    if "clip_r_precision" in results:  # beside the DAMSM's: a model that only fools its own DAMSM shows it
        columns.append(("CLIP-R-precision (%) ↑", mean_std(results, "clip_r_precision", 100.0)))
    if "clip_score" in results:
        columns.append(("CLIP score ↑", mean_std(results, "clip_score")))
    # shapes oracle: one-object captions (the setting of the AttnGAN targets) / every object named
    for name, title in (("colour", "Colour"), ("position", "Position"), ("shape", "Shape")):
        if f"shapes_{name}_acc" in results:
            single = mean_std(results, f"shapes_single_object_{name}_acc", 100.0, 1)
            every = mean_std(results, f"shapes_{name}_acc", 100.0, 1)
            columns.append((f"{title} acc. (%) ↑ one object / all", f"{single} / {every}"))
    if "attention_localisation" in results:
        columns.append(
            (
                "Attention in object (%) ↑ (uniform)",
                f"{mean_std(results, 'attention_localisation', 100.0, 1)} "
                f"({mean_std(results, 'attention_uniform_baseline', 100.0, 1)})",
            )
        )
    return columns


def _notes(report: Mapping[str, Any]) -> list[str]:
    results, settings, data = report["metrics"], report["settings"], report["data"]
    notes = [
        f"{report['num_images']:,} images in {report['caption_passes']} pass(es) over the "
        f"{data['num_test_images']:,} test images (pass k gives every image its caption k mod "
        f"{report['captions_per_image']}), {report['max_words']} words per caption, seed {report['seed']}, "
        f"{report['image_size']}×{report['image_size']} px."
    ]
    if "r_precision" in results:
        protocol = settings.get("r_precision_protocol") or "default"
        notes.append(
            f"R-precision (protocol `{protocol}`): own caption vs {settings['num_candidates'] - 1} mismatched "
            f"ones, cosine of the checkpoint's DAMSM vectors, mean ± std over {settings['num_folds']} folds "
            "(comparable only between models evaluated with the same DAMSM)."
        )
    if "clip_score" in results or "clip_r_precision" in results:
        notes.append(
            f"CLIP (model {settings.get('clip_model')}): CLIP score = torchmetrics' max(100 · mean cosine, 0); "
            f"CLIP-R-precision ranks the own caption among {settings['num_candidates']} by CLIP cosine, "
            f"{settings['num_folds']} folds. Independent of the DAMSM; comparable only with the same CLIP model."
        )
    if "inception_score" in results or "fid" in results:
        notes.append(
            f"IS/FID: Inception weights {settings.get('inception_weights')}; resize: "
            f"{settings.get('inception_resize')}. IS uses the ImageNet Inception: comparable with the paper "
            "for COCO only (its birds score used a CUB-fine-tuned Inception)."
        )
    if "fid" in results:
        notes.append(f"FID against {data['num_test_images']:,} real test images.")
    if any(k.startswith("shapes_") for k in results):
        notes.append(
            "Shapes oracle: per object named by the caption (colour present, position side, shape from the "
            "fill ratio); real images score 100 %."
        )
    if "attention_localisation" in results:
        baseline = results.get("attention_uniform_baseline")
        shown = "—" if _missing(baseline) else f"{100 * baseline:.1f} %"
        notes.append(
            "Attention in object: share of each colour/shape word's attention (last generator attention "
            f"stage) inside its object's mask; uniform attention would score {shown}."
        )
    for name, reason in (report.get("skipped") or {}).items():
        notes.append(f"Skipped `{name}`: {reason}.")
    return notes


def _folder_columns(report: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str]]:
    """The columns and notes of a folder of images' report (``attngan-eval images=DIR``)."""
    results, protocols = report["metrics"], report.get("protocols", {})
    columns = [
        ("Images", f"`{report['images']}` ({report['num_images']:,})"),
        ("Reference", f"`{report['reference']}`"),
    ]
    if "inception_score" in results:
        columns.append(("IS ↑", mean_std(results, "inception_score")))
    if "fid" in results:
        columns.append((f"FID ↓ ({protocols.get('fid', {}).get('protocol')})", mean_std(results, "fid")))
    notes = [
        f"{name}: " + ", ".join(f"{k} {v}" for k, v in described.items() if v is not None)
        for name, described in protocols.items()
    ]
    return columns, notes


def markdown_table(report: Mapping[str, Any]) -> str:
    """The results of ``attngan-eval`` as one Markdown row with notes (``metrics.md``, the model card).

    A checkpoint's report gets the columns of the paper's Tables 2/3 (mean ± std); a folder of images'
    (``mode: images``, :func:`attngan.evaluation.folder.evaluate_folder`) its IS and FID with their protocols.

    Args:
        report: what ``attngan-eval`` writes to ``metrics.json``: for a checkpoint ``metrics``, ``checkpoint``,
            ``data``, ``num_images``, ``caption_passes``, ``captions_per_image``, ``max_words``, ``seed``,
            ``image_size``, ``settings``, ``skipped``; for a folder ``metrics``, ``images``, ``num_images``,
            ``reference``, ``protocols``.
    """
    if report.get("mode") == "images":
        columns, notes = _folder_columns(report)
    else:
        columns = [
            ("Model", f"`{Path(report['checkpoint']).name}`"),
            ("Dataset", f"{report['data']['name']} (test)"),
            ("Images", f"{report['num_images']:,}"),
            *_columns(report["metrics"]),
        ]
        notes = _notes(report)
    head = [title for title, _ in columns]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---" for _ in head) + "|",
        "| " + " | ".join(value for _, value in columns) + " |",
        "",
    ]
    return "\n".join(lines + [f"- {note}" for note in notes]) + "\n"
