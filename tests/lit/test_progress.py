"""Progress output: the bar on a terminal, one readable line per epoch (or every N steps) elsewhere."""

from __future__ import annotations

import io
import re

import pytest
import torch
from lightning.pytorch import LightningModule, Trainer

from attngan.errors import ConfigError
from attngan.lit.progress import ProgressLines, line_metrics
from attngan.progress import ENV_VAR
from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, run_train


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Tiny(LightningModule):
    """A linear model that logs a loss per step and per epoch, and one per step only."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch: torch.Tensor, batch_idx: int) -> torch.Tensor:
        loss = self.layer(batch).pow(2).mean()
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True)
        self.log("g_kl", loss * 0 + 0.5)
        return loss

    def train_dataloader(self) -> torch.utils.data.DataLoader:
        return torch.utils.data.DataLoader(torch.randn(16, 2), batch_size=4)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _fit(callback: ProgressLines, epochs: int = 3) -> None:
    trainer = Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        callbacks=[callback],
    )
    trainer.fit(_Tiny())


def test_one_line_per_epoch_when_stdout_is_not_a_terminal(capsys):
    stream = io.StringIO()
    _fit(ProgressLines(stream=stream))
    lines = stream.getvalue().splitlines()
    bar = capsys.readouterr().out
    assert "\r" not in stream.getvalue() and "\r" not in bar and "4/4" not in bar  # no bar either
    assert len(lines) == 3
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {epoch}/3 | batch 4/4 | ")
        assert re.search(r"loss \d", line) and "g_kl 0.5" in line  # per-epoch value, "train/" dropped
        assert re.search(r"\| [\d.]+(e[+-]\d+)? steps/s \| ETA (\d+:)?\d\d:\d\d$", line), line
    assert lines[-1].endswith("ETA 00:00")


def test_every_n_steps_adds_lines_between_epochs():
    stream = io.StringIO()
    _fit(ProgressLines(every_n_steps=2, stream=stream), epochs=2)
    lines = stream.getvalue().splitlines()
    assert [line.split(" | ")[:2] for line in lines] == [
        ["epoch 1/2", "batch 2/4"],
        ["epoch 1/2", "batch 4/4"],
        ["epoch 1/2", "batch 4/4"],  # the epoch's own line
        ["epoch 2/2", "batch 2/4"],
        ["epoch 2/2", "batch 4/4"],
        ["epoch 2/2", "batch 4/4"],
    ]


def test_a_terminal_keeps_the_bar(capsys):
    stream = _TTY()
    _fit(ProgressLines(stream=stream), epochs=1)
    assert stream.getvalue() == ""
    assert "4/4" in capsys.readouterr().out  # the bar (tqdm, or rich where installed) drew itself


def test_mode_lines_and_bar_override_the_terminal_test(capsys):
    lines = _TTY()
    _fit(ProgressLines(mode="lines", stream=lines), epochs=1)
    assert len(lines.getvalue().splitlines()) == 1 and "4/4" not in capsys.readouterr().out
    bar = io.StringIO()
    _fit(ProgressLines(mode="bar", stream=bar), epochs=1)
    assert bar.getvalue() == "" and "4/4" in capsys.readouterr().out


def test_attngan_progress_0_silences_the_lines_and_the_bar(capsys, monkeypatch):
    monkeypatch.setenv(ENV_VAR, "0")  # the one switch of every progress display
    for mode in ("lines", "bar"):
        stream = io.StringIO()
        _fit(ProgressLines(mode=mode, stream=stream), epochs=1)
        assert stream.getvalue() == "" and "4/4" not in capsys.readouterr().out, mode


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match=r"callbacks\.progress\.mode must be one of auto, lines, bar"):
        ProgressLines(mode="quiet")
    with pytest.raises(ConfigError, match="every_n_steps must be >= 0"):
        ProgressLines(every_n_steps=-1)


def test_line_metrics():
    metrics = {
        "train/loss_step": torch.tensor(2.0),
        "train/loss_epoch": torch.tensor(1.0),
        "g_loss": torch.tensor(3.0),
        "train/g_loss": torch.tensor(3.0),
        "epoch": 4,
        "step": 7,
        "train/generator_step": torch.tensor(7.0),
        "maps": torch.ones(3),
    }
    assert line_metrics(metrics, "epoch") == {"loss": 1.0, "g_loss": 3.0}
    assert line_metrics(metrics, "step") == {"loss": 2.0, "g_loss": 3.0}


def test_training_log_has_one_line_per_epoch_with_the_loss_terms(tmp_path, capsys, tiny_damsm_checkpoint):
    # the shipped callbacks config, stdout captured by pytest (not a terminal), as in `make train > log`
    run_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={tiny_damsm_checkpoint}",
        "model.generator.base_size=16",
        "model.sample_every_n_epochs=0",
        "~callbacks.evaluation",
        "trainer.max_epochs=2",
        "trainer.enable_progress_bar=true",
    )
    out = capsys.readouterr().out
    assert "\r" not in out
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split(" | ")[:2] for line in lines] == [
        ["epoch 1/2", "batch 2/2"],
        ["epoch 2/2", "batch 2/2"],
    ]
    for line in lines:
        for name in ("d_loss_0", "d_loss_1", "g_adversarial", "g_damsm", "g_kl", "g_loss"):
            assert re.search(rf"\b{name} -?\d", line), (name, line)
        assert "steps/s" in line and "ETA" in line


def test_evaluation_values_appear_once_after_each_evaluation():
    from lightning.pytorch import Callback

    class _Evaluation(Callback):  # every 2 epochs, before the lines, as attngan's evaluation callback
        def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
            if trainer.current_epoch % 2 == 0:
                pl_module.log("val/r_precision", 0.5 + trainer.current_epoch / 100)

    stream = io.StringIO()
    trainer = Trainer(
        max_epochs=4,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        callbacks=[_Evaluation(), ProgressLines(stream=stream)],
    )
    trainer.fit(_Tiny())
    shown = [re.search(r"val/r_precision (\S+)", line) for line in stream.getvalue().splitlines()]
    assert [m.group(1) if m else None for m in shown] == ["0.5", None, "0.52", None]
