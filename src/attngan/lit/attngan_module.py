"""AttnGAN training (paper section 3): one generator, one discriminator per scale, stepped by hand."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.core.optimizer import LightningOptimizer
from torch import nn

from attngan.checkpoint import build_network, run_metadata
from attngan.data.datamodule import CaptionDataModule
from attngan.data.shapes.negatives import HardNegatives
from attngan.errors import ConfigError, NonFiniteLossError
from attngan.lit.common import damsm_gammas, dataset_has_classes, load_initial_weights, step_seed
from attngan.lit.damsm_module import load_frozen_damsm
from attngan.lit.ema import make_ema, update_ema
from attngan.lit.guards import NonFiniteWatch, check_nonfinite_policy, finite_on_every_rank, mean_over_ranks
from attngan.lit.optim import check_adam_implementation, make_adam, set_adam_implementation
from attngan.lit.strategy import average_gradients, broadcast_buffers, check_manual_strategy
from attngan.models import Generator
from attngan.text.encoding import padding_mask
from attngan.training.loss import AttnGANLoss, hard_negative_fields, wrong_sentences
from attngan.training.options import TrainingOptions, format_departures, recipe_departures

log = logging.getLogger(__name__)

GENERATOR_TARGET = "attngan.models.Generator"
DISCRIMINATOR_TARGET = "attngan.models.Discriminator"


# added to a training batch on the host (on_before_batch_transfer): list[int] caption lengths
HOST_LENGTHS = "host_lengths"


class AttnGANModule(LightningModule):
    """AttnGAN with manual optimisation: per batch one G forward, a step of every D_i, then one G step.

    Args:
        vocab: the dataset's words in id order; must equal the DAMSM checkpoint's vocabulary.
        damsm_checkpoint: path of a :class:`~attngan.lit.DAMSMModule` checkpoint (encoders are frozen).
        generator: :class:`~attngan.models.Generator` arguments (``embedding_dim`` must match the DAMSM).
        discriminator: :class:`~attngan.models.Discriminator` arguments shared by every scale (``ndf``).
        lambda_damsm: weight of the DAMSM loss in the generator loss (the paper's lambda).
        kl_weight: weight of the conditioning-augmentation KL term.
        gamma1, gamma2, gamma3: DAMSM smoothing factors.
        lr_generator, lr_discriminator, betas: Adam settings.
        ema_decay: decay of the generator's parameter EMA (used for every sample and metric).
        sample_every_n_epochs: fixed sample grid from the EMA generator every N epochs.
        num_sample_captions: captions (from the validation split) in the sample grid.
        nonfinite_policy: ``"stop"`` (raise, naming step and term) or ``"skip"`` (skip the step, count it).
        compile: ``torch.compile`` the generator and discriminators (state-dict keys unchanged).
        channels_last: channels-last memory format for the convolutional networks.
        adam_implementation: ``fused`` / ``foreach`` / ``for_loop``: how PyTorch computes the Adam update
            (:mod:`attngan.lit.optim`; the same update, rounding differs).
        init_from: an attngan checkpoint whose G (and D, EMA where present) weights start the run.
        seed: base of the per-step random streams (noise, CA) and of the sample grid's fixed z and ε.
        image_sizes: the config's copy of :attr:`Generator.image_sizes` (``model.image_sizes``, which
            ``data.image_sizes`` follows); the generator owns the sizes and :meth:`setup` checks the data's.
        training: ``model.training``, the options beyond the release (:class:`TrainingOptions`); None or ``{}``
            is the release recipe.
        run_config: the resolved run config, stored in checkpoints.
    """

    def __init__(
        self,
        vocab: list[str],
        damsm_checkpoint: str,
        generator: dict[str, Any],
        discriminator: dict[str, Any],
        lambda_damsm: float = 5.0,
        kl_weight: float = 1.0,
        gamma1: float = 4.0,
        gamma2: float = 5.0,
        gamma3: float = 10.0,
        lr_generator: float = 2e-4,
        lr_discriminator: float = 2e-4,
        betas: tuple[float, float] = (0.5, 0.999),
        ema_decay: float = 0.999,
        sample_every_n_epochs: int = 1,
        num_sample_captions: int = 8,
        nonfinite_policy: str = "stop",
        compile: bool = False,
        channels_last: bool = False,
        adam_implementation: str = "fused",
        init_from: str | None = None,
        seed: int = 0,
        image_sizes: list[int] | None = None,
        training: dict[str, Any] | None = None,
        run_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        # logger=False: loggers get the whole resolved run config instead (attngan.lit.logging.LogRunConfig)
        self.save_hyperparameters(ignore=["run_config"], logger=False)
        self.automatic_optimization = False
        check_nonfinite_policy(nonfinite_policy)
        check_adam_implementation(adam_implementation)
        self.vocab = list(vocab)
        self.run_config = run_config
        self.options = TrainingOptions.from_config(training)
        self.hard_negatives = (
            HardNegatives(self.vocab, self.options.hard_negative_weights)
            if self.options.hard_negative_fraction > 0
            else None
        )
        damsm = load_frozen_damsm(damsm_checkpoint, self.vocab)
        self.text_encoder, self.image_encoder = damsm.text_encoder, damsm.image_encoder
        self.damsm_networks = damsm.networks
        self._build_generator(generator)
        self._build_discriminators(discriminator)
        if init_from:
            load_initial_weights(init_from, self.generator, self.discriminators)
        self._build_training_state()
        # the loss terms of the step (a test's or a drill's attngan.lit.faults.FaultInjector wraps its methods)
        self.losses = AttnGANLoss(
            self.discriminators, self.image_encoder, self.options, damsm_gammas(self.hparams)
        )
        self._sample_batch: dict[str, Any] | None = None
        self._compiled = False

    # ------------------------------------------------------------------ building
    def _build_generator(self, generator: dict[str, Any]) -> None:
        embedding_dim = int(generator.get("embedding_dim", 256))
        self.text_dim = self.text_encoder.output_dim
        if embedding_dim != self.text_dim:
            raise ConfigError(
                f"model.generator.embedding_dim={generator.get('embedding_dim')} but the DAMSM text encoder "
                f"gives {self.text_dim}-d features; set model.generator.embedding_dim={self.text_dim}"
            )
        self.generator_spec = {"_target_": GENERATOR_TARGET, **generator}
        self.generator: Generator = build_network(self.generator_spec)  # initialised by its constructor

    def _build_discriminators(self, discriminator: dict[str, Any]) -> None:
        self.discriminator_specs = [
            {
                "_target_": DISCRIMINATOR_TARGET,
                "image_size": size,
                "embedding_dim": self.text_dim,
                **discriminator,
            }
            for size in self.generator.image_sizes
        ]  # each initialised by its constructor
        self.discriminators = nn.ModuleList(build_network(spec) for spec in self.discriminator_specs)

    def _build_training_state(self) -> None:
        """The EMA generator and the step counters (after any init_from weights are in)."""
        self.generator_ema = make_ema(self.generator)
        # eval mode from the start: Lightning keeps the modes it finds (it does not call train()), and samples
        # rendered in train mode would use batch statistics and overwrite the EMA's BatchNorm buffers
        self.generator_ema.eval()
        self.register_buffer("generator_step", torch.zeros((), dtype=torch.long))
        self.register_buffer("skipped_steps", torch.zeros((), dtype=torch.long))
        self._nonfinite = NonFiniteWatch(self.loss_terms)  # read every N steps (nonfinite_policy=stop)
        self._step = 0  # host mirror of generator_step (no sync inside the step)

    @property
    def loss_terms(self) -> list[str]:
        return [f"d{i}" for i in range(self.generator.num_stages)] + ["g_adversarial", "g_damsm", "g_kl"]

    # ------------------------------------------------------------------ setup
    def train(self, mode: bool = True) -> AttnGANModule:
        super().train(mode)
        # frozen parts never leave eval mode (BatchNorm statistics and dropout stay fixed)
        self.text_encoder.eval()
        self.image_encoder.eval()
        self.generator_ema.eval()
        return self

    def setup(self, stage: str) -> None:
        if self._trainer is not None:
            check_manual_strategy(self.trainer.strategy)
        if self.hparams.channels_last:
            self.generator.to(memory_format=torch.channels_last)
            self.discriminators.to(memory_format=torch.channels_last)
        if self.hparams.compile and not self._compiled:
            # static shapes: every discriminator shares one forward, and Dynamo would otherwise turn the
            # image size dynamic after the second scale (slower kernels); each scale gets its own graph
            self.generator.compile(dynamic=False)
            for disc in self.discriminators:
                disc.compile(dynamic=False)
            self._compiled = True
        datamodule = self.trainer.datamodule if self._trainer is not None else None
        sizes = datamodule.image_sizes if isinstance(datamodule, CaptionDataModule) else None
        if sizes not in (None, self.generator.image_sizes):  # every D needs real images of its stage's size
            raise ConfigError(
                f"data.image_sizes={sizes} (model.image_sizes by default) but the generator makes "
                f"{self.generator.image_sizes}: set model.generator.base_size and num_stages, not the sizes"
            )

    def on_fit_start(self) -> None:
        self._step = int(self.generator_step)
        if self.trainer.is_global_zero:  # which recipe this is, in one line (make train prints it too)
            departures = recipe_departures(self.run_config or {"model": {"training": self.hparams.training}})
            log.info("recipe: %s", format_departures(departures))
        if self.hard_negatives is not None and not dataset_has_classes(self.trainer):
            raise ConfigError(
                "model.training.hard_negative_fraction > 0 needs the shapes data (its captions name colours, "
                "shapes, sizes and positions); set it to 0 for this dataset"
            )

    def on_train_start(self) -> None:
        for optimizer in self.trainer.optimizers:  # a resume restored the flags of the run that saved it
            set_adam_implementation(optimizer, self.hparams.adam_implementation)

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Host-side work for a training batch still on the CPU, so that the step never reads device values:
        the caption lengths as integers (``host_lengths``, for the text encoder) and the hard negatives."""
        if (
            self._trainer is not None
            and self.trainer.training
            and isinstance(batch, dict)
            and "captions" in batch
        ):
            if batch["lengths"].device.type == "cpu":  # not when a loader already moved the batch
                batch[HOST_LENGTHS] = batch["lengths"].tolist()
            if self.hard_negatives is not None:
                rng = np.random.default_rng([self.hparams.seed, self.global_rank, self._step, 1])
                fraction = self.options.hard_negative_fraction
                batch.update(
                    hard_negative_fields(
                        self.hard_negatives, fraction, batch["captions"], batch["lengths"], rng
                    )
                )
        return batch

    # ------------------------------------------------------------------ training
    def encode_text(self, captions: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen text encoder, in fp32 even under mixed precision: words (B, D, T), sentence (B, D)."""
        with torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            return self.text_encoder(captions, lengths)

    def _backward_and_step(
        self, loss: torch.Tensor, optimizer: LightningOptimizer, module: nn.Module, term: str
    ) -> None:
        if self.hparams.nonfinite_policy == "skip" and not finite_on_every_rank(loss):
            # the only policy that syncs every step: it must know before stepping
            self.skipped_steps += 1
            log.warning("skipping step %d: non-finite %s", self._step, term)
            optimizer.zero_grad(set_to_none=True)
            return
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        average_gradients(module.parameters())  # the GAN DDP strategy does not wrap the module in DDP
        optimizer.step()

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        optimizer_g, *optimizers_d = self.optimizers()
        torch.manual_seed(step_seed(self.hparams.seed, self.global_rank, self._step))  # noise and CA draws
        real_images = batch["images"]
        if self.hparams.channels_last:
            real_images = [im.contiguous(memory_format=torch.channels_last) for im in real_images]
        captions, lengths = batch["captions"], batch["lengths"]
        batch_size = captions.shape[0]
        class_ids = batch["class_ids"] if dataset_has_classes(self.trainer) else None

        # the text encoder packs sequences by length on the CPU: the host copy, where there is one
        host_lengths = torch.tensor(batch[HOST_LENGTHS]) if HOST_LENGTHS in batch else lengths
        words, sentence = self.encode_text(captions, host_lengths)  # (B, D, T), (B, D)
        mask = padding_mask(lengths, captions.shape[1])  # (B, T), True at padding
        noise = torch.randn(batch_size, self.generator.z_dim, device=self.device)
        output = self.generator(noise, sentence, words, mask)
        wrong_sentence = wrong_sentences(batch, sentence, self.encode_text)
        options = self.options

        terms: list[torch.Tensor] = []
        for stage, (disc, optimizer_d) in enumerate(zip(self.discriminators, optimizers_d, strict=True)):
            fake = output.images[stage].detach()
            d_loss = self.losses.discriminator(
                self._step, stage, real_images[stage], fake, sentence, wrong_sentence
            )
            self._backward_and_step(d_loss, optimizer_d, disc, f"d{stage}")
            terms.append(d_loss.detach())

        self.toggle_optimizer(optimizer_g)  # discriminators take no gradients in the G step
        g_terms = self.losses.generator(self._step, output, words, sentence, lengths, class_ids)
        adversarial, damsm, kl = g_terms["g_adversarial"], g_terms["g_damsm"], g_terms["g_kl"]
        lambda_damsm = options.lambda_damsm(self.hparams.lambda_damsm, self._step)
        g_loss = adversarial + lambda_damsm * damsm + self.hparams.kl_weight * kl
        self._backward_and_step(g_loss, optimizer_g, self.generator, "generator loss")
        self.untoggle_optimizer(optimizer_g)

        # BatchNorm statistics of rank 0 (as DDP's broadcast_buffers), so that the EMA, which copies the
        # generator's buffers, and the discriminators are identical on every rank
        broadcast_buffers(self.generator, *self.discriminators)
        images_seen = (self._step + 1) * batch_size * self.trainer.world_size
        update_ema(
            self.generator_ema,
            self.generator,
            options.ema_decay(self.hparams.ema_decay, batch_size, images_seen),
        )
        terms += [adversarial.detach(), damsm.detach(), kl.detach()]
        self._nonfinite.track(torch.stack(terms), self.generator_step)
        self.generator_step += 1
        self._step += 1
        every = self.trainer.log_every_n_steps  # when Lightning reads the logged losses too (0: never)
        if every and self._step % every == 0:
            self._check_nonfinite()
        self._log_losses(terms, g_loss.detach(), batch_size)

    def _check_nonfinite(self) -> None:
        found = self._nonfinite.earliest() if self.hparams.nonfinite_policy == "stop" else None
        if found is not None:  # found on every rank: all raise, or the others would wait forever
            step, name = found
            raise NonFiniteLossError(
                f"the loss term '{name}' became non-finite (NaN or inf) at generator step {step} "
                f"(epoch {self.current_epoch}). Nothing was saved after the last good checkpoint "
                f"(<run dir>/checkpoints/last.ckpt). Lower the learning rates, check the data, or set "
                f"model.nonfinite_policy=skip to skip such steps."
            )

    def _log_losses(self, terms: list[torch.Tensor], g_loss: torch.Tensor, batch_size: int) -> None:
        """Device values, every step: Lightning reads them every ``trainer.log_every_n_steps`` batches."""
        values = mean_over_ranks(torch.stack([*terms, g_loss]))  # one all-reduce under DDP, no host sync
        names = [
            f"train/{'d_loss_' + t[1:] if t[0] == 'd' and t[1:].isdigit() else t}" for t in self.loss_terms
        ]
        metrics = dict(zip([*names, "train/g_loss"], values.unbind(), strict=True))
        metrics["train/generator_step"] = self.generator_step.float()
        if self.hparams.nonfinite_policy == "skip":
            metrics["train/skipped_steps"] = self.skipped_steps.float()
        # x-axis: the trainer's global step, as for every other logged value (decision 024); a logged "step"
        # replaces Lightning's batch count, which also drops its "epoch", so that is logged too
        metrics["step"] = float(self.trainer.global_step)
        metrics["epoch"] = float(self.current_epoch)
        self.log_dict(metrics, batch_size=batch_size)
        self.log("g_loss", metrics["train/g_loss"], prog_bar=True, logger=False, batch_size=batch_size)

    # ------------------------------------------------------------------ samples
    def on_train_epoch_end(self) -> None:
        self._check_nonfinite()
        every = self.hparams.sample_every_n_epochs
        epoch = self.current_epoch
        last = epoch + 1 >= (self.trainer.max_epochs or 0)
        if every and ((epoch + 1) % every == 0 or last) and self.trainer.is_global_zero:
            self.render_samples()

    def render_samples(self) -> Path | None:
        """Fixed captions, fixed z and fixed CA ε through the EMA generator: the same grid every time for the
        same weights. Writes ``<run dir>/samples/epoch_<N>/`` (:func:`attngan.lit.logging.render_samples`)."""
        from attngan.lit.logging import render_samples

        return render_samples(self)

    # ------------------------------------------------------------------ optimisers
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas, implementation = tuple(self.hparams.betas), self.hparams.adam_implementation
        optimizer_g = make_adam(self.generator.parameters(), self.hparams.lr_generator, betas, implementation)
        optimizers_d = [
            make_adam(d.parameters(), self.hparams.lr_discriminator, betas, implementation)
            for d in self.discriminators
        ]
        return [optimizer_g, *optimizers_d]

    # ------------------------------------------------------------------ checkpoint
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self._check_nonfinite()  # a non-finite loss not checked yet (every N steps) never reaches a checkpoint
        meta = run_metadata("attngan", self.run_config, self.vocab)
        meta["networks"] = {
            **self.damsm_networks,
            "generator": self.generator_spec,
            "discriminators": self.discriminator_specs,
        }
        meta["gammas"] = [self.hparams.gamma1, self.hparams.gamma2, self.hparams.gamma3]
        meta["generator_step"] = self._step
        checkpoint["attngan"] = meta

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        entry = checkpoint.get("attngan", {})
        self._step = int(entry.get("generator_step", 0))


__all__ = ["AttnGANModule"]
