"""Every benchmark script runs end to end at tiny sizes and prints JSON lines with its comparison keys.

No timing is asserted: the ratios are checked for being there, the interleaving and the parity for being right.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is a folder of scripts at the repository root, not installed

from benchmarks import common  # noqa: E402

TINY_DATA = ["data.num_images=24", "data.batch_size=4", "data.num_workers=0"]
TINY_DAMSM = [
    "experiment=shapes_damsm",
    *TINY_DATA,
    "model.text_encoder.embedding_dim=16",
    "model.text_encoder.hidden_dim=16",
    "model.image_encoder.embedding_dim=32",
    "model.image_encoder.base_channels=8",
]
TINY_ATTNGAN = [
    "experiment=shapes_attngan",
    *TINY_DATA,
    "model.generator.ngf=4",
    "model.generator.embedding_dim=32",
    "model.discriminator.ndf=4",
    "model.num_sample_captions=2",
]
TINY_NETS = ["model.generator.ngf=4", "model.discriminator.ndf=4"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(autouse=True)
def restore_threads() -> Any:
    """The scripts set one intra-op thread (two on a busy 2-core machine are 20x slower); put it back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """The JSON lines the script printed (every line of stdout that is one)."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_rounds_interleave_and_ratios_pair_the_rounds() -> None:
    assert list(common.interleaved(["a", "b", "c"], 3)) == [
        (0, "a"), (0, "b"), (0, "c"), (1, "c"), (1, "b"), (1, "a"), (2, "a"), (2, "b"), (2, "c"),
    ]  # fmt: skip
    out = common.ratios({"base": [2.0, 1.0, 4.0], "fast": [1.0, 1.0, 1.0]}, "base")
    assert out["fast"] == {"ratio_vs_base": 2.0, "ratio_rounds": [2.0, 1.0, 4.0]}  # median of the rounds
    assert out["base"]["ratio_vs_base"] == 1.0


def test_loss_parity_compares_the_steps_both_logged() -> None:
    losses = {
        "fp32_eager": {0: {"train/g_loss": 2.0}, 1: {"train/g_loss": 1.0}},
        "bf16": {0: {"train/g_loss": 2.01}, 1: {"train/g_loss": 1.0}},
        "far": {0: {"train/g_loss": 3.0}, 1: {"train/g_loss": 2.0}, 2: {"train/g_loss": 9.0}},
    }
    out = {r["variant"]: r for r in common.loss_parity(losses, "fp32_eager")}
    assert out["bf16"]["within_tolerance"] and out["bf16"]["steps"] == 2
    assert out["bf16"]["terms"]["train/g_loss"]["max_abs_diff"] == 0.01
    assert not out["far"]["within_tolerance"] and out["far"]["steps"] == 2


def test_run_compares_every_variant_of_each_config_side_by_side(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import run

    tiny = {
        "shapes_attngan": ("step", TINY_ATTNGAN, TINY_DAMSM),
        "shapes_damsm": ("step", TINY_DAMSM, None),
        "shapes_generate": ("generate", TINY_ATTNGAN, TINY_DAMSM),
        "shapes_data": ("data", ["experiment=shapes_attngan", *TINY_DATA], None),
    }
    monkeypatch.setattr(run, "CONFIGS", {**run.CONFIGS, **tiny})
    monkeypatch.setattr(run, "QUICK", [])
    argv = ["--quick", "--only", ",".join(tiny), "--variants", "fp32_eager,bf16,compile,workers_0,workers_2"]
    assert run.main([*argv, "--warmup", "2", "--steps", "1", "--workdir", str(workdir)]) == 0
    printed = records(capsys)
    assert printed[0]["type"] == "environment" and printed[0]["cpu_model"] and printed[0]["threads"] == 1
    end = printed[-1]
    assert (
        end["type"] == "environment_end"
        and end["cpu_model"]
        and end["wall_s"] > 0
        and "steal_fraction" in end
    )
    results = {(r["config"], r["variant"]): r for r in printed if r["type"] == "result"}
    for config in ("shapes_attngan", "shapes_damsm", "shapes_generate"):
        assert results[(config, "fp32_eager")]["ratio_vs_fp32_eager"] == 1.0
        assert (
            results[(config, "bf16")]["ratio_vs_fp32_eager"] > 0
            and "steal_fraction" in results[(config, "bf16")]
        )
        assert results[(config, "bf16")]["images_per_s"] > 0
    assert results[("shapes_attngan", "bf16")]["cpu_ratio_vs_fp32_eager"] > 0
    assert results[("shapes_data", "workers_2")]["ratio_vs_workers_0"] > 0
    skipped = {(r["config"], r["variant"]) for r in printed if r["type"] == "skipped"}
    assert skipped == {
        ("shapes_attngan", "compile"),
        ("shapes_generate", "compile"),
    }  # said, not silently left out
    parity = {(r["config"], r["variant"]): r for r in printed if r["type"] == "parity"}
    assert set(parity) == {("shapes_attngan", "bf16"), ("shapes_damsm", "bf16")}
    assert (
        parity[("shapes_attngan", "bf16")]["steps"] >= 1
        and "train/g_loss" in parity[("shapes_attngan", "bf16")]["terms"]
    )
    with pytest.raises(SystemExit, match="unknown config"):
        run.main(["--only", "nonsense"])


def test_ab_step_reports_ratios_against_the_first_variant(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import ab_step

    assert ab_step.parse_variant("old=model.adam_implementation=for_loop,model.compile=false") == (
        "old",
        ["model.adam_implementation=for_loop", "model.compile=false"],
    )
    assert ab_step.parse_variant("plain=") == ("plain", [])
    with pytest.raises(ValueError, match="name=override"):
        ab_step.parse_variant("model.compile")
    sets = [f"--set={o}" for o in TINY_NETS]
    variants = ["old=model.adam_implementation=for_loop", "new=model.adam_implementation=fused"]
    argv = ["--preset", "shapes_attngan", "--batch-size", "4", "--rounds", "2", "--workdir", str(workdir)]
    assert ab_step.main([*argv, *sets, *variants]) == 0
    printed = records(capsys)
    assert printed[0]["type"] == "environment" and printed[0]["cpu_model"]
    ab = {r["variant"]: r for r in printed if r["type"] == "ab"}
    assert ab["old"]["ratio_vs_old"] == 1.0 and len(ab["new"]["ratio_rounds"]) == 2
    assert (
        ab["new"]["cpu_ratio_vs_old"] > 0 and ab["new"]["batch_size"] == 4 and "steal_fraction" in ab["new"]
    )
    assert [r["variant"] for r in printed if r["type"] == "parity"] == ["new"]


def test_the_step_profile_groups_the_time_by_part_of_the_model(workdir: Path) -> None:
    from benchmarks.profile_step import profile_step

    torch.set_num_threads(1)
    record = profile_step("shapes_attngan", workdir, 4, TINY_NETS, top=5)
    parts = record["parts"]
    # every part of the step is there, with forward and (where it trains or passes gradients) backward time
    for name in ("G.stage0", "G.stage1", "D0", "D1", "image_encoder.backbone", "text_encoder", "Adam", "EMA"):
        assert name in parts, name
    assert parts["G.stage1"]["backward_ms"] > 0 and parts["D1"]["backward_ms"] > 0
    assert parts["text_encoder"]["backward_ms"] == 0  # frozen, run without a graph
    assert sum(p["share"] for p in parts.values()) == pytest.approx(1.0, abs=1e-3)
    assert record["batch_size"] == 4 and len(record["top_ops"]) == 5 and record["cpu_model"]


def test_the_small_scripts_print_their_ratios(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import bench_damsm_loss, bench_jpeg_draft, bench_onnx

    assert bench_damsm_loss.main(["--batch", "4", "--regions", "3", "--dim", "8", "--repeats", "2"]) == 0
    printed = records(capsys)
    scores = {(r["phase"], r["variant"]): r for r in printed if r.get("type") == "result"}
    assert scores[("forward_backward", "batched")]["ratio_vs_caption_loop"] > 0 and len(scores) == 6
    assert printed[-1]["results_agree"] is True

    assert bench_jpeg_draft.main(["--repeats", "1", "--rounds", "1"]) == 0
    jpeg = [r for r in records(capsys) if r.get("type") == "result"]
    assert {r["variant"] for r in jpeg} == {"scale_1", "scale_2", "scale_4"} and len(jpeg) == 6
    assert all(r["ratio_vs_scale_1"] > 0 for r in jpeg)

    pytest.importorskip("onnxruntime")
    assert bench_onnx.main(["--smoke", "--threads", "1"]) == 0
    onnx = [r for r in records(capsys) if r.get("type") == "result"]
    assert [r["batch"] for r in onnx] == [1, 4]
    assert all(r["ratio_vs_torch"] > 0 and r["max_abs_pixel_diff"] < 1e-4 for r in onnx)


def test_the_synthetic_cub_tree_is_made_once(tmp_path: Path) -> None:
    root = common.build_cub_tree(tmp_path / "birds", num_train=2, num_test=1)
    images = sorted((root / "CUB_200_2011" / "images").rglob("*.jpg"))
    assert len(images) == 3 and (root / "train" / "filenames.pickle").is_file()
    assert len((root / "CUB_200_2011" / "bounding_boxes.txt").read_text().splitlines()) == 3
    stamp = images[0].stat().st_mtime_ns
    common.build_cub_tree(tmp_path / "birds", num_train=2, num_test=1)
    assert images[0].stat().st_mtime_ns == stamp


def test_recipe_curves_read_steps_minutes_and_metrics(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from benchmarks import recipe_curves

    run = tmp_path / "run"
    run.mkdir()
    rows = [
        {"epoch": 1, "generator_step": 400.0, "r_precision": 0.2, "shapes_single_object_shape_acc": 0.3},
        {"epoch": 3, "generator_step": 800.0, "r_precision": 0.4, "shapes_single_object_shape_acc": 0.5},
    ]
    (run / "evaluation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (run / "attngan.log").write_text(
        "[2026-12-06 10:00:00,001][attngan][INFO] start\n"
        "[2026-12-06 10:04:30,000][attngan.lit.evaluation][INFO] epoch 1 evaluation (400 images): ...\n"
        "[2026-12-06 10:09:00,000][attngan.lit.evaluation][INFO] epoch 3 evaluation (400 images): ...\n"
    )
    read = recipe_curves.read_run(run)
    assert [(r["generator_step"], r["minutes"]) for r in read] == [(400, 4.5), (800, 9.0)]
    recipe_curves.main([f"new={run}", "--png", str(tmp_path / "curves.png")])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[1] == {
        "run": "new",
        "generator_step": 800,
        "minutes": 9.0,
        "shapes_single_object_shape_acc": 0.5,
        "r_precision": 0.4,
    }
    assert (tmp_path / "curves.png").stat().st_size > 0
