"""Speed options of the AttnGAN training step keep its numerics: the same losses as the unoptimised step."""

from __future__ import annotations

import copy

import hydra.utils
import lightning as L
import pytest
import torch

from attngan.errors import ConfigError
from attngan.lit.optim import make_adam, set_adam_implementation
from attngan.training.entry import build_module, build_trainer
from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, compose_train

TERMS = ("d_loss_0", "d_loss_1", "g_adversarial", "g_damsm", "g_kl", "g_loss")


def _losses(tmp_path, damsm_ckpt, *overrides: str) -> list[dict[str, float]]:
    """Every step's loss terms of a 3-step tiny shapes run (the same seeds and batches every time)."""
    cfg = compose_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        "trainer.limit_train_batches=3",
        # every step's losses reach the logger (Lightning writes every trainer.log_every_n_steps batches)
        "trainer.log_every_n_steps=1",
        "model.sample_every_n_epochs=0",
        f"model.damsm_checkpoint={damsm_ckpt}",
        "+logger.record._target_=helpers.lit.RecordingLogger",
        *overrides,
    )
    L.seed_everything(0, verbose=False)  # the same initial weights in every run
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule.vocab.to_list())
    trainer = build_trainer(cfg)
    trainer.fit(module, datamodule=datamodule)
    records = [m for _, m in trainer.loggers[0].records if "train/g_loss" in m]
    return [{t: m[f"train/{t}"] for t in TERMS} for m in records]


@pytest.mark.parametrize("implementation", ["fused", "foreach"])
def test_adam_implementations_give_the_losses_of_the_python_loop(
    tmp_path, tiny_damsm_checkpoint, implementation
):
    reference = _losses(tmp_path / "loop", tiny_damsm_checkpoint, "model.adam_implementation=for_loop")
    faster = _losses(tmp_path / "fast", tiny_damsm_checkpoint, f"model.adam_implementation={implementation}")
    assert len(reference) == len(faster) == 3
    for ref, new in zip(reference, faster, strict=True):
        for term in TERMS:
            assert new[term] == pytest.approx(ref[term], rel=1e-5, abs=1e-7), term


def test_the_default_adam_is_fused_and_an_unknown_one_is_refused(tmp_path, tiny_damsm_checkpoint):
    cfg = compose_train(
        tmp_path, *TINY_ATTNGAN, *TINY_DATA, f"model.damsm_checkpoint={tiny_damsm_checkpoint}"
    )
    assert cfg.model.adam_implementation == "fused"
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    module = build_module(cfg, datamodule.vocab.to_list())
    optimizers = module.configure_optimizers()
    assert all(group["fused"] for opt in optimizers for group in opt.param_groups)
    with pytest.raises(ConfigError, match="adam_implementation='fast' is not one of"):
        make_adam([torch.nn.Parameter(torch.zeros(1))], 1e-3, (0.5, 0.999), "fast")


def test_a_restored_optimizer_is_switched_to_the_configured_implementation():
    param = torch.nn.Parameter(torch.ones(3))
    old = make_adam([param], 1e-2, (0.5, 0.999), "for_loop")
    param.grad = torch.full_like(param, 0.5)
    old.step()
    restored = make_adam([param], 1e-2, (0.5, 0.999), "fused")
    restored.load_state_dict(old.state_dict())  # brings back foreach=False, fused=None
    assert not restored.param_groups[0]["fused"]
    set_adam_implementation(restored, "fused")
    assert restored.param_groups[0]["fused"] and restored.param_groups[0]["foreach"] is None
    twin = copy.deepcopy(param.detach())
    restored.step()  # a fused step on restored state works and moves the parameter
    assert not torch.equal(twin, param.detach())
