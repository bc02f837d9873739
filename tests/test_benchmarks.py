"""The benchmarks' pieces (cases, FLOP counting, the peak, the report) and one tiny run of each path.

No timing is asserted. The whole ``--quick`` run is not run here (minutes on 2 cores): its plan is checked,
and each runner (training step, generation, data loading, the command line) runs once at tiny sizes.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is a package at the repository root, not installed

from benchmarks import cases, machine, meters, plan, report  # noqa: E402
from benchmarks.cases import BF16, CACHED_TEXT, CHANNELS_LAST, COMPILE, Case, Variant  # noqa: E402

# tiny shapes networks and data: a training step in about a second
SMALL_DATA = ["data.num_images=24", "data.batch_size=4", "data.num_workers=0"]
SMALL_DAMSM = [
    "experiment=shapes_damsm",
    *SMALL_DATA,
    "model.text_encoder.embedding_dim=16",
    "model.text_encoder.hidden_dim=16",
    "model.image_encoder.embedding_dim=32",
    "model.image_encoder.base_channels=8",
]
SMALL_ATTNGAN = [
    "experiment=shapes_attngan",
    *SMALL_DATA,
    "model.generator.ngf=4",
    "model.generator.embedding_dim=32",
    "model.discriminator.ndf=4",
    "model.num_sample_captions=2",
]


# ------------------------------------------------------------------------------------------------ cases
def test_variants_are_the_real_config_keys() -> None:
    assert cases.TRAIN_VARIANTS["fp32_eager"].overrides == []
    assert cases.TRAIN_VARIANTS["combined"].overrides == [BF16, CHANNELS_LAST, COMPILE, CACHED_TEXT]
    assert cases.TRAIN_VARIANTS["combined_eager"].overrides == [BF16, CHANNELS_LAST, CACHED_TEXT]
    assert cases.GENERATE_VARIANTS["combined"].overrides == [BF16, CHANNELS_LAST, COMPILE]  # nothing to cache
    assert "cached_text" not in cases.GENERATE_VARIANTS
    assert set(cases.DAMSM_VARIANTS) == {"fp32_eager", "bf16"}
    assert cases.TRAIN_VARIANTS["bf16"].precision == "bf16"
    assert cases.TRAIN_VARIANTS["channels_last"].precision == "fp32"


def test_a_case_round_trips_through_json_and_rejects_what_cannot_run() -> None:
    case = Case("shapes_attngan", "train_step", cases.TRAIN_VARIANTS["combined"], ["experiment=x"], warmup=2)
    again = Case.from_json(case.to_json())
    assert again == case and isinstance(again.variant, Variant)
    assert again.variant_overrides == case.variant.overrides
    assert case.id == "shapes_attngan-combined"
    assert case.record() == {
        "config": "shapes_attngan",
        "bench": "train_step",
        "variant": "combined",
        "repeat": 0,
    }
    with pytest.raises(ValueError, match="bench must be one of"):
        Case("x", "training", cases.TRAIN_VARIANTS["bf16"], [])
    with pytest.raises(ValueError, match="steps >= 1"):
        Case("x", "data", Variant("workers_0", workers=0), [], steps=0)


def test_the_quick_plan_measures_the_small_configs_and_reports_what_it_leaves_out(tmp_path: Path) -> None:
    benches = cases.benchmarks(quick=True, device="cpu", cub_root=tmp_path / "birds")
    quick = plan.plan(benches, device="cpu", workdir=tmp_path)
    measured = {(c.config, c.variant.name) for c in quick.cases}
    for key in [
        ("shapes_attngan", "fp32_eager"),
        ("shapes_attngan", "bf16"),
        ("shapes_attngan", "channels_last"),
        ("shapes_attngan", "cached_text"),
        ("shapes_attngan", "combined_eager"),
        ("shapes_damsm", "fp32_eager"),
        ("shapes_damsm", "bf16"),
        ("shapes_generate", "fp32_eager"),
        ("shapes_data", "workers_0"),
        ("cub_data", "workers_0"),
    ]:
        assert key in measured, key
    skipped = {(r["config"], r["variant"]): r for r in quick.skipped}
    assert not measured & set(skipped)
    # what --quick leaves out is reported, with the reason
    assert ("shapes_attngan", "compile") in skipped
    assert "--quick" in skipped[("cub_attngan2", "fp32_eager")]["reason"]
    assert all(r["status"] == "skipped" for r in quick.skipped)
    assert set(quick.order) == measured | set(skipped)
    # FLOPs are counted on every eager step, not on data loading
    assert all(c.count_flops == (c.bench != "data") for c in quick.cases)


def test_a_variant_skipped_by_default_runs_when_named(tmp_path: Path) -> None:
    benches = cases.benchmarks(quick=False, device="cpu", cub_root=tmp_path)
    cub = [b for b in benches if b.name == "cub_attngan2"]
    default = plan.plan(cub, device="cpu", workdir=tmp_path)
    assert ("cub_attngan2", "compile") in {(r["config"], r["variant"]) for r in default.skipped}
    named = plan.plan(
        cub, device="cpu", workdir=tmp_path, variants={"compile"}, steps=3, damsm={"cub_attngan2": "d"}
    )
    [case] = named.cases
    assert (case.variant.name, case.steps, case.damsm, case.count_flops) == ("compile", 3, "d", False)


def test_rounds_interleave_the_variants() -> None:
    made = [Case("c", "data", Variant(f"workers_{w}", workers=w), [], repeats=3) for w in range(3)]
    made.append(Case("c", "data", Variant("workers_9", workers=9), [], repeats=1))
    names = [[(c.variant.name, c.repeat) for c in r] for r in plan.rounds(made)]
    assert names == [
        [("workers_0", 0), ("workers_1", 0), ("workers_2", 0), ("workers_9", 0)],
        [("workers_2", 1), ("workers_1", 1), ("workers_0", 1)],  # odd rounds run in reverse
        [("workers_0", 2), ("workers_1", 2), ("workers_2", 2)],
    ]


# ------------------------------------------------------------------------------------- meters, machine
def test_flop_count_of_a_linear_and_a_conv_is_the_hand_count() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(8, 4)
    x = torch.randn(3, 8, requires_grad=True)
    _, flops = meters.count_flops(lambda: linear(x).sum().backward())
    # forward 2*B*in*out; backward the same twice (grad of the input, grad of the weight)
    assert flops == 3 * (2 * 3 * 8 * 4)
    conv = torch.nn.Conv2d(2, 3, kernel_size=3)
    image = torch.randn(1, 2, 5, 5)
    out, flops = meters.count_flops(lambda: conv(image))
    assert out.shape == (1, 3, 3, 3)
    assert flops == 2 * (3 * 3 * 3) * (2 * 3 * 3)  # 2 * output elements * (in channels * kernel area)


def test_peak_matmul_and_best_time_on_a_tiny_matrix() -> None:
    calls = []
    seconds = meters.best_time(lambda: calls.append(1), repeats=3, warmup=2)
    assert len(calls) == 5 and seconds >= 0
    assert machine.matmul_peak_tflops("cpu", torch.float32, 64, repeats=2) > 0
    peaks = machine.measure_peaks("cpu", size=64)
    assert set(peaks) == {"fp32"} and peaks["fp32"] > 0  # a CPU is judged against its fp32 peak
    assert machine.datasheet_tflops("NVIDIA H100 PCIe")["bf16"] == 756.0  # the longer name wins
    assert machine.datasheet_tflops("Example CPU") is None
    with pytest.raises(ValueError, match="--peak-size"):
        machine.matmul_peak_tflops("cpu", torch.float32, 0)
    with pytest.raises(ValueError, match="repeats >= 1"):
        meters.best_time(lambda: None, repeats=0)


def test_cpu_model_and_steal_time_come_from_proc(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU 9000\nflags\t: avx2\n")
    assert machine.cpu_model(cpuinfo) == "Example CPU 9000"
    assert machine.cpu_model(tmp_path / "missing")  # falls back to what platform knows
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 0 40 7 0\ncpu0 1 2 3\n")
    before = machine.CpuTimes.read(stat)
    assert before == machine.CpuTimes(total=1000, steal=40)  # guest (7) is already inside user
    stat.write_text("cpu  200 0 100 1550 10 0 0 140 7 0\n")
    after = machine.CpuTimes.read(stat)
    assert machine.steal_fraction(before, after) == 0.1  # 100 of 1000 jiffies stolen
    assert machine.CpuTimes.read(tmp_path / "missing") is None
    assert machine.steal_fraction(None, after) is None


# ----------------------------------------------------------------------------------------------- report
CPU_ENV = {"device": "cpu", "device_name": "Example CPU", "threads": 1, "peak_tflops": {"fp32": 0.1}}


def _measurement(config: str, variant: str, repeat: int, steps_per_s: float, **extra: Any) -> dict[str, Any]:
    overrides = cases.TRAIN_VARIANTS[variant].overrides if variant in cases.TRAIN_VARIANTS else []
    return {
        "type": "measurement",
        "config": config,
        "bench": "train_step",
        "variant": variant,
        "repeat": repeat,
        "status": "ok",
        "steps_per_s": steps_per_s,
        "images_per_s": 8 * steps_per_s,
        "overrides": overrides,
        **extra,
    }


def test_ratios_are_paired_round_by_round_against_the_baseline() -> None:
    records = [
        _measurement("c", "fp32_eager", 0, 2.0, flops_per_step=10**10),
        _measurement("c", "bf16", 0, 3.0),
        _measurement("c", "fp32_eager", 1, 1.0),
        _measurement("c", "bf16", 1, 1.2),
        _measurement("c", "compile", 0, 4.0),  # measured in one round only
        {"config": "c", "bench": "train_step", "variant": "combined", "status": "skipped", "reason": "why"},
    ]
    assert report.paired_ratios(records, "c", "bf16", "fp32_eager") == [1.5, 1.2]
    results = {r["variant"]: r for r in report.aggregate(records, CPU_ENV)}
    assert results["fp32_eager"]["ratio_vs_fp32_eager"] == 1.0
    assert results["bf16"]["ratio_vs_fp32_eager"] == 1.35  # median of 1.5 and 1.2 (not 2.1 / 1.5)
    assert results["bf16"]["baseline"] == "fp32_eager" and results["bf16"]["ratio_rounds"] == [1.5, 1.2]
    assert results["compile"]["ratio_vs_fp32_eager"] == 2.0  # 4.0 / 2.0, the round both ran
    assert results["combined"]["status"] == "skipped" and results["combined"]["reason"] == "why"
    # utilisation: FLOPs per step x steps/s against the measured fp32 peak (also for bf16 on a CPU)
    base = results["fp32_eager"]
    assert base["steps_per_s"] == 1.5 and base["achieved_tflops"] == 0.015
    assert base["utilisation"] == 0.15 and base["peak_basis"] == "measured fp32 matmul"
    assert results["bf16"]["flops_counted_on"] == "fp32_eager"  # borrowed: bf16 counted none here
    assert results["bf16"]["peak_tflops"] == 0.1 and "mfu" not in base


def test_on_a_gpu_bf16_is_judged_against_the_bf16_peak() -> None:
    env = {
        **CPU_ENV,
        "device": "cuda",
        "device_name": "Example GPU",
        "peak_tflops": {"fp32": 50.0, "bf16": 500.0},
    }
    records = [
        _measurement("c", "fp32_eager", 0, 100.0, flops_per_step=10**11),
        _measurement("c", "bf16", 0, 200.0, flops_per_step=10**11),
    ]
    results = {r["variant"]: r for r in report.aggregate(records, env)}
    assert results["fp32_eager"]["mfu"] == 0.2  # 10 TFLOP/s of 50
    assert results["bf16"]["mfu"] == 0.04 and results["bf16"]["peak_basis"] == "measured bf16 matmul"
    assert report.aggregate(records, env, peak_override=40.0)[0]["utilisation"] == 0.25
    assert report.peak_for({"device": "cuda"}, "bf16") == (None, "no measured peak in the environment record")


def test_data_loading_is_compared_with_0_workers() -> None:
    records = [
        {**_measurement("d", "workers_0", 0, 2.0), "bench": "data"},
        {**_measurement("d", "workers_2", 0, 5.0), "bench": "data"},
    ]
    results = report.aggregate(records, CPU_ENV)
    assert [r.get("ratio_vs_0_workers") for r in results] == [1.0, 2.5]
    assert all("ratio_vs_fp32_eager" not in r and "utilisation" not in r for r in results)


def test_parity_compares_loss_trajectories_with_fp32() -> None:
    reference = [{"train/g_loss": 2.0}, {"train/g_loss": 1.0}]
    records = [
        {"config": "c", "variant": "fp32_eager", "losses": reference},
        {"config": "c", "variant": "bf16", "losses": [{"train/g_loss": 2.01}, {"train/g_loss": 1.0}]},
        {"config": "c", "variant": "combined", "losses": [{"train/g_loss": 3.0}, {"train/g_loss": 2.0}]},
    ]
    out = {r["variant"]: r for r in report.parity(records, rtol=0.05, atol=0.05)}
    assert out["bf16"]["within_tolerance"] and not out["combined"]["within_tolerance"]
    assert out["bf16"]["type"] == "parity" and out["bf16"]["steps"] == 2
    assert out["bf16"]["terms"]["train/g_loss"]["first_step_abs_diff"] == 0.01


def test_emitter_writes_the_same_json_lines_it_prints_and_the_table_reads_them(tmp_path: Path) -> None:
    stream = io.StringIO()
    emit = report.Emitter(tmp_path / "out" / "results.jsonl", stream)
    results = report.aggregate(
        [_measurement("shapes_attngan", "fp32_eager", 0, 2.0, flops_per_step=10**9)], CPU_ENV
    )
    for record in [{"type": "environment"}, *results]:
        emit(record)
    written = report.read_records(emit.path)
    assert [json.loads(line) for line in stream.getvalue().splitlines()] == written
    table = report.markdown_table(written)
    assert "| shapes_attngan | fp32_eager | 2.000 | 16.0 |" in table and "| 1.00x | 1.00 |" in table
    assert "utilisation" in table.splitlines()[0]


# ----------------------------------------------------------------------------------- tiny end to end
@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench")


@pytest.fixture
def restore_threads() -> Any:
    """The runs set one intra-op thread (two threads on a busy 2-core machine are 20x slower); put it back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("restore_threads")
def test_a_tiny_training_step_and_generation_measure_and_report(workdir: Path) -> None:
    from benchmarks.measure import run_case
    from benchmarks.workspace import damsm_checkpoint

    damsm = str(damsm_checkpoint(workdir, SMALL_DAMSM))
    common = {
        "overrides": SMALL_ATTNGAN,
        "workdir": str(workdir),
        "damsm": damsm,
        "count_flops": True,
        "threads": 1,
    }
    train = Case("tiny", "train_step", cases.TRAIN_VARIANTS["cached_text"], record_losses=True, **common)
    generate = Case(
        "tiny_generate", "generate", cases.GENERATE_VARIANTS["fp32_eager"], batch_size=4, **common
    )
    records = [
        {"type": "measurement", **run_case(c), "overrides": c.variant_overrides} for c in (train, generate)
    ]
    failed = {r["config"]: r.get("reason") for r in records if r["status"] != "ok"}
    assert not failed, failed
    assert records[0]["text_cache"]["hits"] > 0  # the second step reads the cached captions
    assert records[0]["losses"] and all(k.startswith("train/") for k in records[0]["losses"][0])
    assert records[0]["steal_fraction"] is None or 0 <= records[0]["steal_fraction"] <= 1
    results = {r["config"]: r for r in report.aggregate(records, CPU_ENV)}
    # the headline fields of a training-step result
    for name in ("tiny", "tiny_generate"):
        for field in ("steps_per_s", "images_per_s", "peak_memory_mb", "flops_per_step", "achieved_tflops"):
            assert results[name][field] > 0, (name, field)
        assert (
            results[name]["utilisation"] > 0 and results[name]["flops_counted_on"] == results[name]["variant"]
        )
    assert results["tiny"]["batch_size"] == 4 and results["tiny"]["image_size"] == 64


@pytest.mark.usefixtures("restore_threads")
def test_a_quick_command_line_run_prints_and_writes_json_lines(
    workdir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks import run

    output = tmp_path / "results.jsonl"
    argv = ["--quick", "--only", "shapes_data", "--no-isolate", "--peak-size", "128"]
    assert run.main([*argv, "--output", str(output), "--workdir", str(workdir)]) == 0
    done = capsys.readouterr()
    printed = [json.loads(line) for line in done.out.splitlines() if line.startswith("{")]
    written = report.read_records(output)
    assert printed == written  # one JSON object per line, on stdout and in the results file

    env = written[0]
    assert env["type"] == "environment" and env["quick"] is True and env["threads"] == 1
    assert env["cpu_model"] and env["peak_tflops"]["fp32"] > 0 and env["peak_matmul_size"] == 128
    assert written[-1]["type"] == "environment_end" and "steal_fraction" in written[-1]
    results = {(r["config"], r["variant"]): r for r in written if r["type"] == "result"}
    assert set(results) == {("shapes_data", "workers_0")}
    data = results[("shapes_data", "workers_0")]
    assert data["status"] == "ok" and data["images_per_s"] > 0 and data["ratio_vs_0_workers"] == 1.0
    assert set(data["per_image_ms"]) == {"decode", "bbox_crop", "resize_crop_flip_to_tensor", "whole_sample"}
    assert "| shapes_data | workers_0 |" in done.err  # the Markdown table
    assert run.main(["--table", str(output)]) == 0
    assert "| shapes_data | workers_0 |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown config"):
        run.main(["--only", "nonsense", "--output", str(tmp_path / "x.jsonl"), "--peak-size", "8"])


def test_the_synthetic_cub_tree_is_made_once(tmp_path: Path) -> None:
    from benchmarks.workspace import build_cub_tree

    root = build_cub_tree(tmp_path / "birds", num_train=2, num_test=1)
    images = sorted((root / "CUB_200_2011" / "images").rglob("*.jpg"))
    assert len(images) == 3 and (root / "train" / "filenames.pickle").is_file()
    assert len((root / "CUB_200_2011" / "bounding_boxes.txt").read_text().splitlines()) == 3
    stamp = images[0].stat().st_mtime_ns
    build_cub_tree(tmp_path / "birds", num_train=2, num_test=1)
    assert images[0].stat().st_mtime_ns == stamp


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cached_training_step_never_waits_for_the_gpu(tmp_path: Path, tiny_damsm_checkpoint: Path) -> None:
    """With cached text embeddings, a step between logging steps makes no host synchronisation.

    ``torch.cuda.set_sync_debug_mode("error")`` raises on anything that waits for the device (``.item()``,
    device-to-host copies, blocking host-to-device copies) during every step whose captions are all cached
    and that does not log. (A step that encodes captions live waits once: ``pack_padded_sequence`` copies
    its sort order to the device with a blocking copy.)
    """
    import lightning as L
    from hydra.utils import instantiate
    from lightning.pytorch import Callback

    from attngan.cli.train import build_module, build_trainer
    from attngan.lit.attngan_module import TEXT_CACHE_MISSING
    from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, compose_train

    class NoSync(Callback):
        def __init__(self) -> None:
            self.checked = 0

        def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
            logs = batch_idx + 1 >= trainer.num_training_batches  # the last batch of an epoch logs
            if not logs and batch[TEXT_CACHE_MISSING].numel() == 0:  # every caption of it is cached
                torch.cuda.synchronize()
                torch.cuda.set_sync_debug_mode("error")

        def on_train_batch_end(self, trainer: Any, *args: Any) -> None:
            if torch.cuda.get_sync_debug_mode():
                torch.cuda.set_sync_debug_mode("default")
                self.checked += 1

    cfg = compose_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.sample_every_n_epochs=0",
        "model.log_every_n_steps=1000",
        "data.num_images=40",
        "data.captions_per_image=1",
        "data.cache_text_embeddings=true",
        "trainer.accelerator=gpu",
        "data.batch_size=8",
        "trainer.limit_train_batches=4",
        "trainer.max_epochs=3",
        "callbacks=none",
    )
    L.seed_everything(0, verbose=False)
    datamodule = instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule.vocab.to_list())
    guard = NoSync()
    try:
        build_trainer(cfg, extra_callbacks=[guard]).fit(module, datamodule=datamodule)
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert guard.checked >= 1


# ------------------------------------------------------------------------------ profile and A/B of a step
TINY_NETS = ["model.generator.ngf=4", "model.generator.embedding_dim=32", "model.discriminator.ndf=4"]
TINY_DAMSM_NETS = SMALL_DAMSM[-4:]


@pytest.mark.usefixtures("restore_threads")
def test_the_step_profile_groups_the_time_by_part_of_the_model(workdir: Path) -> None:
    from benchmarks.profile_step import markdown, profile_step

    torch.set_num_threads(1)
    record = profile_step("shapes_attngan", workdir, 4, TINY_NETS, damsm_overrides=TINY_DAMSM_NETS, top=5)
    parts = record["parts"]
    # every part of the step is there, with forward and (where it trains or passes gradients) backward time
    for name in ("G.stage0", "G.stage1", "D0", "D1", "image_encoder.backbone", "text_encoder", "Adam", "EMA"):
        assert name in parts, name
    assert parts["G.stage1"]["backward_ms"] > 0 and parts["D1"]["backward_ms"] > 0
    assert parts["text_encoder"]["backward_ms"] == 0  # frozen, run without a graph
    assert sum(p["share"] for p in parts.values()) == pytest.approx(1.0, abs=1e-3)
    assert record["batch_size"] == 4 and record["threads"] == 1 and len(record["top_ops"]) == 5
    table = markdown(record)
    assert "| G.stage1 |" in table and "| op | self ms |" in table


@pytest.mark.usefixtures("restore_threads")
def test_the_ab_runner_interleaves_variants_and_reports_ratios_against_the_first(workdir: Path) -> None:
    from benchmarks.ab_step import ab_rounds, markdown, parse_variant, summarise
    from benchmarks.stepping import prepare_step

    assert parse_variant("old=model.adam_implementation=for_loop,model.compile=false") == (
        "old",
        ["model.adam_implementation=for_loop", "model.compile=false"],
    )
    assert parse_variant("plain=") == ("plain", [])
    with pytest.raises(ValueError, match="name=override"):
        parse_variant("model.compile")
    torch.set_num_threads(1)
    variants = {"old": ["model.adam_implementation=for_loop"], "new": ["model.adam_implementation=fused"]}
    steps = {
        n: prepare_step("shapes_attngan", workdir, 4, [*TINY_NETS, *o], TINY_DAMSM_NETS)
        for n, o in variants.items()
    }
    assert all(g["fused"] for g in steps["new"].module.configure_optimizers()[0].param_groups)
    seconds, cpu_seconds = ab_rounds(steps, rounds=2, per_round=1, warmup=1)
    assert {n: len(t) for n, t in seconds.items()} == {"old": 2, "new": 2}
    assert {n: len(t) for n, t in cpu_seconds.items()} == {"old": 2, "new": 2}
    records = {r["variant"]: r for r in summarise(seconds, cpu_seconds)}
    assert records["old"]["speedup_vs_old"] == records["old"]["cpu_speedup_vs_old"] == 1.0
    assert records["new"]["cpu_speedup_vs_old"] > 0 and len(records["new"]["cpu_ratio_rounds"]) == 2
    assert "| new |" in markdown(list(records.values()), "old")


def test_recipe_curves_read_steps_minutes_and_metrics(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from benchmarks import recipe_curves

    run = tmp_path / "run"
    run.mkdir()
    records = [
        {"epoch": 1, "generator_step": 400.0, "r_precision": 0.2, "shapes_single_object_shape_acc": 0.3},
        {"epoch": 3, "generator_step": 800.0, "r_precision": 0.4, "shapes_single_object_shape_acc": 0.5},
    ]
    (run / "evaluation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
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
