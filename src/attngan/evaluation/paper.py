"""The published AttnGAN numbers, as data with their source and protocol, and ``compare=paper``'s table.

``attngan-eval ... compare=paper`` writes ``<output_dir>/compare_paper.md``: every published number for the
evaluated dataset beside ours, each labelled with the protocol it was measured with, and a last column that says
whether the two protocols are the same, so that numbers of different protocols are never compared unknowingly.

Protocols are short keys (:data:`PROTOCOLS` describes each). Ours are read from ``metrics.json``:
``settings.r_precision_protocol`` (DAMSM R-precision), ``protocols.fid.protocol`` / ``protocols.is.classifier``
(what the run recorded of IS/FID), else inferred from the Inception weights file it used (torch-fidelity's
2015-12-05 file: the TF protocols; torchvision's ``inception_v3_google``: the torchvision ones).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from attngan.errors import ConfigError
from attngan.evaluation.report import mean_std

__all__ = [
    "COMPARE_CHOICES",
    "PROTOCOLS",
    "PUBLISHED",
    "Published",
    "check_compare",
    "comparison_table",
    "our_protocols",
    "write_comparison",
]

#: Values of ``attngan-eval compare=``.
COMPARE_CHOICES = ("paper",)

_PAPER = "Xu et al., AttnGAN, CVPR 2018"
_DMGAN = "Zhu et al., DM-GAN, CVPR 2019: README table of AttnGAN measured with its eval code"

#: Protocol key -> what it means. Keys starting alike measure the same quantity.
PROTOCOLS: dict[str, str] = {
    "is-cub-finetuned": "Inception score with StackGAN's CUB-fine-tuned Inception-v3 (TensorFlow checkpoint "
    "`birds_valid299`, 50 test classes), 30,000 images, 10 splits",
    "is-imagenet": "Inception score with the ImageNet Inception-v3 of 2015-12-05 (TensorFlow; torch-fidelity's "
    "`weights-inception-2015-12-05-6726825d.pth`), 30,000 images, 10 splits",
    "fid-torchvision": "FID, torchvision's ImageNet Inception-v3 (`inception_v3_google-0cc3c7bd.pth`) pool "
    "features, PNGs PIL-bilinear-resized to 299 (DM-GAN / DF-GAN / GALIP code, 'PyTorch FID')",
    "fid-tf": "FID, the TF-ported 2015-12-05 Inception (TTUR; torch-fidelity's `inception-v3-compat`), "
    "TF-1.x bilinear resize ('TF FID')",
    "fid-clean": "FID, clean-fid's protocol (PIL bicubic resize with antialiasing, TF-ported weights)",
    "fid-injected-network": "FID over an injected feature network (tests, custom features): no published protocol",
    "is-injected-network": "IS over an injected network (tests, custom features): no published protocol",
    "r-paper": "R-precision as the AttnGAN paper §4 describes it: own caption + 99 mismatched ones, cosine of "
    "the released DAMSM's image and sentence vectors, top-1, 30,000 images, 10 folds (no code was released)",
    "r-default": "R-precision, our default: 99 distinct mismatches of other classes, a tie is a miss, "
    "10 contiguous folds of all images (metrics.r_precision.protocol=default)",
    "r-dmgan": "R-precision, DM-GAN's code: 99 mismatches of other classes drawn with replacement, a tie is a "
    "hit, shuffled folds of 2,999 of every 3,000 images (metrics.r_precision.protocol=dmgan)",
    "clip-score": "CLIP score, torchmetrics' CLIPScore: max(100 · mean cosine, 0) (metrics.clip.model_path)",
    "clip-r": "CLIP-R-precision: own caption + 99 mismatched ones ranked by CLIP cosine, top-1, 10 folds",
}

# Pairs that measure the same thing with small, documented differences: (ours, published) -> why.
_CLOSE: dict[tuple[str, str], str] = {
    ("r-dmgan", "r-paper"): "approximately: DM-GAN's code is the public implementation of the paper's "
    "definition; valid with the released DAMSM only",
    (
        "r-default",
        "r-paper",
    ): "approximately: same definition; ours draws distinct mismatches and counts ties as "
    "misses (metrics.r_precision.protocol=dmgan follows DM-GAN's code); valid with the released DAMSM only",
    (
        "r-default",
        "r-dmgan",
    ): "approximately: see metrics.r_precision.protocol=dmgan for DM-GAN's exact computation",
}


@dataclass(frozen=True)
class Published:
    """One published number.

    Attributes:
        dataset: ``"cub"`` or ``"coco"`` (our data config names).
        model: the model row of the table it comes from.
        result: our result name it corresponds to (``inception_score``, ``fid``, ``r_precision``).
        value: as published (R-precision in percent).
        std: the published ± (``None`` when none was given).
        protocol: a key of :data:`PROTOCOLS`.
        source: paper and table.
    """

    dataset: str
    model: str
    result: str
    value: float
    std: float | None
    protocol: str
    source: str


def _attngan1(lam: str, inception: float, r: float) -> tuple[Published, Published]:
    model = f"AttnGAN1, λ={lam} (λ study)"
    source = f"{_PAPER}, Table 2"
    return (
        Published("cub", model, "inception_score", inception, None, "is-cub-finetuned", source),
        Published("cub", model, "r_precision", r, None, "r-paper", source),
    )


#: Every published number compare=paper shows, in table order.
PUBLISHED: tuple[Published, ...] = (
    Published(
        "cub", "AttnGAN2, λ=5", "inception_score", 4.36, 0.03, "is-cub-finetuned", f"{_PAPER}, Tables 2/3"
    ),
    Published("cub", "AttnGAN2, λ=5", "r_precision", 67.82, 4.43, "r-paper", f"{_PAPER}, Table 2"),
    *_attngan1("0.1", 4.19, 16.55),
    *_attngan1("1", 4.35, 34.96),
    *_attngan1("5", 4.35, 58.65),
    *_attngan1("10", 4.29, 63.87),
    Published("cub", "AttnGAN, measured by DM-GAN's authors", "fid", 23.98, None, "fid-torchvision", _DMGAN),
    Published("cub", "AttnGAN, measured by DM-GAN's authors", "fid", 14.01, None, "fid-tf", _DMGAN),
    Published(
        "coco", "AttnGAN2, λ=50", "inception_score", 25.89, 0.47, "is-imagenet", f"{_PAPER}, Tables 2/3"
    ),
    Published("coco", "AttnGAN2, λ=50", "r_precision", 85.47, 3.69, "r-paper", f"{_PAPER}, Table 2"),
    Published("coco", "AttnGAN, measured by DM-GAN's authors", "fid", 35.49, None, "fid-torchvision", _DMGAN),
    Published("coco", "AttnGAN, measured by DM-GAN's authors", "fid", 29.53, None, "fid-tf", _DMGAN),
)

# result name -> (row title, shown in percent)
_RESULTS: dict[str, tuple[str, bool]] = {
    "inception_score": ("IS ↑", False),
    "fid": ("FID ↓", False),
    "r_precision": ("R-precision (DAMSM) ↑", True),
    "clip_r_precision": ("CLIP-R-precision ↑", True),
    "clip_score": ("CLIP score ↑", False),
}


def _weights_kind(weights: Any) -> str | None:
    name = str(weights or "")
    if "inception_v3_google" in name:
        return "torchvision"
    if "2015-12-05" in name or "pt_inception" in name:
        return "tf"
    return None


def our_protocols(report: Mapping[str, Any]) -> dict[str, str | None]:
    """The protocol key of each of our results in a ``metrics.json`` report (``None``: not known).

    Args:
        report: what ``attngan-eval`` wrote (``settings`` holds how each metric was measured).
    """
    settings = report.get("settings") or {}
    recorded = report.get("protocols") or {}
    kind = _weights_kind(settings.get("inception_weights"))
    fid = _recorded(recorded.get("fid"), "protocol") or settings.get("fid_protocol") or kind
    classifier = _recorded(recorded.get("is"), "classifier") or settings.get("is_classifier")
    if classifier is None and kind is not None:
        classifier = "imagenet"
    if _injected(recorded.get("is")):
        classifier = "injected network"
    fid, classifier = (str(v).replace("_", "-").replace(" ", "-") if v else None for v in (fid, classifier))
    r_protocol = _recorded(recorded.get("r_precision"), "protocol") or settings.get("r_precision_protocol")
    r_protocol = r_protocol or "default"
    return {
        "inception_score": f"is-{classifier}" if classifier else None,
        "fid": f"fid-{fid}" if fid else None,
        "r_precision": f"r-{r_protocol}",
        "clip_score": "clip-score",
        "clip_r_precision": "clip-r",
    }


def _recorded(entry: Any, key: str) -> str | None:
    """A protocol as recorded: a string, or the ``key`` of a per-metric description dict."""
    if isinstance(entry, Mapping):
        entry = entry.get(key)
    return str(entry) if entry else None


def _injected(entry: Any) -> bool:
    return isinstance(entry, Mapping) and "injected" in str(entry.get("weights", ""))


def _value(values: Mapping[str, Any], key: str, percent: bool, scale: float = 1.0) -> str:
    text = mean_std(values, key, scale)
    return text + (" %" if percent and text != "—" else "")


def _ours(results: Mapping[str, Any], result: str) -> str:
    percent = _RESULTS[result][1]
    return _value(results, result, percent, 100.0 if percent else 1.0)


def _verdict(ours: str | None, published: str) -> str:
    if ours is None:
        return "unknown: our run did not record its protocol"
    if ours == published:
        return "**yes**"
    if (ours, published) in _CLOSE:
        return _CLOSE[(ours, published)]
    return f"**no**: `{ours}` vs `{published}`, do not compare"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def comparison_table(report: Mapping[str, Any]) -> str:
    """The Markdown comparison of a ``metrics.json`` report with the published numbers of its dataset.

    Args:
        report: what ``attngan-eval`` writes (``metrics``, ``settings``, ``data.name``, ``checkpoint``,
            ``num_images``).

    Returns:
        A Markdown page: one row per published number with ours beside it and both protocols, rows for our
        metrics that have no published counterpart (CLIP), then the protocols in full.
    """
    results = report.get("metrics") or {}
    dataset = (report.get("data") or {}).get("name")
    protocols = our_protocols(report)
    checkpoint = Path(str(report.get("checkpoint", "ours"))).name
    num_images = report.get("num_images")
    head = [
        "Metric",
        "Published",
        "Model (source)",
        "Protocol",
        f"Ours (`{checkpoint}`)",
        "Our protocol",
        "Same protocol?",
    ]
    lines = [
        f"# Published AttnGAN numbers beside ours: {dataset} (test split)",
        "",
        _row(head),
        "|" + "|".join("---" for _ in head) + "|",
    ]
    rows = [p for p in PUBLISHED if p.dataset == dataset]
    used = {p.protocol for p in rows}
    for published in rows:
        title, percent = _RESULTS[published.result]
        ours_protocol = protocols.get(published.result) if published.result in results else None
        ours = _ours(results, published.result) if published.result in results else "not measured"
        used.add(ours_protocol or "")
        lines.append(
            _row(
                [
                    title,
                    _value({"value": published.value, "value_std": published.std}, "value", percent),
                    f"{published.model} ({published.source})",
                    f"`{published.protocol}`",
                    ours,
                    f"`{ours_protocol}`" if ours_protocol else "—",
                    _verdict(ours_protocol, published.protocol) if published.result in results else "—",
                ]
            )
        )
    published_results = {p.result for p in rows}
    for result in _RESULTS:
        if result in results and result not in published_results:
            protocol = protocols.get(result)
            used.add(protocol or "")
            lines.append(
                _row(
                    [
                        _RESULTS[result][0],
                        "—",
                        "no published value in these tables",
                        "—",
                        _ours(results, result),
                        f"`{protocol}`" if protocol else "—",
                        "—",
                    ]
                )
            )
    lines.append("")
    if not rows:
        lines.append(
            f"- No published AttnGAN numbers for the `{dataset}` dataset: the paper reports CUB (`data=cub`) and "
            "COCO (`data=coco`)."
        )
    if num_images is not None:
        lines.append(
            f"- Ours: {int(num_images):,} generated images (the published numbers: 30,000); FID with fewer "
            "images is biased upwards, and the spread of IS / R-precision grows."
        )
    if any(p.model.startswith("AttnGAN1") for p in rows):
        lines.append(
            "- The λ-study rows are AttnGAN1 (two stages) trained with other DAMSM weights λ: they compare with a λ "
            "sweep (attngan-sweep-report), not with one AttnGAN2 checkpoint; the 'Same protocol?' column is about "
            "how a number was measured, not which model."
        )
    if "fid" in results:
        lines.append(
            "- FID also depends on the number of generated images (30,000 in the published rows) and the reference "
            "statistics (the real test images); both are in metrics.json."
        )
    lines.append(
        "- R-precision is scored by a DAMSM: it is comparable only between models scored with the same DAMSM (for "
        "the published rows, the released encoders). CLIP-R-precision and the CLIP score are independent of it: a "
        "generator that only fools its own DAMSM has a high R-precision but not a high CLIP-R-precision."
    )
    lines += ["", "Protocols:", ""]
    for key in sorted(k for k in used if k):
        lines.append(f"- `{key}`: {PROTOCOLS.get(key, 'not described')}")
    return "\n".join(lines) + "\n"


def check_compare(compare: str | None) -> None:
    """Refuse an unknown ``attngan-eval compare=`` value (``None``: no comparison).

    Raises:
        ConfigError: ``compare`` is not one of :data:`COMPARE_CHOICES`.
    """
    if compare is not None and compare not in COMPARE_CHOICES:
        raise ConfigError(
            f"compare={compare!r} is not known; choose from {list(COMPARE_CHOICES)} or leave it null"
        )


def write_comparison(out: Path, report: Mapping[str, Any], compare: str) -> tuple[Path, str]:
    """Write ``<out>/compare_<compare>.md`` (:func:`comparison_table`).

    Args:
        out: the output directory.
        report: the JSON-ready report of the run.
        compare: ``attngan-eval compare=`` (:data:`COMPARE_CHOICES`).

    Returns:
        ``(the path written, the Markdown)``.

    Raises:
        ConfigError: an unknown ``compare`` value.
    """
    check_compare(compare)
    text = comparison_table(report)
    path = Path(out) / f"compare_{compare}.md"
    path.write_text(text, encoding="utf-8")
    return path, text
