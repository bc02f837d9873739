"""AttnGAN training (paper section 3): one generator, one discriminator per scale, stepped by hand."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch import LightningModule
from torch import nn

from attngan.errors import CheckpointError, ConfigError, NonFiniteLossError, VocabularyMismatchError
from attngan.lit.checkpoint import attngan_entry, safe_load_checkpoint, strip_prefix
from attngan.lit.common import damsm_gammas, dataset_has_classes, fixed_batch, run_metadata, step_seed
from attngan.lit.damsm_module import load_damsm
from attngan.lit.ema import make_ema, update_ema
from attngan.lit.strategy import average_gradients, broadcast_buffers
from attngan.lit.text_cache import TextEmbeddingCache, text_encoder_fingerprint
from attngan.losses.adversarial import discriminator_loss, generator_loss, mismatched
from attngan.losses.damsm import damsm_loss, padding_mask
from attngan.losses.kl import kl_loss
from attngan.models import Discriminator, Generator, init_weights

log = logging.getLogger(__name__)
# the module (not the data) owns on_before_batch_transfer, as Lightning then does by itself; its warning
# about that choice would only puzzle users
warnings.filterwarnings("ignore", message=r".*overridden `on_before_batch_transfer` in `LightningModule`")

# keys that on_before_batch_transfer adds to a training batch (host values, read by training_step)
HOST_LENGTHS = "host_lengths"  # list[int]: caption lengths, so the text encoder needs no device read
TEXT_CACHE_SLOTS = "text_cache_slots"  # (B,) long: rows of the text-embedding cache
TEXT_CACHE_MISSING = "text_cache_missing"  # (M,) long: batch rows to encode live and store
TEXT_CACHE_PENDING = "text_cache_pending"  # list[int]: the slots of those rows

GENERATOR_TARGET = "attngan.models.Generator"
DISCRIMINATOR_TARGET = "attngan.models.Discriminator"


def vocabulary_difference(expected: list[str], found: list[str], limit: int = 8) -> str:
    """A short human description of how two id-ordered word lists differ."""
    parts = [f"sizes {len(expected)} vs {len(found)}"]
    missing = [w for w in expected if w not in set(found)][:limit]
    extra = [w for w in found if w not in set(expected)][:limit]
    if missing:
        parts.append(f"words only in the DAMSM vocabulary: {missing}")
    if extra:
        parts.append(f"words only in the dataset vocabulary: {extra}")
    if not missing and not extra:
        first = next(i for i, (a, b) in enumerate(zip(expected, found, strict=False)) if a != b)
        parts.append(
            f"same words in another id order (first difference at id {first}: {expected[first]!r} vs {found[first]!r})"
        )
    return "; ".join(parts)


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
        log_every_n_steps: losses leave the device every N generator steps only.
        sample_every_n_epochs: fixed sample grid from the EMA generator every N epochs.
        num_sample_captions: captions (from the validation split) in the sample grid.
        nonfinite_policy: ``"stop"`` (raise, naming step and term) or ``"skip"`` (skip the step, count it).
        compile: ``torch.compile`` the generator and discriminators (state-dict keys unchanged).
        channels_last: channels-last memory format for the convolutional networks.
        init_from: an attngan checkpoint whose G (and D, EMA where present) weights start the run.
        seed: base of the per-step random streams (noise, CA), so a resumed run draws the same numbers.
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
        log_every_n_steps: int = 50,
        sample_every_n_epochs: int = 1,
        num_sample_captions: int = 8,
        nonfinite_policy: str = "stop",
        compile: bool = False,
        channels_last: bool = False,
        init_from: str | None = None,
        seed: int = 0,
        image_sizes: list[int] | None = None,
        run_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        # logger=False: loggers get the whole resolved run config instead (attngan.lit.logging.LogRunConfig)
        self.save_hyperparameters(ignore=["run_config"], logger=False)
        self.automatic_optimization = False
        if nonfinite_policy not in ("stop", "skip"):
            raise ConfigError(f"model.nonfinite_policy must be 'stop' or 'skip', got {nonfinite_policy!r}")
        self.vocab = list(vocab)
        self.run_config = run_config

        unset = damsm_checkpoint in (None, "", "???")
        if unset or not Path(damsm_checkpoint).is_file():
            found = "is not set" if unset else f"'{damsm_checkpoint}' does not exist"
            raise CheckpointError(
                f"model.damsm_checkpoint {found}. AttnGAN needs the text and image encoders of a trained DAMSM: "
                "train one first (e.g. `attngan-train experiment=shapes_damsm export_path=outputs/shapes/damsm.ckpt`)"
                " and pass model.damsm_checkpoint=<that file>."
            )
        damsm = load_damsm(damsm_checkpoint)
        if damsm.vocab.to_list() != self.vocab:
            raise VocabularyMismatchError(
                f"the DAMSM checkpoint '{damsm_checkpoint}' was trained on another vocabulary than this dataset's "
                f"({vocabulary_difference(damsm.vocab.to_list(), self.vocab)}). Word ids would mean different "
                "words. Use the DAMSM trained on this dataset (same captions), or train one: "
                "`attngan-train experiment=<dataset>_damsm`."
            )
        self.text_encoder = damsm.text_encoder
        self.image_encoder = damsm.image_encoder
        self.damsm_networks = damsm.networks
        text_dim = int(getattr(self.text_encoder, "output_dim", generator.get("embedding_dim", 256)))
        if int(generator.get("embedding_dim", 256)) != text_dim:
            raise ConfigError(
                f"model.generator.embedding_dim={generator.get('embedding_dim')} but the DAMSM text encoder "
                f"gives {text_dim}-d features; set model.generator.embedding_dim={text_dim}"
            )

        self.generator_spec = {"_target_": GENERATOR_TARGET, **generator}
        self.generator = Generator(**generator)
        sizes = [int(generator.get("base_size", 64)) * 2**i for i in range(int(generator["num_stages"]))]
        if image_sizes is not None and list(image_sizes) != sizes:
            raise ConfigError(
                f"model.image_sizes={list(image_sizes)} does not match the generator: "
                f"model.generator.num_stages={generator['num_stages']} stages from "
                f"model.generator.base_size={generator.get('base_size', 64)} make {sizes} (base_size * 2**stage). "
                "Choose the sizes with model.generator.num_stages and model.generator.base_size, and drop the "
                "model.image_sizes override (it follows them by default)."
            )
        self.image_sizes = sizes
        self.discriminator_specs = [
            {"_target_": DISCRIMINATOR_TARGET, "image_size": size, "embedding_dim": text_dim, **discriminator}
            for size in sizes
        ]
        self.discriminators = nn.ModuleList(
            [Discriminator(image_size=size, embedding_dim=text_dim, **discriminator) for size in sizes]
        )
        init_weights(self.generator)
        for disc in self.discriminators:
            init_weights(disc)
        if init_from:
            self._load_initial_weights(init_from)
        self.generator_ema = make_ema(self.generator)
        # eval mode from the start: Lightning keeps the modes it finds (it does not call train()), and samples
        # rendered in train mode would use batch statistics and overwrite the EMA's BatchNorm buffers
        self.generator_ema.eval()
        self.register_buffer("generator_step", torch.zeros((), dtype=torch.long))
        self.register_buffer("skipped_steps", torch.zeros((), dtype=torch.long))
        # first generator step at which each loss term was non-finite (-1: never); checked every N steps
        self.register_buffer(
            "first_nonfinite", torch.full((len(self.loss_terms),), -1, dtype=torch.long), persistent=False
        )
        self._step = 0  # host mirror of generator_step (no sync inside the step)
        self._sample_batch: dict[str, Any] | None = None
        self._compiled = False
        # data.cache_text_embeddings=true: the frozen text encoder's outputs per caption (set up in setup())
        self.text_cache: TextEmbeddingCache | None = None

    # ------------------------------------------------------------------ setup
    @property
    def loss_terms(self) -> list[str]:
        stages = int(self.hparams.generator["num_stages"])
        return [f"d{i}" for i in range(stages)] + ["g_adversarial", "g_damsm", "g_kl"]

    def _load_initial_weights(self, path: str) -> None:
        checkpoint = safe_load_checkpoint(path)
        attngan_entry(checkpoint, path, kind="attngan")
        state = checkpoint["state_dict"]
        source = "generator_ema." if any(k.startswith("generator_ema.") for k in state) else "generator."
        disc_state = strip_prefix(state, "discriminators.")
        try:
            self.generator.load_state_dict(strip_prefix(state, source))
            if disc_state:
                self.discriminators.load_state_dict(disc_state)
        except RuntimeError as err:
            saved = checkpoint["attngan"].get("networks", {}).get("generator", {})
            raise CheckpointError(
                f"model.init_from='{path}' does not fit this model's networks ({str(err).splitlines()[0]}). "
                f"Its generator was built with {saved}; set model.generator.* to match."
            ) from err
        else:
            log.warning("init_from=%s has no discriminators: they start from random weights", path)

    def train(self, mode: bool = True) -> AttnGANModule:
        super().train(mode)
        # frozen parts never leave eval mode (BatchNorm statistics and dropout stay fixed)
        self.text_encoder.eval()
        self.image_encoder.eval()
        self.generator_ema.eval()
        return self

    def setup(self, stage: str) -> None:
        from lightning.pytorch.strategies import DDPStrategy

        from attngan.lit.strategy import GANDDPStrategy

        strategy = self.trainer.strategy if self._trainer is not None else None
        if isinstance(strategy, DDPStrategy) and not isinstance(strategy, GANDDPStrategy):
            raise ConfigError(
                "AttnGAN steps four optimizers by hand, which plain DDP does not support; use trainer=ddp "
                "(attngan.lit.strategy.GANDDPStrategy) instead of trainer.strategy=ddp"
            )
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
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        data_sizes = getattr(datamodule, "image_sizes", None)
        if data_sizes is not None and [int(s) for s in data_sizes] != self.image_sizes:
            raise ConfigError(
                f"data.image_sizes={list(data_sizes)} but the generator's stages make {self.image_sizes}: every "
                "discriminator needs real images of its stage's size. Drop the data.image_sizes override (it "
                "follows model.image_sizes) or change model.generator.num_stages / model.generator.base_size."
            )
        if getattr(datamodule, "cache_text_embeddings", False) and self.text_cache is None:
            self.text_cache = TextEmbeddingCache()

    def on_fit_start(self) -> None:
        self._step = int(self.generator_step)
        if self.text_cache is not None:  # weights are final here (after a resume's checkpoint load)
            fingerprint = text_encoder_fingerprint(self.text_encoder, self.damsm_networks.get("text_encoder"))
            if self.text_cache.bind(fingerprint):
                log.info("text-embedding cache emptied: the text encoder changed")

    def on_before_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Host-side work for the training step while the batch is still on the CPU: caption lengths as
        integers and the text-embedding cache lookup (so that the step never reads device values)."""
        training = self._trainer is not None and self.trainer.training
        if not (training and isinstance(batch, dict) and "lengths" in batch and "captions" in batch):
            return batch
        lengths = batch["lengths"]
        if lengths.device.type != "cpu":  # a loader that already moved the batch: nothing to win
            return batch
        batch[HOST_LENGTHS] = lengths.tolist()
        if self.text_cache is not None:
            lookup = self.text_cache.lookup(batch["captions"], lengths)
            batch[TEXT_CACHE_SLOTS] = lookup.slots
            batch[TEXT_CACHE_MISSING] = lookup.missing
            batch[TEXT_CACHE_PENDING] = lookup.pending
        return batch

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _world_size() -> int:
        return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1

    def _all_reduce_gradients(self, module: nn.Module) -> None:
        """Average gradients over ranks (the GAN DDP strategy does not wrap the module in DDP)."""
        average_gradients(module.parameters())

    def _step_seed(self) -> int:
        return step_seed(self.hparams.seed, self.global_rank, self._step)

    def encode_text(self, captions: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frozen text encoder, in fp32 even under mixed precision: words (B, D, T), sentence (B, D)."""
        with torch.no_grad(), torch.autocast(self.device.type, enabled=False):
            return self.text_encoder(captions, lengths)

    def batch_text_features(self, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        """Words ``(B, D, T)`` and sentence ``(B, D)`` of a training batch: from the text-embedding cache
        when every caption is stored, else encoded live (and the new captions stored)."""
        captions = batch["captions"]
        host_lengths = batch.get(HOST_LENGTHS)
        # lengths on the host: the text encoder packs sequences by length on the CPU
        lengths = torch.tensor(host_lengths) if host_lengths is not None else batch["lengths"]
        slots = batch.get(TEXT_CACHE_SLOTS)
        if self.text_cache is None or slots is None:
            return self.encode_text(captions, lengths)
        missing = batch[TEXT_CACHE_MISSING]
        if missing.numel() == 0:
            return self.text_cache.gather(slots)
        words, sentence = self.encode_text(captions, lengths)
        self.text_cache.store(slots[missing], words[missing], sentence[missing], batch[TEXT_CACHE_PENDING])
        return words, sentence

    def _backward_and_step(self, loss: torch.Tensor, optimizer: Any, module: nn.Module, term: str) -> None:
        if self.hparams.nonfinite_policy == "skip" and not self._finite_on_every_rank(loss):
            # the only policy that syncs every step: it must know before stepping
            self.skipped_steps += 1
            log.warning("skipping step %d: non-finite %s", self._step, term)
            optimizer.zero_grad(set_to_none=True)
            return
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        self._all_reduce_gradients(module)
        optimizer.step()

    # ------------------------------------------------------------------ training
    def training_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        optimizer_g, *optimizers_d = self.optimizers()
        torch.manual_seed(self._step_seed())  # noise and CA draws are a function of (seed, rank, step)
        real_images = batch["images"]
        if self.hparams.channels_last:
            real_images = [im.contiguous(memory_format=torch.channels_last) for im in real_images]
        captions, lengths = batch["captions"], batch["lengths"]
        batch_size = captions.shape[0]
        class_ids = batch["class_ids"] if dataset_has_classes(self.trainer) else None

        words, sentence = self.batch_text_features(batch)  # (B, D, T), (B, D)
        mask = padding_mask(lengths, captions.shape[1])  # (B, T), True at padding
        noise = torch.randn(batch_size, int(self.hparams.generator.get("z_dim", 100)), device=self.device)
        output = self.generator(noise, sentence, words, mask)
        wrong_sentence = mismatched(sentence)

        terms: list[torch.Tensor] = []
        for stage, (disc, optimizer_d) in enumerate(zip(self.discriminators, optimizers_d, strict=True)):
            d_losses = discriminator_loss(
                disc, real_images[stage], output.images[stage].detach(), sentence, wrong_sentence
            )
            self._backward_and_step(d_losses["loss"], optimizer_d, disc, f"d{stage}")
            terms.append(d_losses["loss"].detach())

        self.toggle_optimizer(optimizer_g)  # discriminators take no gradients in the G step
        adversarial = sum(
            generator_loss(disc, fake, sentence)["loss"]
            for disc, fake in zip(self.discriminators, output.images, strict=True)
        )
        regions, image_global = self.image_encoder(output.images[-1])
        damsm = damsm_loss(
            words,
            lengths,
            regions,
            sentence,
            image_global,
            class_ids=class_ids,
            **damsm_gammas(self.hparams),
        )
        kl = kl_loss(output.mu, output.logvar)
        g_loss = adversarial + self.hparams.lambda_damsm * damsm["loss"] + self.hparams.kl_weight * kl
        self._backward_and_step(g_loss, optimizer_g, self.generator, "generator loss")
        self.untoggle_optimizer(optimizer_g)

        self._sync_generator_buffers()
        update_ema(self.generator_ema, self.generator, self.hparams.ema_decay)
        terms += [adversarial.detach(), damsm["loss"].detach(), kl.detach()]
        self._track_nonfinite(torch.stack(terms))
        self.generator_step += 1
        self._step += 1

        last_batch = batch_idx + 1 >= self.trainer.num_training_batches
        if self._step % self.hparams.log_every_n_steps == 0 or last_batch:
            self._check_nonfinite()
            self._log_losses(terms, g_loss.detach(), batch_size)

    def _finite_on_every_rank(self, loss: torch.Tensor) -> bool:
        """Whether ``loss`` is finite on every rank (ranks must agree to skip a step, or they deadlock)."""
        finite = torch.isfinite(loss.detach()).to(torch.float32)
        if self._world_size() > 1:
            dist.all_reduce(finite, op=dist.ReduceOp.MIN)
        return bool(finite)

    def _sync_generator_buffers(self) -> None:
        # BatchNorm statistics of rank 0 (as DDP's broadcast_buffers), so that the EMA, which copies the
        # generator's buffers, and the discriminators are identical on every rank
        broadcast_buffers(self.generator, *self.discriminators)

    def _track_nonfinite(self, values: torch.Tensor) -> None:
        bad = ~torch.isfinite(values)
        first = self.first_nonfinite
        self.first_nonfinite = torch.where((first < 0) & bad, self.generator_step.expand_as(first), first)

    def _check_nonfinite(self) -> None:
        if self.hparams.nonfinite_policy != "stop":
            return
        first_steps = self.first_nonfinite
        if self._world_size() > 1:  # every rank raises, or the others would wait for it forever
            never = torch.iinfo(first_steps.dtype).max
            first_steps = torch.where(first_steps < 0, torch.full_like(first_steps, never), first_steps)
            dist.all_reduce(first_steps, op=dist.ReduceOp.MIN)
            first_steps = torch.where(first_steps == never, torch.full_like(first_steps, -1), first_steps)
        first = first_steps.tolist()
        bad = [(step, name) for step, name in zip(first, self.loss_terms, strict=True) if step >= 0]
        if bad:
            step, name = min(bad)
            raise NonFiniteLossError(
                f"the loss term '{name}' became non-finite (NaN or inf) at generator step {step} "
                f"(epoch {self.current_epoch}). Nothing was saved after the last good checkpoint "
                f"(<run dir>/checkpoints/last.ckpt). Lower the learning rates, check the data, or set "
                f"model.nonfinite_policy=skip to skip such steps."
            )

    def _log_losses(self, terms: list[torch.Tensor], g_loss: torch.Tensor, batch_size: int) -> None:
        stacked = torch.stack([*terms, g_loss])
        if self._world_size() > 1:  # the mean over ranks, as every rank saw other samples
            dist.all_reduce(stacked)
            stacked = stacked / self._world_size()
        values = stacked.tolist()  # one host sync for every value
        names = [
            f"train/{'d_loss_' + t[1:] if t.startswith('d') and t[1:].isdigit() else t}"
            for t in self.loss_terms
        ]
        metrics = dict(zip([*names, "train/g_loss"], values, strict=True))
        metrics["train/generator_step"] = float(self._step)
        metrics["epoch"] = float(self.current_epoch)
        if self.hparams.nonfinite_policy == "skip":
            metrics["train/skipped_steps"] = float(self.skipped_steps)
        for logger in self.loggers:  # x-axis: the trainer's global step, as for every other logged value
            logger.log_metrics(metrics, step=self.trainer.global_step)
        self.log("g_loss", metrics["train/g_loss"], prog_bar=True, logger=False, batch_size=batch_size)

    # ------------------------------------------------------------------ samples
    def on_train_epoch_end(self) -> None:
        self._check_nonfinite()
        every = self.hparams.sample_every_n_epochs
        epoch = self.current_epoch
        last = epoch + 1 >= (self.trainer.max_epochs or 0)
        if every and ((epoch + 1) % every == 0 or last) and self.trainer.is_global_zero:
            self.render_samples()

    def _fixed_batch(self) -> dict[str, Any] | None:
        if self._sample_batch is None:
            datamodule = getattr(self.trainer, "datamodule", None)
            if datamodule is None:
                return None
            self._sample_batch = fixed_batch(datamodule, self.hparams.num_sample_captions)
        return self._sample_batch

    @torch.no_grad()
    def render_samples(self) -> Path | None:
        """Fixed noise + fixed captions through the EMA generator: stage images and attention figures."""
        from attngan.viz import attention_figure, sample_grid, tensor_to_pil

        batch = self._fixed_batch()
        if batch is None:
            return None
        captions = batch["captions"].to(self.device)
        lengths = batch["lengths"].to(self.device)
        words, sentence = self.encode_text(captions, lengths)
        z_dim = int(self.hparams.generator.get("z_dim", 100))
        noise = torch.randn(
            captions.shape[0], z_dim, generator=torch.Generator().manual_seed(self.hparams.seed)
        )
        output = self.generator_ema(
            noise.to(self.device), sentence, words, padding_mask(lengths, captions.shape[1])
        )
        out_dir = Path(self.trainer.default_root_dir) / "samples" / f"epoch_{self.current_epoch:04d}"
        out_dir.mkdir(parents=True, exist_ok=True)
        figures = []
        for i, text in enumerate(batch["texts"]):
            length = int(lengths[i])
            tokens = [self.vocab[int(t)] for t in captions[i, :length]]
            figure = attention_figure(
                [im[i].float().cpu() for im in output.images],
                [att[i, :length].float().cpu() for att in output.attention],
                tokens,
                top_k=5,
            )
            figure.save(out_dir / f"caption_{i:02d}_attention.png")
            figures.append((text, figure))
        grid = sample_grid([im.float().cpu() for im in output.images[-1]], list(batch["texts"]), ncol=4)
        grid.save(out_dir / "grid.png")
        from attngan.lit.logging import log_samples

        if self.loggers:
            stage_images = [
                [tensor_to_pil(im[i].float().cpu()) for im in output.images] for i in range(len(figures))
            ]
            log_samples(
                self.loggers,
                figures,
                grid,
                step=self.trainer.global_step,
                epoch=self.current_epoch,
                stage_images=stage_images,
            )
        return out_dir

    # ------------------------------------------------------------------ optimisers
    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        betas = tuple(self.hparams.betas)
        optimizer_g = torch.optim.Adam(self.generator.parameters(), lr=self.hparams.lr_generator, betas=betas)
        optimizers_d = [
            torch.optim.Adam(d.parameters(), lr=self.hparams.lr_discriminator, betas=betas)
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


__all__ = ["AttnGANModule", "vocabulary_difference"]
