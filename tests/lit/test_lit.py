"""LightningModules: EMA, frozen encoders, the manual multi-optimizer step, checkpoints."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from attngan.checkpoint import atomic_torch_save, safe_load_checkpoint
from attngan.errors import CheckpointError, VocabularyMismatchError
from attngan.lit import AttnGANModule, load_damsm
from attngan.lit.ema import make_ema, update_ema
from attngan.training.entry import build_module
from helpers.training import TINY_ATTNGAN, TINY_DATA, TINY_TRAINER, compose_train


def test_update_ema_averages_parameters_and_copies_buffers():
    live = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    ema = make_ema(live)
    with torch.no_grad():
        for p in live.parameters():
            p.add_(1.0)
        live[1].running_mean.fill_(7.0)
    before = [p.clone() for p in ema.parameters()]
    update_ema(ema, live, decay=0.9)
    for b, e, lv in zip(before, ema.parameters(), live.parameters(), strict=True):
        torch.testing.assert_close(e, 0.9 * b + 0.1 * lv)
    assert torch.equal(ema[1].running_mean, live[1].running_mean)
    assert not any(p.requires_grad for p in ema.parameters())


def _attngan_module(tmp_path, damsm_ckpt, stages: int, *overrides: str):
    import hydra.utils

    cfg = compose_train(
        tmp_path,
        *TINY_ATTNGAN,
        *TINY_DATA,
        *TINY_TRAINER,
        f"model.damsm_checkpoint={damsm_ckpt}",
        f"model.generator.num_stages={stages}",
        "model.generator.base_size=16",
        *overrides,
    )
    datamodule = hydra.utils.instantiate(cfg.data, _convert_="all")
    datamodule.prepare_data()
    datamodule.setup("fit")
    return cfg, datamodule, build_module(cfg, datamodule.vocab.to_list())


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("stages", [2, 3])
def test_training_steps_change_g_and_d_but_not_frozen_encoders(tmp_path, tiny_damsm_checkpoint, stages):
    from attngan.training.entry import build_trainer

    cfg, datamodule, module = _attngan_module(tmp_path, tiny_damsm_checkpoint, stages)
    assert isinstance(module, AttnGANModule)
    assert len(module.discriminators) == stages
    frozen_before = {"text": _state(module.text_encoder), "image": _state(module.image_encoder)}
    g_before = _state(module.generator)
    d_before = [_state(d) for d in module.discriminators]
    trainer = build_trainer(cfg)
    trainer.fit(module, datamodule=datamodule)

    assert int(module.generator_step) == 2
    for name, before in frozen_before.items():
        after = _state(module.text_encoder if name == "text" else module.image_encoder)
        assert all(torch.equal(before[k], after[k]) for k in before), f"{name} encoder changed"
    assert not module.text_encoder.training and not module.image_encoder.training
    g_after = _state(module.generator)
    assert any(not torch.equal(g_before[k], g_after[k]) for k in g_before if "weight" in k)
    for before, disc in zip(d_before, module.discriminators, strict=True):
        after = _state(disc)
        assert any(not torch.equal(before[k], after[k]) for k in before if "weight" in k)
    # the EMA moved, but only a little: it differs from the live generator
    ema = _state(module.generator_ema)
    assert any(not torch.equal(ema[k], g_after[k]) for k in ema if k.endswith("weight"))
    assert (tmp_path / "run" / "samples").exists()  # the last epoch renders the fixed sample grid


@pytest.mark.parametrize("every", [1, 2])
def test_losses_are_finite_and_logged_every_trainer_log_every_n_steps(tmp_path, tiny_damsm_checkpoint, every):
    from lightning.pytorch import Callback

    from attngan.lit.attngan_module import HOST_LENGTHS
    from attngan.training.entry import build_trainer

    class HostLengths(Callback):  # the step's batch carries its caption lengths as host integers
        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            assert batch[HOST_LENGTHS] == batch["lengths"].tolist()

    cfg, datamodule, module = _attngan_module(
        tmp_path,
        tiny_damsm_checkpoint,
        2,
        "+logger.record._target_=helpers.lit.RecordingLogger",
        f"trainer.log_every_n_steps={every}",  # the one cadence: Lightning writes logged values every N batches
    )
    trainer = build_trainer(cfg, extra_callbacks=[HostLengths()])
    (recorder,) = trainer.loggers
    trainer.fit(module, datamodule=datamodule)
    losses = {"d_loss_0", "d_loss_1", "g_adversarial", "g_damsm", "g_kl", "g_loss"}
    records = [(step, metrics) for step, metrics in recorder.records if "train/g_loss" in metrics]
    # x-axis: the trainer's global step (one optimizer step per D and one for G), as for every other value
    per_batch = 1 + module.generator.num_stages
    assert [step for step, _ in records] == [per_batch * n for n in range(every, 3, every)]
    for step, record in records:
        logged = {k.removeprefix("train/") for k in record if k.startswith("train/")}
        assert logged - {"generator_step"} == losses and record["epoch"] == 0
        assert record["train/generator_step"] == step // per_batch
        assert all(math.isfinite(record[f"train/{name}"]) for name in losses)


def _png_bytes(folder) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


def test_samples_come_from_the_ema_generator_with_fixed_noise(tmp_path, tiny_damsm_checkpoint):
    cfg, datamodule, module = _attngan_module(tmp_path, tiny_damsm_checkpoint, 2)
    from attngan.training.entry import build_trainer

    trainer = build_trainer(cfg)
    trainer.fit(module, datamodule=datamodule)
    calls = []
    module.generator.register_forward_pre_hook(lambda *_: calls.append("live"))
    module.generator_ema.register_forward_pre_hook(lambda *_: calls.append("ema"))
    out_dir = module.render_samples()
    assert calls == ["ema"]
    assert (out_dir / "grid.png").exists()
    assert len(list(out_dir.glob("caption_*_attention.png"))) == 2
    # z and CA's epsilon are fixed: the grid of the same weights is the same, whatever the global random state
    first = _png_bytes(out_dir)
    torch.manual_seed(1234)
    torch.rand(17)
    assert module.render_samples() == out_dir
    assert _png_bytes(out_dir) == first and len(first) == 3


def _init_from_module(damsm_ckpt, init_from):
    entry = safe_load_checkpoint(init_from)["attngan"]
    generator = {k: v for k, v in entry["networks"]["generator"].items() if k != "_target_"}
    return AttnGANModule(
        vocab=entry["vocab"],
        damsm_checkpoint=str(damsm_ckpt),
        generator=generator,
        discriminator={
            key: entry["networks"]["discriminators"][0][key]
            for key in ("ndf", "coord_channels")
            if key in entry["networks"]["discriminators"][0]
        },
        init_from=str(init_from),
    )


@pytest.mark.parametrize("with_discriminators", [True, False])
def test_init_from_warns_only_when_discriminators_are_missing(
    tmp_path, caplog, tiny_damsm_checkpoint, tiny_attngan_checkpoint, with_discriminators
):
    import logging

    path = tiny_attngan_checkpoint
    checkpoint = safe_load_checkpoint(path)
    state = checkpoint["state_dict"]
    if not with_discriminators:  # e.g. a release generator imported by attngan-import-original
        checkpoint["state_dict"] = {k: v for k, v in state.items() if not k.startswith("discriminators.")}
        path = tmp_path / "generator_only.ckpt"
        torch.save(checkpoint, path)
    with caplog.at_level(logging.WARNING, logger="attngan.lit.attngan_module"):
        module = _init_from_module(tiny_damsm_checkpoint, path)
    warned = "has no discriminators: they start from random weights" in caplog.text
    assert warned != with_discriminators, caplog.text
    # the EMA weights start the generator (and its EMA); the discriminators where the file has them
    for name, value in module.generator.state_dict().items():
        assert torch.equal(value, state[f"generator_ema.{name}"]), name
    loaded = [
        torch.equal(v, state[f"discriminators.{k}"]) for k, v in module.discriminators.state_dict().items()
    ]
    assert all(loaded) if with_discriminators else not all(loaded)


def test_vocabulary_mismatch_names_the_difference(tmp_path, tiny_damsm_checkpoint):
    vocab = load_damsm(tiny_damsm_checkpoint).vocab.to_list()
    wrong = [*vocab[:-1], "zebra"]
    with pytest.raises(VocabularyMismatchError, match="zebra"):
        AttnGANModule(
            vocab=wrong,
            damsm_checkpoint=str(tiny_damsm_checkpoint),
            generator={"num_stages": 1, "ngf": 4, "embedding_dim": 32, "base_size": 16},
            discriminator={"ndf": 4},
        )


def test_damsm_checkpoint_that_is_a_directory_is_named_as_such(tmp_path):
    with pytest.raises(
        CheckpointError, match=r"model.damsm_checkpoint '.*' is a directory \(expected the \.ckpt"
    ):
        AttnGANModule(
            vocab=["<pad>", "red"],
            damsm_checkpoint=str(tmp_path),
            generator={"num_stages": 1, "ngf": 4, "embedding_dim": 32, "base_size": 16},
            discriminator={"ndf": 4},
        )


def test_checkpoint_is_self_describing_and_weights_only(tiny_attngan_checkpoint):
    checkpoint = safe_load_checkpoint(tiny_attngan_checkpoint)  # weights_only=True inside
    entry = checkpoint["attngan"]
    assert entry["kind"] == "attngan"
    assert entry["version"]
    assert entry["vocab"][0] == "<pad>"
    assert entry["generator_step"] == 2
    # the resolved run config: shapes_attngan's lambda (not the model config's default 5)
    assert entry["config"]["model"]["lambda_damsm"] == 4.0
    assert entry["config"]["task_name"] == "shapes_attngan"
    assert set(entry["networks"]) >= {"text_encoder", "image_encoder", "generator", "discriminators"}
    assert any(k.startswith("generator_ema.") for k in checkpoint["state_dict"])


class _InterruptWhilePickled:
    """Pickling it raises KeyboardInterrupt: a save interrupted half-way (Ctrl-C, a kill), without patching."""

    def __reduce__(self):
        raise KeyboardInterrupt


def test_atomic_save_keeps_old_file_when_interrupted(tmp_path):
    path = tmp_path / "last.ckpt"
    atomic_torch_save({"a": torch.ones(2)}, path)
    with pytest.raises(KeyboardInterrupt):
        atomic_torch_save({"a": torch.zeros(2), "interrupt": _InterruptWhilePickled()}, path)
    assert torch.equal(safe_load_checkpoint(path)["a"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", None])
def test_corrupt_checkpoint_is_a_clear_error(tmp_path, tiny_damsm_checkpoint, content):
    path = tmp_path / "bad.ckpt"
    if content is None:  # truncated
        data = tiny_damsm_checkpoint.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"bad\.ckpt"):
        safe_load_checkpoint(path)


def test_unsafe_checkpoint_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    torch.save({"attngan": copy.copy}, path)  # a function: not plain data
    with pytest.raises(CheckpointError, match="not plain data"):
        safe_load_checkpoint(path)


EVERY_OPTION = [
    "model.training.adversarial_loss=hinge",
    "model.training.gradient_penalty=ma_gp",
    "model.training.gradient_penalty_stages=all",
    "model.training.hard_negative_fraction=1.0",
    "model.training.hard_negative_weights={colour: 0.25, shape: 0.25, position: 0.25, count: 0.25}",
    "model.training.ema_rampup=0.05",
    "model.training.lambda_damsm_start=0.5",
    "model.training.lambda_rampup_steps=1",
    "model.generator.coord_channels=true",
    "model.discriminator.coord_channels=true",
    "data.fresh_images=true",
]


def test_every_training_option_at_once_trains_and_changes_the_step(
    tmp_path, tiny_damsm_checkpoint, monkeypatch
):
    """A tiny run of the shapes recipe with every option on: finite losses, hard negatives used, penalty run."""
    from attngan.training import loss as terms
    from attngan.training.entry import build_trainer

    calls = {"negatives": 0, "penalty": 0}
    fields, penalty = terms.hard_negative_fields, terms.lazy_penalty

    def count_fields(*args, **kwargs):
        calls["negatives"] += 1
        out = fields(*args, **kwargs)
        assert bool(out[terms.HARD_NEGATIVE_ROWS].any())  # fraction 1: every row that can change does
        # host integers: the batch transfer leaves them on the host, so encoding them never syncs
        assert all(type(n) is int for n in out[terms.HARD_NEGATIVE_LENGTHS])
        return out

    def count_penalty(*args, **kwargs):
        calls["penalty"] += 1
        return penalty(*args, **kwargs)

    monkeypatch.setattr("attngan.lit.attngan_module.hard_negative_fields", count_fields)
    monkeypatch.setattr("attngan.training.loss.lazy_penalty", count_penalty)
    cfg, datamodule, module = _attngan_module(tmp_path, tiny_damsm_checkpoint, 2, *EVERY_OPTION)
    assert module.options.departures()["adversarial_loss"] == "hinge"
    trainer = build_trainer(cfg)
    trainer.fit(module, datamodule=datamodule)
    assert int(module.generator_step) == 2
    assert calls == {"negatives": 2, "penalty": 4}  # every step; both discriminators (stages=all)
    assert all(torch.isfinite(p).all() for p in module.generator.parameters())
