"""DAMSM pre-training (paper section 3.3): a text encoder and an image encoder matched by the DAMSM loss."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch import LightningModule
from torch.serialization import MAP_LOCATION

from attngan.checkpoint import (
    attngan_entry,
    build_encoders,
    build_network,
    run_metadata,
    safe_load_checkpoint,
)
from attngan.errors import CheckpointError, NonFiniteLossError, VocabularyMismatchError
from attngan.lit.common import damsm_gammas, dataset_has_classes, step_seed
from attngan.lit.guards import check_nonfinite_policy, finite_on_every_rank
from attngan.losses.damsm import damsm_loss, word_level_scores
from attngan.models import CNNImageEncoder, InceptionImageEncoder, TextEncoder
from attngan.text import Vocabulary

log = logging.getLogger(__name__)


class DAMSMModule(LightningModule):
    """Trains the DAMSM text encoder and the image encoder's heads (the backbone stays frozen).

    Args:
        vocab: words in id order (id 0 = padding), as :meth:`Vocabulary.to_list` gives.
        text_encoder: constructor arguments of the text encoder, with ``_target_``.
        image_encoder: constructor arguments of the image encoder, with ``_target_``.
        gamma1, gamma2, gamma3: DAMSM smoothing factors (released: 4, 5, 10).
        lr, betas: Adam settings (released: 0.002, (0.5, 0.999)).
        lr_decay, lr_floor_factor: lr x ``lr_decay`` per epoch, never below ``lr * lr_floor_factor``.
        text_grad_clip: gradient-norm clip applied to the text encoder only.
        reset_optimizer_each_epoch: clear Adam's moments every epoch, as the release does.
        r_precision_candidates: validation R-precision candidates per image (own caption + mismatches).
        num_attention_figures: fixed validation pairs drawn with their word-to-region attention.
        seed: base of the per-step random streams (dropout), so a resumed run draws the same numbers.
        nonfinite_policy: a NaN or infinite loss ``"stop"``s the run (naming the step and the term) or is
            ``"skip"``ped (no update; counted in ``skipped_steps``). Checked every step (one host sync).
        run_config: the resolved run config, stored in checkpoints.
    """

    def __init__(
        self,
        vocab: list[str],
        text_encoder: dict[str, Any],
        image_encoder: dict[str, Any],
        gamma1: float = 4.0,
        gamma2: float = 5.0,
        gamma3: float = 10.0,
        lr: float = 0.002,
        betas: tuple[float, float] = (0.5, 0.999),
        lr_decay: float = 0.98,
        lr_floor_factor: float = 0.1,
        text_grad_clip: float = 0.25,
        reset_optimizer_each_epoch: bool = False,
        r_precision_candidates: int = 100,
        num_attention_figures: int = 4,
        image_sizes: list[int] | None = None,
        seed: int = 0,
        nonfinite_policy: str = "stop",
        run_config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_nonfinite_policy(nonfinite_policy)
        self.skipped_steps = 0  # steps left out by nonfinite_policy=skip (saved in checkpoints)
        # logger=False: loggers get the whole resolved run config instead (attngan.lit.logging.LogRunConfig)
        self.save_hyperparameters(ignore=["run_config"], logger=False)
        self.vocab = list(vocab)
        self.run_config = run_config
        self.text_encoder_spec = {**text_encoder, "vocab_size": len(self.vocab)}
        self.image_encoder_spec = dict(image_encoder)
        self.text_encoder = build_network(self.text_encoder_spec)
        self.image_encoder = build_network(self.image_encoder_spec)
        self._val_image_features: list[torch.Tensor] = []
        self._val_sentence_features: list[torch.Tensor] = []
        self._val_class_ids: list[torch.Tensor] = []
        self._figure_batch: dict[str, Any] | None = None
        self._warned_r_precision = False

    # ------------------------------------------------------------------ steps
    def _losses(self, batch: dict[str, Any]) -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, ...]]:
        captions, lengths = batch["captions"], batch["lengths"]
        images = batch["images"][-1]
        words, sentence = self.text_encoder(captions, lengths)  # (B, D, T), (B, D)
        regions, image_global = self.image_encoder(images)  # (B, D, h, w), (B, D)
        class_ids = batch["class_ids"] if dataset_has_classes(self.trainer) else None
        losses = damsm_loss(
            words,
            lengths,
            regions,
            sentence,
            image_global,
            class_ids=class_ids,
            **damsm_gammas(self.hparams),
        )
        return losses, (words, sentence, regions, image_global)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor | None:
        # dropout masks are a function of (seed, rank, step): a resumed run draws what the uninterrupted one did
        torch.manual_seed(step_seed(self.hparams.seed, self.global_rank, self.global_step))
        losses, _ = self._losses(batch)
        batch_size = batch["captions"].shape[0]
        terms = {f"train/{k}": v for k, v in losses.items() if k != "loss"}
        self.log_dict(terms, on_step=True, on_epoch=True, batch_size=batch_size)
        self.log(
            "train/loss", losses["loss"], prog_bar=True, on_step=True, on_epoch=True, batch_size=batch_size
        )
        if not finite_on_every_rank(losses["loss"]):
            bad = [name for name, value in losses.items() if name != "loss" and not torch.isfinite(value)]
            term = bad[0] if bad else "loss"
            if self.hparams.nonfinite_policy == "skip":  # returning None: no backward, no optimizer step
                self.skipped_steps += 1
                log.warning("skipping step %d: non-finite DAMSM loss term '%s'", self.global_step, term)
                return None
            raise NonFiniteLossError(
                f"the DAMSM loss term '{term}' became non-finite (NaN or inf) at step {self.global_step} "
                f"(epoch {self.current_epoch}); the weights were not updated with it and nothing was saved "
                "after the last good checkpoint (<run dir>/checkpoints/last.ckpt). Lower model.lr, check the "
                "data, or set model.nonfinite_policy=skip to skip such steps."
            )
        return losses["loss"]

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # the release clips the RNN only (its image heads are not clipped)
        torch.nn.utils.clip_grad_norm_(self.text_encoder.parameters(), self.hparams.text_grad_clip)

    def on_train_epoch_start(self) -> None:
        if self.hparams.reset_optimizer_each_epoch and self.current_epoch > 0:
            for optimizer in self.trainer.optimizers:
                optimizer.state.clear()

    def on_validation_epoch_start(self) -> None:
        self._val_image_features.clear()
        self._val_sentence_features.clear()
        self._val_class_ids.clear()

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        losses, (_, sentence, _, image_global) = self._losses(batch)
        batch_size = batch["captions"].shape[0]
        self.log_dict(
            {f"val/{k}": v for k, v in losses.items()}, on_epoch=True, batch_size=batch_size, sync_dist=True
        )
        self._val_image_features.append(image_global.detach())
        self._val_sentence_features.append(sentence.detach())
        self._val_class_ids.append(batch["class_ids"])
        if batch_idx == 0 and self._figure_batch is None:
            n = self.hparams.num_attention_figures
            self._figure_batch = {
                "images": [im[:n].detach().cpu() for im in batch["images"]],
                "captions": batch["captions"][:n].cpu(),
                "lengths": batch["lengths"][:n].cpu(),
            }

    def on_validation_epoch_end(self) -> None:
        if not self._val_image_features:
            return
        from attngan.metrics import RPrecision

        metric = RPrecision(num_candidates=self.hparams.r_precision_candidates, num_folds=10, seed=0)
        metric = metric.to(self.device)
        class_ids = torch.cat(self._val_class_ids) if dataset_has_classes(self.trainer) else None
        image_features = torch.cat(self._val_image_features)
        sentence_features = torch.cat(self._val_sentence_features)
        if self.trainer.world_size > 1:  # every rank saw a shard of the validation set (equal sizes)
            image_features = self.all_gather(image_features).flatten(0, 1)
            sentence_features = self.all_gather(sentence_features).flatten(0, 1)
            class_ids = self.all_gather(class_ids).flatten(0, 1) if class_ids is not None else None
        needed = max(self.hparams.r_precision_candidates, metric.num_folds)
        if image_features.shape[0] < needed:
            if not self._warned_r_precision:
                log.warning(
                    "validation R-precision skipped: %d validation images, at least %d needed "
                    "(model.r_precision_candidates)",
                    image_features.shape[0],
                    needed,
                )
                self._warned_r_precision = True
        else:
            metric.update(image_features, sentence_features, class_ids)
            result = metric.compute()
            self.log("val/r_precision", result["r_precision"], prog_bar=True, sync_dist=False)
            self.log("val/r_precision_std", result["r_precision_std"], sync_dist=False)
        if self.trainer.is_global_zero and self.hparams.num_attention_figures > 0:
            self._save_attention_figures()

    @torch.no_grad()
    def _save_attention_figures(self) -> None:
        from attngan.viz import attention_figure

        # (not trainer.log_dir: under DDP it is a collective call, and this runs on rank 0 only)
        if self._figure_batch is None:
            return
        batch = self._figure_batch
        images = batch["images"][-1].to(self.device)
        captions, lengths = batch["captions"].to(self.device), batch["lengths"].to(self.device)
        words, _ = self.text_encoder(captions, lengths)
        regions, _ = self.image_encoder(images)
        _, attention = word_level_scores(
            words, lengths, regions, self.hparams.gamma1, self.hparams.gamma2, return_attention=True
        )
        out_dir = Path(self.trainer.default_root_dir) / "attention" / f"epoch_{self.current_epoch:04d}"
        out_dir.mkdir(parents=True, exist_ok=True)
        figures = []
        for i in range(images.shape[0]):
            length = int(lengths[i])
            tokens = [self.vocab[int(t)] for t in captions[i, :length]]
            figure = attention_figure([images[i].cpu()], [attention[i][:length].cpu()], tokens, top_k=5)
            figure.save(out_dir / f"pair_{i}.png")
            figures.append((" ".join(tokens), figure))
        if self.loggers:
            from attngan.lit.logging import log_figures

            log_figures(
                self.loggers, "val/attention", figures, step=self.global_step, epoch=self.current_epoch
            )

    # ------------------------------------------------------------ optimisers
    def configure_optimizers(self) -> dict[str, Any]:
        params = list(self.text_encoder.parameters()) + list(self.image_encoder.trainable_parameters())
        optimizer = torch.optim.Adam(params, lr=self.hparams.lr, betas=tuple(self.hparams.betas))
        decay, floor = self.hparams.lr_decay, self.hparams.lr_floor_factor
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: max(decay**epoch, floor))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

    # ------------------------------------------------------------ checkpoint
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        meta = run_metadata("damsm", self.run_config, self.vocab)
        meta["networks"] = {"text_encoder": self.text_encoder_spec, "image_encoder": self.image_encoder_spec}
        meta["gammas"] = [self.hparams.gamma1, self.hparams.gamma2, self.hparams.gamma3]
        meta["generator_step"] = 0
        meta["skipped_steps"] = self.skipped_steps
        checkpoint["attngan"] = meta

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.skipped_steps = int(checkpoint.get("attngan", {}).get("skipped_steps", 0))


@dataclass
class DAMSMBundle:
    """Frozen DAMSM encoders read from a checkpoint, with what is needed to rebuild them."""

    text_encoder: TextEncoder
    image_encoder: CNNImageEncoder | InceptionImageEncoder
    vocab: Vocabulary
    networks: dict[str, dict[str, Any]]
    gammas: list[float]


def load_damsm(path: str | Path, map_location: MAP_LOCATION = "cpu") -> DAMSMBundle:
    """Frozen, eval-mode DAMSM encoders and vocabulary from a checkpoint of :class:`DAMSMModule`."""
    checkpoint = safe_load_checkpoint(path, map_location=map_location)
    entry = attngan_entry(checkpoint, path, kind="damsm")
    networks = entry.get("networks", {})
    if "image_encoder" not in networks:
        raise CheckpointError(f"DAMSM checkpoint '{path}' has no image encoder (the DAMSM loss needs one)")
    text_encoder, image_encoder = build_encoders(networks, checkpoint["state_dict"])
    return DAMSMBundle(
        text_encoder=text_encoder,
        image_encoder=image_encoder,
        vocab=Vocabulary.from_list(entry["vocab"]),
        networks={k: entry["networks"][k] for k in ("text_encoder", "image_encoder")},
        gammas=list(entry.get("gammas", [4.0, 5.0, 10.0])),
    )


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


def load_frozen_damsm(damsm_checkpoint: str | None, vocab: list[str]) -> DAMSMBundle:
    """The frozen DAMSM encoders AttnGAN trains against, refusing a missing file or another vocabulary."""
    unset = damsm_checkpoint in (None, "", "???")
    if unset or not Path(str(damsm_checkpoint)).is_file():
        found = "is not set" if unset else f"'{damsm_checkpoint}' does not exist"
        if not unset and Path(str(damsm_checkpoint)).is_dir():
            found = f"'{damsm_checkpoint}' is a directory (expected the .ckpt file written by attngan-train)"
        raise CheckpointError(
            f"model.damsm_checkpoint {found}. AttnGAN needs the text and image encoders of a trained DAMSM: "
            "train one first (e.g. `attngan-train experiment=shapes_damsm export_path=outputs/shapes/damsm.ckpt`)"
            " and pass model.damsm_checkpoint=<that file>."
        )
    damsm = load_damsm(str(damsm_checkpoint))
    if damsm.vocab.to_list() != vocab:
        raise VocabularyMismatchError(
            f"the DAMSM checkpoint '{damsm_checkpoint}' was trained on another vocabulary than this dataset's "
            f"({vocabulary_difference(damsm.vocab.to_list(), vocab)}). Word ids would mean different "
            "words. Use the DAMSM trained on this dataset (same captions), or train one: "
            "`attngan-train experiment=<dataset>_damsm`."
        )
    return damsm


__all__ = ["DAMSMBundle", "DAMSMModule", "load_damsm", "load_frozen_damsm", "vocabulary_difference"]
