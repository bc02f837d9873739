"""``attngan-eval compare=paper``: the published numbers beside ours, each with its protocol (attngan.evaluation.paper)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from attngan.errors import ConfigError
from attngan.evaluation.paper import PROTOCOLS, PUBLISHED, comparison_table, our_protocols, write_comparison
from attngan.evaluation.report import markdown_table

# what attngan-eval wrote for the released CUB model (values made up, structure as run.py writes it)
RECORDED: dict[str, Any] = {
    "metrics": {
        "r_precision": 0.6712,
        "r_precision_std": 0.0101,
        "clip_r_precision": 0.2250,
        "clip_r_precision_std": 0.0120,
        "clip_score": 24.31,
        "clip_cosine": 0.2431,
        "inception_score": 4.71,
        "inception_score_std": 0.05,
        "fid": 24.42,
    },
    "checkpoint": "checkpoints/bird_release.ckpt",
    "data": {
        "name": "cub",
        "root": "data/birds",
        "split": "test",
        "num_test_images": 2933,
        "vocabulary_size": 5450,
    },
    "num_images": 30000,
    "caption_passes": 11,
    "captions_per_image": 10,
    "max_words": 25,
    "image_size": 256,
    "seed": 0,
    "batch_size": 100,
    "settings": {
        "names": ["r_precision", "clip_r_precision", "clip_score", "is", "fid"],
        "num_candidates": 100,
        "num_folds": 10,
        "r_precision_protocol": "dmgan",
        "clip_model": "/models/clip-vit-base-patch32",
        "clip_architecture": "openai/clip-vit-base-patch32: image 224 px, patch 32, projection 512",
        "is_splits": 10,
        "antialias": False,
        "inception_weights": "/weights/weights-inception-2015-12-05-6726825d.pth",
        "inception_resize": "tensorflow1x bilinear, antialias=False",
        "class_ids": True,
    },
    "skipped": {},
}


def _rows(table: str) -> list[list[str]]:
    return [
        [c.strip() for c in line.strip("|").split("|")]
        for line in table.splitlines()
        if line.startswith("| ")
    ]


def test_cub_table_has_every_published_number_beside_ours_with_protocols() -> None:
    table = comparison_table(RECORDED)
    rows = _rows(table)
    head, body = rows[0], rows[1:]
    assert head[:4] == ["Metric", "Published", "Model (source)", "Protocol"] and head[-1] == "Same protocol?"
    by_value = {row[1]: row for row in body}
    # the paper's birds numbers (Table 2/3) and the λ study, DM-GAN's two FID columns
    for published in (
        "4.36 ± 0.03",
        "67.82 ± 4.43 %",
        "16.55 %",
        "34.96 %",
        "58.65 %",
        "63.87 %",
        "4.19",
        "23.98",
    ):
        assert published in by_value, published
    assert "14.01" in by_value
    # IS: the paper used the CUB-fine-tuned Inception, we the ImageNet one: flagged
    inception = by_value["4.36 ± 0.03"]
    assert (
        inception[3] == "`is-cub-finetuned`"
        and inception[4] == "4.71 ± 0.05"
        and inception[5] == "`is-imagenet`"
    )
    assert inception[6].startswith("**no**")
    # FID: our TF-ported weights match DM-GAN's TF column, not its torchvision one
    assert by_value["14.01"][6] == "**yes**" and by_value["14.01"][4] == "24.42"
    assert by_value["23.98"][6].startswith("**no**") and "fid-torchvision" in by_value["23.98"][3]
    # R-precision with DM-GAN's code: close to the paper's definition, said so
    r = by_value["67.82 ± 4.43 %"]
    assert r[4] == "67.12 ± 1.01 %" and r[5] == "`r-dmgan`" and r[6].startswith("approximately")
    # CLIP rows: ours only, no published counterpart
    clip = [row for row in body if row[0].startswith("CLIP")]
    assert {row[0] for row in clip} == {"CLIP-R-precision ↑", "CLIP score ↑"}
    assert all(row[1] == "—" for row in clip)
    assert "22.50 ± 1.20 %" in {row[4] for row in clip}
    # every protocol named in the table is explained below it
    for key in (
        "is-cub-finetuned",
        "is-imagenet",
        "fid-torchvision",
        "fid-tf",
        "r-paper",
        "r-dmgan",
        "clip-r",
    ):
        assert f"- `{key}`: {PROTOCOLS[key]}" in table


def test_coco_rows_and_protocols_recorded_by_the_run() -> None:
    report = copy.deepcopy(RECORDED)
    report["data"]["name"] = "coco"
    report["settings"].update(r_precision_protocol="default", fid_protocol="torchvision")
    report["metrics"] = {"inception_score": 23.6, "inception_score_std": 0.4, "fid": 36.0, "r_precision": 0.8}
    rows = {row[1]: row for row in _rows(comparison_table(report))[1:]}
    assert set(rows) == {"25.89 ± 0.47", "85.47 ± 3.69 %", "35.49", "29.53"}
    assert rows["25.89 ± 0.47"][6] == "**yes**"  # COCO's IS used the ImageNet Inception, as ours
    assert rows["35.49"][6] == "**yes**" and rows["29.53"][6].startswith("**no**")
    assert rows["85.47 ± 3.69 %"][4] == "80.00 %" and rows["85.47 ± 3.69 %"][6].startswith("approximately")


def test_metrics_not_measured_and_unknown_protocols_are_said() -> None:
    report = copy.deepcopy(RECORDED)
    report["metrics"] = {"r_precision": 0.5}
    report["settings"]["inception_weights"] = None
    rows = {row[1]: row for row in _rows(comparison_table(report))[1:]}
    assert rows["23.98"][4] == "not measured" and rows["23.98"][6] == "—"
    assert our_protocols(report)["fid"] is None
    report["metrics"]["fid"] = 20.0
    rows = {row[1]: row for row in _rows(comparison_table(report))[1:]}
    assert rows["23.98"][6].startswith("unknown")


def test_dataset_without_published_numbers() -> None:
    report = copy.deepcopy(RECORDED)
    report["data"]["name"] = "shapes"
    table = comparison_table(report)
    assert "No published AttnGAN numbers for the `shapes` dataset" in table


def test_write_comparison(tmp_path: Path) -> None:
    path, text = write_comparison(tmp_path, RECORDED, "paper")
    assert path == tmp_path / "compare_paper.md" and path.read_text() == text
    with pytest.raises(ConfigError, match="choose from"):
        write_comparison(tmp_path, RECORDED, "dmgan")


def test_published_numbers_are_the_papers() -> None:
    values = {(p.dataset, p.result, p.protocol, p.value, p.std) for p in PUBLISHED}
    assert ("cub", "inception_score", "is-cub-finetuned", 4.36, 0.03) in values
    assert ("cub", "r_precision", "r-paper", 67.82, 4.43) in values
    assert ("coco", "inception_score", "is-imagenet", 25.89, 0.47) in values
    assert ("coco", "r_precision", "r-paper", 85.47, 3.69) in values
    assert {(p.dataset, p.protocol, p.value) for p in PUBLISHED if p.result == "fid"} == {
        ("cub", "fid-torchvision", 23.98),
        ("cub", "fid-tf", 14.01),
        ("coco", "fid-torchvision", 35.49),
        ("coco", "fid-tf", 29.53),
    }
    assert all(p.protocol in PROTOCOLS and p.source for p in PUBLISHED)


def test_metrics_md_shows_clip_beside_the_damsm_r_precision() -> None:
    table = markdown_table(RECORDED)
    head = _rows(table)[0]
    r = head.index("R-precision (%) ↑")
    assert head[r + 1] == "CLIP-R-precision (%) ↑" and head[r + 2] == "CLIP score ↑"
    assert "R-precision (protocol `dmgan`)" in table and "/models/clip-vit-base-patch32" in table


def test_protocols_recorded_per_metric_are_used() -> None:
    report = copy.deepcopy(RECORDED)
    report["protocols"] = {
        "fid": {
            "protocol": "torchvision",
            "weights": "/w/inception_v3_google-0cc3c7bd.pth",
            "num_images": 30000,
        },
        "is": {"classifier": "cub_finetuned", "weights": "/w/inception_cub.pt", "splits": 10},
    }
    protocols = our_protocols(report)
    assert protocols["fid"] == "fid-torchvision" and protocols["inception_score"] == "is-cub-finetuned"
    rows = {row[1]: row for row in _rows(comparison_table(report))[1:]}
    assert rows["23.98"][6] == "**yes**" and rows["14.01"][6].startswith("**no**")
    assert rows["4.36 ± 0.03"][6] == "**yes**"
    report["protocols"] = {"fid": {"protocol": "injected network"}, "is": {"weights": "injected network"}}
    protocols = our_protocols(report)
    assert (
        protocols["fid"] == "fid-injected-network" and protocols["inception_score"] == "is-injected-network"
    )
    assert "no published protocol" in comparison_table(report)


def test_attngan_eval_with_clip_dmgan_and_compare_paper(
    tmp_path: Path, monkeypatch, tiny_attngan_checkpoint
) -> None:
    import json
    import sys

    pytest.importorskip("transformers")
    from attngan.cli.eval import main
    from helpers.clip import build_tiny_clip

    clip_dir = build_tiny_clip(tmp_path / "clip", seed=2)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["attngan-eval"])
    main(
        [
            f"checkpoint={tiny_attngan_checkpoint}",
            f"paths.cache_dir={tiny_attngan_checkpoint.parent.parent / 'shared-cache'}",
            "data.num_images=240",  # the tiny checkpoint's data: 48 test images
            "device=cpu",
            "num_images=24",
            "metrics.num_candidates=8",
            "metrics.num_folds=2",
            "metrics.names=[r_precision,clip_r_precision,clip_score]",
            "metrics.r_precision.protocol=dmgan",
            f"metrics.clip.model_path={clip_dir}",
            "compare=paper",
        ]
    )
    report = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert {"r_precision", "clip_r_precision", "clip_score", "clip_cosine"} <= set(report["metrics"])
    assert report["settings"]["r_precision_protocol"] == "dmgan"
    assert report["settings"]["clip_model"] == str(clip_dir)
    comparison = (tmp_path / "eval" / "compare_paper.md").read_text()
    assert "No published AttnGAN numbers for the `shapes` dataset" in comparison
    assert "`r-dmgan`" in comparison and "`clip-r`" in comparison
    assert "CLIP-R-precision (%) ↑" in (tmp_path / "eval" / "metrics.md").read_text()
