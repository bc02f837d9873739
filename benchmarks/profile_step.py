"""``torch.profiler`` table of one real training step, grouped by the part of the model that spent the time.

Usage::

    python benchmarks/profile_step.py --preset cub_attngan2 --batch-size 4 --threads 1
    python benchmarks/profile_step.py --preset shapes_attngan --threads 1 --json /tmp/profile.json
    python benchmarks/profile_step.py --preset cub_attngan2 model.adam_implementation=for_loop   # any config override

After ``--warmup`` untimed steps, one step under ``trainer.fit`` is profiled (CPU activities). Every op's self
CPU time goes to the innermost labelled part it ran in: G's CA and stages, each D, the frozen image encoder
(its resize, backbone, heads), the text encoder, the DAMSM loss, Adam, EMA; backward ops go to the part whose
forward op created them (the autograd sequence number), ``backward: AccumulateGrad`` and ``other`` (loss maths
and Lightning) take the rest. Prints one JSON line (``--json`` also writes it): per part its milliseconds and
share of the step, and the top operators.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch.autograd.profiler import record_function

from benchmarks.ab_step import preset
from benchmarks.common import StepTimer, compose, cpu_model, datamodule_of, fit_steps, workspace

SCOPE = "part::"
BACKWARD = "autograd::engine::evaluate_function: "


def module_parts(module: Any) -> Iterator[tuple[str, torch.nn.Module]]:
    """``(label, submodule)`` of every part the profile reports, outer parts before inner ones."""
    generator = module.generator
    yield "text_encoder", module.text_encoder
    yield "G.ca", generator.conditioning
    yield "G.stage0", generator.initial_stage
    for i, stage in enumerate(generator.refinement_stages):
        yield f"G.stage{i + 1}", stage
    for i, head in enumerate(generator.image_heads):
        yield f"G.stage{i}", head
    for i, disc in enumerate(module.discriminators):
        yield f"D{i}", disc
        # the logit heads run outside the trunk's forward (Discriminator.*_logits)
        yield f"D{i}", disc.unconditional_head
        yield f"D{i}", disc.conditional_head
    encoder = module.image_encoder
    yield "image_encoder.resize", encoder  # what the encoder runs outside its sub-networks: the resize
    for name, child in encoder.named_children():
        yield f"image_encoder.{'heads' if name.endswith('_head') else 'backbone'}", child


def label_parts(module: Any) -> list[Any]:
    """Forward hooks opening a ``part::<label>`` profiler range around every part; returns the handles."""
    handles = []
    for label, part in module_parts(module):
        ranges: list[record_function] = []

        def enter(_m: Any, _args: Any, ranges: list[record_function] = ranges, label: str = label) -> None:
            ranges.append(record_function(SCOPE + label))
            ranges[-1].__enter__()

        def leave(_m: Any, _args: Any, _out: Any, ranges: list[record_function] = ranges) -> None:
            ranges.pop().__exit__(None, None, None)

        handles += [part.register_forward_pre_hook(enter), part.register_forward_hook(leave)]
    return handles


def patch_functions() -> Callable[[], None]:
    """Label the step's free functions (DAMSM loss and KL in the loss object's module, EMA in the step's);
    returns the undo."""
    import attngan.lit.attngan_module as step_module
    import attngan.training.loss as loss_module

    originals = [(loss_module, "damsm_loss"), (step_module, "update_ema"), (loss_module, "kl_loss")]
    undo = [(module, name, getattr(module, name)) for module, name in originals]
    for module, name, fn in undo:
        label = "EMA" if name == "update_ema" else name

        @functools.wraps(fn)
        def wrapper(*args: Any, _fn: Callable[..., Any] = fn, _label: str = label, **kwargs: Any) -> Any:
            with record_function(SCOPE + _label):
                return _fn(*args, **kwargs)

        setattr(module, name, wrapper)
    return lambda: [setattr(m, n, f) for m, n, f in undo]  # type: ignore[func-returns-value]


def _scope_of(event: Any) -> str | None:
    """The innermost ``part::`` label above an event, or the optimizer range it ran in."""
    node = event
    while node is not None:
        if node.name.startswith(SCOPE):
            return node.name[len(SCOPE) :]
        if node.name.startswith("Optimizer.") and "Adam" in node.name:
            return "Adam"
        node = node.cpu_parent
    return None


def _backward_root(event: Any) -> Any:
    node = event
    while node is not None and not node.name.startswith(BACKWARD):
        node = node.cpu_parent
    return node


def group_events(events: list[Any]) -> dict[str, dict[str, float]]:
    """Self CPU milliseconds per part, split into forward and backward (see the module docstring)."""
    forward_part: dict[tuple[int, int], str] = {}
    for event in events:  # the part that created each autograd node
        if event.sequence_nr >= 0 and _backward_root(event) is None:
            forward_part.setdefault((event.thread, event.sequence_nr), _scope_of(event) or "other")
    groups: dict[str, dict[str, float]] = defaultdict(lambda: {"forward_ms": 0.0, "backward_ms": 0.0})
    for event in events:
        ms = event.self_cpu_time_total / 1e3
        root = _backward_root(event)
        if root is None:
            groups[_scope_of(event) or "other"]["forward_ms"] += ms
        elif "AccumulateGrad" in root.name:
            groups["backward: AccumulateGrad"]["backward_ms"] += ms
        else:
            part = forward_part.get((root.fwd_thread or root.thread, root.sequence_nr), "other")
            groups[part]["backward_ms"] += ms
    return {k: {f: round(v, 2) for f, v in g.items()} for k, g in groups.items()}


class ProfileOneStep(StepTimer):
    """Times every batch and profiles batch ``at`` (CPU), from its start to its end."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at
        self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if batch_idx == self.at:
            self.profiler.__enter__()
        super().on_train_batch_start(trainer, pl_module, batch, batch_idx)

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)
        if batch_idx == self.at:
            self.profiler.__exit__(None, None, None)


def profile_step(
    name: str, workdir: Path, batch_size: int | None, overrides: list[str], warmup: int = 1, top: int = 15
) -> dict[str, Any]:
    """Profile one training step of preset ``name``; the record (parts, top ops, step wall time)."""
    import lightning as L

    from attngan.training.entry import build_module

    cfg = compose(workdir, [*preset(name, workdir, batch_size), *overrides])
    L.seed_everything(int(cfg.seed), verbose=False)
    datamodule = datamodule_of(cfg)
    module = build_module(cfg, datamodule.vocab.to_list())
    handles, undo = label_parts(module), patch_functions()
    callback = ProfileOneStep(at=warmup)
    try:
        fit_steps(cfg, module, datamodule, warmup + 1, callback, int(cfg.trainer.log_every_n_steps))
    finally:
        undo()
        for handle in handles:
            handle.remove()
    parts = group_events(list(callback.profiler.events()))
    total = sum(g["forward_ms"] + g["backward_ms"] for g in parts.values())
    for g in parts.values():
        g["share"] = round((g["forward_ms"] + g["backward_ms"]) / total, 4)
    ops = sorted(callback.profiler.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    return {
        "type": "profile",
        "preset": name,
        "batch_size": int(datamodule.batch_size),
        "overrides": overrides,
        "threads": torch.get_num_threads(),
        "cpu_model": cpu_model(),
        "torch": torch.__version__,
        "step_wall_s": round(callback.wall[warmup], 3),
        "self_cpu_total_ms": round(total, 1),
        "parts": dict(sorted(parts.items(), key=lambda kv: -(kv[1]["forward_ms"] + kv[1]["backward_ms"]))),
        "top_ops": [
            {"op": e.key, "self_ms": round(e.self_cpu_time_total / 1e3, 2), "calls": e.count}
            for e in ops[:top]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="torch.profiler table of one AttnGAN training step (CPU)")
    parser.add_argument("--preset", default="cub_attngan2", choices=["cub_attngan2", "shapes_attngan"])
    parser.add_argument("--batch-size", type=int, default=None, help="default: 4 (CUB), 32 (shapes)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch.set_num_threads (default 1: shared CPU)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before the profiled one")
    parser.add_argument("--top", type=int, default=15, help="operators in the top-ops list")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="data and checkpoints (default: temporary)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the record here")
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the training config")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with workspace(args.workdir) as workdir:
        record = profile_step(args.preset, workdir, args.batch_size, args.overrides, args.warmup, args.top)
    print(json.dumps(record))
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
