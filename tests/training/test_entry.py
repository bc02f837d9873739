"""The training entry (:mod:`attngan.training`): a library that the command line calls, never the reverse;
test hooks and warning filters outside the training step. Fast: no training here (tests/lit trains)."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

import attngan.training
from attngan.lit.callbacks import PREEMPTED_EXIT_CODE
from attngan.lit.faults import FaultInjector, NonFiniteLoss
from attngan.training.entry import Preempted, known_warnings_quieted
from attngan.training.loss import AttnGANLoss
from attngan.training.options import TrainingOptions

TOOLING = ("attngan.cli", "attngan.reproduce", "attngan.demo", "attngan.onnx", "benchmarks")


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize(
    "path", sorted(Path(attngan.training.__file__).parent.glob("*.py")), ids=lambda p: p.name
)
def test_the_training_library_imports_no_tooling(path: Path) -> None:
    upward = sorted(name for name in _imported_modules(path) if name.startswith(TOOLING))
    assert not upward, f"{path.name} imports {upward}"


def test_fit_is_the_library_entry_and_the_console_wrapper_calls_it() -> None:
    from attngan.cli import train as cli_train

    assert attngan.training.fit is cli_train.fit  # attngan-train trains through the library's fit
    assert "attngan.training.entry" in _imported_modules(Path(cli_train.__file__))


def _run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_importing_the_training_package_or_the_module_leaves_lightning_and_warning_filters_alone() -> None:
    out = _run_python(
        "import sys, warnings\n"
        "import attngan.training\n"
        "print(sorted(m for m in sys.modules if m.startswith(('lightning', 'attngan.cli'))))\n"
        "before = list(warnings.filters)\n"
        "import attngan.lit.attngan_module\n"
        # torch and Lightning install filters of their own on import: only ours (attngan's messages) count
        "ours = ('eval mode', 'LeafSpec', 'logging interval', 'val_dataloader', 'on_before_batch_transfer')\n"
        "new = [f for f in warnings.filters if f not in before]\n"
        "print([f for f in new if f[1] is not None and any(o in f[1].pattern for o in ours)])\n"
    )
    assert out.splitlines() == ["[]", "[]"]


def test_known_warnings_are_quieted_only_inside_the_block() -> None:
    before = list(warnings.filters)
    with known_warnings_quieted(), warnings.catch_warnings(record=True) as caught:
        warnings.warn("Found 3 module(s) in eval mode at the start of training", UserWarning, stacklevel=1)
        warnings.warn("an unrelated warning", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["an unrelated warning"]
    assert warnings.filters == before


def test_preempted_exits_with_the_requeue_code() -> None:
    stop = Preempted(Path("run/checkpoints/last.ckpt"), "pre-empted (SIGTERM/SIGUSR1)")
    assert isinstance(stop, SystemExit) and stop.code == PREEMPTED_EXIT_CODE
    assert stop.checkpoint == Path("run/checkpoints/last.ckpt")


# ------------------------------------------------------------------------------------------ fault injection
class _Module(nn.Module):
    """What the injector needs of an AttnGANModule: a ``losses`` object."""

    def __init__(self) -> None:
        super().__init__()
        self.losses = AttnGANLoss(nn.ModuleList(), nn.Identity(), TrainingOptions(), {})


def test_the_fault_injector_wraps_the_loss_phases_for_the_run_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(AttnGANLoss, "discriminator", lambda self, step, stage, *args: torch.tensor(1.0))
    terms = {"g_adversarial": torch.tensor(1.0), "g_damsm": torch.tensor(2.0), "g_kl": torch.tensor(3.0)}
    monkeypatch.setattr(AttnGANLoss, "generator", lambda self, step, *args: dict(terms))
    module = _Module()
    injector = NonFiniteLoss("d1", at_step=3)
    injector.setup(None, module, "fit")  # type: ignore[arg-type]
    assert torch.isfinite(module.losses.discriminator(3, 0))  # another discriminator
    assert torch.isfinite(module.losses.discriminator(2, 1))  # another step
    assert torch.isnan(module.losses.discriminator(3, 1))
    assert injector.injected == [3]
    kl = NonFiniteLoss("g_kl", at_step=0, value=float("inf"))
    kl.setup(None, module, "fit")  # type: ignore[arg-type]
    g_terms = module.losses.generator(0)
    assert torch.isinf(g_terms["g_kl"]) and torch.isfinite(g_terms["g_damsm"])
    kl.teardown(None, module, "fit")  # type: ignore[arg-type]
    assert "discriminator" not in vars(module.losses) and "generator" not in vars(module.losses)
    assert torch.isfinite(module.losses.generator(0)["g_kl"])


def test_the_injector_wraps_the_damsm_losses_of_training_batches_for_the_run_only() -> None:
    class DAMSMLike(nn.Module):
        global_step = 2

        def _losses(self, batch):
            return {"word_t2i": torch.tensor(1.0), "loss": torch.tensor(2.0)}, None

    module = DAMSMLike()
    assert (
        FaultInjector().loss_terms(0, terms := {"loss": torch.tensor(1.0)}) is terms
    )  # the base changes nothing
    injector = NonFiniteLoss("word_t2i", at_step=2)
    injector.setup(None, module, "fit")  # type: ignore[arg-type]
    module.eval()  # validation: untouched
    assert all(torch.isfinite(v) for v in module._losses({})[0].values())
    module.train()
    poisoned, _ = module._losses({})
    assert torch.isnan(poisoned["word_t2i"]) and torch.isnan(poisoned["loss"]) and injector.injected == [2]
    injector.teardown(None, module, "fit")  # type: ignore[arg-type]
    assert "_losses" not in vars(module) and torch.isfinite(module._losses({})[0]["loss"])


def test_the_training_steps_have_no_test_hook() -> None:
    import inspect

    from attngan.lit.attngan_module import AttnGANModule
    from attngan.lit.damsm_module import DAMSMModule

    for module in (AttnGANModule, DAMSMModule):
        step = inspect.getsource(module.training_step)
        assert "fault" not in step and "inject" not in step
