"""Callbacks every attngan run gets: bad-sample reports and pre-emption checkpoints."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities.exceptions import SIGTERMException

from attngan.data.datamodule import CaptionDataModule
from attngan.errors import AttnGANError

log = logging.getLogger(__name__)

# exit code of a run stopped by SIGTERM / SIGUSR1 / Ctrl-C after writing its resumable checkpoint (EX_TEMPFAIL)
PREEMPTED_EXIT_CODE = 75
# exit code of a run stopped by Ctrl-C without a new checkpoint (a second Ctrl-C): 128 + SIGINT, as a shell says
INTERRUPTED_EXIT_CODE = 130


class BadSampleReport(Callback):
    """At the end of every epoch, the samples ``data.on_bad_sample=skip`` left out: a warning naming them
    (:meth:`CaptionDataModule.report_bad_samples`) and their count, ``data/bad_samples``, to the loggers."""

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        datamodule = trainer.datamodule
        bad = datamodule.report_bad_samples() if isinstance(datamodule, CaptionDataModule) else []
        if bad:
            for logger in trainer.loggers:
                logger.log_metrics({"data/bad_samples": float(len(bad))}, step=trainer.global_step)


class PreemptionCheckpoint(Callback):
    """SIGTERM, Ctrl-C (SIGINT) and SIGUSR1 outside SLURM (where Lightning requeues by itself) save ``last.ckpt``
    and stop.

    Lightning turns SIGTERM into a ``SIGTERMException`` at the next batch boundary, on every rank; this
    callback then writes a resumable checkpoint (atomically) over ``checkpoints/last.ckpt``. The console
    script exits with :data:`PREEMPTED_EXIT_CODE`. Resume with ``ckpt_path=<run dir>/checkpoints/last.ckpt``:
    the checkpoint holds the training loader's place in the epoch, so the resumed run carries on with the
    next batch and ends bit-identical to an uninterrupted one (on CPU with ``trainer.deterministic=true``).
    A non-finite loss not yet checked stops the save (the module raises): the file keeps the last good state.
    Ctrl-C is SIGTERM's twin (Lightning's own KeyboardInterrupt path saves nothing and exits 1); a second Ctrl-C
    stops at once, without the checkpoint.
    """

    def __init__(self) -> None:
        self._previous: Callable[[int, FrameType | None], Any] | int | None = None
        self._previous_sigint: Callable[[int, FrameType | None], Any] | int | None = None
        self.interrupted = False  # by Ctrl-C (train() says so)
        # why the pre-emption checkpoint was not written (a non-finite loss): train() reports it instead
        self.save_error: AttnGANError | None = None

    def on_fit_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        from lightning.fabric.plugins.environments import SLURMEnvironment

        self._catch_ctrl_c(trainer)
        if isinstance(trainer._accelerator_connector.cluster_environment, SLURMEnvironment):
            return
        try:
            self._previous = signal.getsignal(signal.SIGUSR1)

            def _on_sigusr1(signum: int, frame: FrameType | None) -> None:
                log.info("received SIGUSR1: saving a resumable checkpoint at the next batch boundary")
                trainer._signal_connector.received_sigterm = True

            signal.signal(signal.SIGUSR1, _on_sigusr1)
        except ValueError:  # not the main thread: leave signals alone
            self._previous = None

    def _catch_ctrl_c(self, trainer: Trainer) -> None:
        self.interrupted = False
        pid = os.getpid()
        try:
            self._previous_sigint = signal.getsignal(signal.SIGINT)

            def _on_sigint(signum: int, frame: FrameType | None) -> None:
                if os.getpid() != pid:  # a data-loader worker (forked with this handler): the trainer decides
                    return
                # the second Ctrl-C: stop now (a KeyboardInterrupt would go to Lightning)
                if self.interrupted:
                    raise SystemExit(INTERRUPTED_EXIT_CODE)
                self.interrupted = True
                log.warning(
                    "Ctrl-C: saving a resumable checkpoint after this batch (Ctrl-C again stops at once)"
                )
                trainer._signal_connector.received_sigterm = True

            signal.signal(signal.SIGINT, _on_sigint)
        except ValueError:  # not the main thread: leave signals alone
            self._previous_sigint = None

    def _restore_handler(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGUSR1, self._previous)
            self._previous = None
        if self._previous_sigint is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._restore_handler()

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        self._restore_handler()  # on_fit_end does not run after an exception
        if not isinstance(exception, SIGTERMException):
            return
        path = Path(trainer.default_root_dir) / "checkpoints" / "last.ckpt"
        try:
            trainer.save_checkpoint(path)
        except AttnGANError as err:  # raised here, it would skip Lightning's clean-up; the old file stays
            self.save_error = err
            return
        log.debug("pre-empted: resumable checkpoint written to %s", path)  # attngan-train says it, once
