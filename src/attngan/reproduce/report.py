"""``report.md``: per claim the paper's statement, the measured numbers and a verdict, from ``results.json`` alone.

The verdicts are :mod:`attngan.reproduce.verdicts`'; the λ figure is drawn here from the recorded evaluations,
the image figures were written by the studies beside the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attngan.reproduce.recipe import recipe_rows
from attngan.reproduce.rules import number, pct
from attngan.reproduce.verdicts import lambda_rows, verdicts

__all__ = ["ORDER", "build_report", "section"]

ORDER = ("lambda", "word_swap", "novel", "attention", "refinement", "recipe")


def _lambda_section(results: Mapping[str, Any], out: Path) -> list[str]:
    from attngan.evaluation.paper import PUBLISHED
    from attngan.reproduce.figures import lambda_figure

    paper = {p.model: p.value for p in PUBLISHED if p.dataset == "cub" and p.result == "r_precision"}
    lines = [
        "**Paper (CUB, Table 2):** R-precision rises with λ (AttnGAN1: λ=0.1 16.55 %, 1 34.96 %, 5 58.65 %, "
        f"10 63.87 %; without DAMSM lowest); AttnGAN2 at λ=5 {paper.get('AttnGAN2, λ=5', 67.82)} %.",
        "",
        f"**Measured** (shapes, {results.get('epochs')} epochs per run, seeds {results.get('seeds')}; best epoch "
        "by R-precision; R-precision ± the std over its 10 folds, ± between seeds where several; the one-object oracle at that epoch):",
        "",
        *_header(
            "run", "λ", "best epoch", "R-precision %", "seed spread", *_PERCENT[:3], "wall min", "G steps/s"
        ),
    ]
    rows = lambda_rows(results)
    for row in rows:
        q, rate = row["quality"], row["steps"] / row["wall_s"] if row["steps"] and row["wall_s"] else None
        lines.append(
            f"| {row['label']} | {number(row['lambda'])} | {'/'.join(map(str, row['epoch'])) or '–'} of {row['epochs']} | "
            f"{pct(row['r'], row['fold_std'])} | {_spread(row)} | {pct(q.get('colour'))} | {pct(q.get('side'))} | "
            f"{pct(q.get('shape'))} | {row['wall_s'] / 60:.1f} | {'–' if rate is None else f'{rate:.2f}'} |"
        )
    figure = lambda_figure(dict(results), rows, out / "lambda.png")
    lines += [
        "",
        "*G steps/s*: generator steps over the run's wall time, start-up and evaluations included; the budget's "
        "`budget.attngan_steps_per_second` for this machine is about this.",
        "",
        f"![R-precision and oracle accuracy against epoch, best R-precision against λ]({figure.name})",
    ]
    return lines


def _word_swap_section(results: Mapping[str, Any], out: Path) -> list[str]:
    lines = [
        "**Paper (Fig. 5):** with the noise fixed, changing one word of the caption changes the matching "
        "attribute of the image and leaves the rest.",
        "",
        f"**Measured** on single-object test captions, checkpoint `{results.get('checkpoint')}` (oracle; ± one "
        "standard error):",
        "",
        *_header(
            "word changed", "pairs", "original right %", "followed %", "others kept %", "both %", "chance %"
        ),
    ]
    for kind, r in results["kinds"].items():
        if not r.get("pairs"):
            lines.append(f"| {kind} | 0 | – | – | – | – | – |")
            continue
        lines.append(
            f"| {kind} | {r['pairs']} | {pct(r['original_correct']['value'])} | "
            f"{pct(r['followed']['value'], r['followed']['se'])} | {pct(r['kept']['value'], r['kept']['se'])} | "
            f"{pct(r['success']['value'], r['success']['se'])} | {pct(r['chance'])} |"
        )
    if results.get("figure"):
        lines += ["", f"![original, then colour / shape / position swapped, same noise]({results['figure']})"]
    return lines


def _novel_section(results: Mapping[str, Any], out: Path) -> list[str]:
    lines = [
        "**Paper (Fig. 6):** AttnGAN draws compositions it has not seen in training (novel scenarios).",
        "",
        f"**Measured:** held out of the training split: {', '.join(results['holdout'])} "
        f"({'own DAMSM on that split' if results.get('own_damsm') else 'the shared DAMSM'}); single-object test "
        "captions, every caption of an image (oracle on the final image, ± one standard error):",
        "",
        *_header("seed", "group", "images", "colour+shape %", "colour %", "shape %", "side %", "image %"),
    ]
    for s in results["seeds"]:
        for group in ("heldout", "seen"):
            acc = s.get(group)
            if not acc:
                lines.append(f"| {s['seed']} | {group} | 0 | – | – | – | – | – |")
                continue
            lines.append(
                f"| {s['seed']} | {'held out' if group == 'heldout' else 'seen'} | {s.get(f'{group}_images')} | "
                f"{pct(acc['composition']['value'], acc['composition']['se'])} | {pct(acc['colour']['value'])} | "
                f"{pct(acc['shape']['value'])} | {pct(acc['position']['value'])} | {pct(acc['image']['value'])} |"
            )
        lines.append(
            f"\nTraining images: {s.get('train_images')}, of them showing a held-out combination: "
            f"{s.get('train_images_held_out')} (must be 0)."
        )
    return lines


def _attention_section(results: Mapping[str, Any], out: Path) -> list[str]:
    from attngan.reproduce.attention import WORD_KINDS

    lines = [
        "**Paper (Fig. 4, §4.1):** the attention of each word falls on the sub-region it describes; the second "
        "attention model refines, attending to words the first one missed.",
        "",
        f"**Measured** on {results.get('captions')} single-object test captions, checkpoint "
        f"`{results.get('checkpoint')}`: per attention stage, the share of each word kind's attention inside its "
        "object (uniform: the object's area) and the kind's share of all attention; the top words by mean share:",
        "",
        *_header(
            "stage",
            "grid",
            *(f"{k} inside %" for k in WORD_KINDS),
            "uniform %",
            *(f"{k} mass %" for k in WORD_KINDS),
            "top words",
        ),
    ]
    for s, stage in enumerate(results["stages"], start=1):
        top = ", ".join(f"{w} ({100 * m:.0f} %)" for w, m, _ in stage["top_words"])
        lines.append(
            f"| {s} | {stage['size']} | "
            + " | ".join(pct(stage["inside"][k]["value"]) for k in WORD_KINDS)
            + f" | {pct(stage['uniform'])} | "
            + " | ".join(pct(stage["mass"][k]) for k in WORD_KINDS)
            + f" | {top} |"
        )
    if results.get("figure"):
        lines += ["", f"![stage images and the top words of each attention stage]({results['figure']})"]
    return lines


def _refinement_section(results: Mapping[str, Any], out: Path) -> list[str]:
    lines = [
        "**Paper (Fig. 1):** the first stage sketches shape and colour at low resolution; each attentional stage "
        "adds detail from the relevant words.",
        "",
        f"**Measured** on {results.get('captions')} single-object test captions, checkpoint "
        f"`{results.get('checkpoint')}` (each stage's image upsampled to 64 px for the oracle; shape is "
        "unreliable for the oracle at 16 px, so G0 of a 16-px first stage understates it):",
        "",
        *_header("stage", "px", *_PERCENT, "image %"),
    ]
    for s, stage in enumerate(results["stages"]):
        lines.append(
            f"| G{s} | {stage['px']} | {pct(stage['colour']['value'])} | {pct(stage['position']['value'])} | "
            f"{pct(stage['shape']['value'], stage['shape']['se'])} | {pct(stage['size']['value'])} | "
            f"{pct(stage['image']['value'])} |"
        )
    if results.get("figure"):
        lines += ["", f"![the stages of a few captions]({results['figure']})"]
    return lines


def _recipe_section(results: Mapping[str, Any], out: Path) -> list[str]:
    lines = [
        "**Not in the paper:** the main job's recipe (`experiment=shapes_attngan`: the training options of "
        "docs/training.md) against the authors' release recipe (`experiment=shapes_attngan_release`) and against "
        "the recipe with one option removed, at the same generator steps, stages and seeds.",
        "",
        f"**Measured** at the last evaluation of each run ({results.get('epochs')} epochs, seeds "
        f"{results.get('seeds')}: every seed for the recipe and the release, the first for the others; one-object "
        "test captions; *one-object* is the mean of colour, side, shape and size ± one standard error):",
        "",
        *_header("run", "seeds", "G steps", "one-object %", "seed spread", *_PERCENT, "R-precision %"),
    ]
    for row in recipe_rows(results):
        q = row["quality"]
        lines.append(
            f"| {row['label']} | {row['seeds']} | {row['steps']} | {pct(row['score'], row['se'])} | "
            f"{_spread(row)} | {pct(q.get('colour'))} | "
            f"{pct(q.get('side'))} | {pct(q.get('shape'))} | {pct(q.get('size'))} | {pct(q.get('r_precision'))} |"
        )
    from attngan.reproduce.figures import recipe_figure

    figure = recipe_figure(results["runs"], out / "recipe.png")
    lines += ["", f"![one-object accuracy and R-precision against generator steps]({figure.name})"]
    return lines


def _floor_line(results: Mapping[str, Any]) -> list[str]:
    """The study's floor as the report states it (a model below it gets no verdict)."""
    floor = results.get("floor") or {}
    if not floor:
        return []
    if all(isinstance(v, Mapping) for v in floor.values()):
        text = "; ".join(f"{kind}: {_floor_text(f)}" for kind, f in floor.items())
    else:
        text = _floor_text(floor)
    quality = results.get("quality")
    measured = f" Measured on the checkpoint: {_floor_text(quality, '')}." if quality else ""
    return ["", f"**Floor** (below it: *under-trained*, no verdict): {text}.{measured}"]


def _floor_text(values: Mapping[str, Any], sign: str = " ≥") -> str:
    return ", ".join(f"{name}{sign} {100 * float(v):.0f} %" for name, v in values.items())


_PERCENT = ("colour %", "side %", "shape %", "size %")


def _header(*columns: str) -> list[str]:
    """A Markdown table's header and separator lines."""
    return [f"| {' | '.join(columns)} |", "|" + "---|" * len(columns)]


def _spread(row: Mapping[str, Any]) -> str:
    """The spread between a row's seeds, or "1 seed"."""
    return pct(row["seed_std"]) if row["seeds"] > 1 else "1 seed"


_SECTIONS = {
    "lambda": _lambda_section,
    "word_swap": _word_swap_section,
    "novel": _novel_section,
    "attention": _attention_section,
    "refinement": _refinement_section,
    "recipe": _recipe_section,
}


def section(name: str, results: Mapping[str, Any], out: Path) -> str:
    """The report section of study ``name`` (writes its figures into ``out``)."""
    body = _SECTIONS[name]
    lines = [
        f"## {ORDER.index(name) + 1}. {results.get('title', name)}",
        "",
        *body(results, out),
        *_floor_line(results),
        "",
    ]
    for v in verdicts(name, results):
        lines.append(f"- **{v['verdict']}**: {v['claim']} ({v['why']})")
    return "\n".join(lines) + "\n"


def build_report(out: str | Path, results: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
    """Write ``<out>/report.md`` (and the λ figure) from every ``<out>/<study>/results.json`` (or ``results``).

    Returns:
        The report's path.
    """
    out = Path(out)
    if results is None:
        results = {
            name: json.loads(path.read_text())
            for name in ORDER
            if (path := out / name / "results.json").is_file()
        }
    out.mkdir(parents=True, exist_ok=True)
    summary = ["| study | claim | verdict |", "|---|---|---|"]
    bodies = []
    for name in ORDER:
        if name not in results:
            continue
        for v in verdicts(name, results[name]):
            summary.append(f"| {ORDER.index(name) + 1}. {name} | {v['claim']} | **{v['verdict']}** |")
        bodies.append(section(name, results[name], out))
    missing = [n for n in ORDER if n not in results]
    wall = sum(float(r.get("wall_s") or 0) for r in results.values())
    head = [
        "# `make reproduce`: the paper's claims on the shapes data",
        "",
        f"Written {time.strftime('%Y-%m-%d %H:%M')} on {_machine()}; "
        f"studies' wall time {wall / 60:.1f} min (runs trained in earlier sessions count at their own time). "
        "Verdict rules: [docs/reproduce.md](../../docs/reproduce.md). Budget plan: [plan.md](plan.md).",
        "",
        *summary,
    ]
    if missing:
        head += ["", f"Not run yet: {', '.join(missing)} (`attngan-reproduce study=<name>`)."]
    path = out / "report.md"
    path.write_text("\n".join(head) + "\n\n" + "\n".join(bodies))
    return path


def _machine() -> str:
    """The CPU model and core count (Linux: /proc/cpuinfo), else the platform's name."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        found = [
            line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")
        ]
        model = found[0].split(":", 1)[1].strip() if found else model
    return f"{model}, {os.cpu_count()} logical cores"
