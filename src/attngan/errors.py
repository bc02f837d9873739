"""Errors that name the culprit and say what to do.

Every error a user can cause (a wrong path, a bad file, a config that does not fit) derives from
:class:`AttnGANError`. The console scripts print these as one line on stderr and exit with a non-zero code
(2 unless the class says otherwise), without a Python traceback; ``ATTNGAN_DEBUG=1`` shows the traceback.
Mistakes that Hydra, OmegaConf or Lightning report are translated in :mod:`attngan.cli.explain`.
"""

from __future__ import annotations


class AttnGANError(Exception):
    """Base class of the errors a user can cause and fix."""

    exit_code = 2


class ConfigError(AttnGANError):
    """A configuration value is missing, unknown or inconsistent."""


class DataError(AttnGANError):
    """A dataset is missing, incomplete or holds a bad file."""


class BadSampleError(DataError):
    """One sample (image or caption file) cannot be read."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(
            f"{self.path}: {problem}. Fix or remove the file, or set data.on_bad_sample=skip to leave "
            "such samples out (they are counted and listed at the end of each epoch); "
            "`attngan-data check` lists every problem of a dataset at once."
        )


class UnsafePickleError(DataError):
    """A pickle asked for something other than plain data."""


class CheckpointError(AttnGANError):
    """A checkpoint is missing, truncated, corrupt or of the wrong kind."""


class UnknownCaptionError(AttnGANError):
    """A caption has no word the model knows (raised by the PyTorch and the ONNX pipelines)."""


class VocabularyMismatchError(AttnGANError):
    """Two vocabularies that must agree (checkpoint vs dataset, encoder vs captions) differ."""


class WeightsNotFoundError(AttnGANError):
    """Pretrained weights are not on disk; nothing is ever downloaded."""

    def __init__(self, filename: str, searched: list[str], config_key: str, source: str) -> None:
        self.filename = filename
        places = "; ".join(searched)
        super().__init__(
            f"Pretrained weights '{filename}' were not found. Looked in: {places}. "
            f"Put the file in one of those places (e.g. $TORCH_HOME/hub/checkpoints/{filename}) or set "
            f"{config_key}=/path/to/{filename}. The file is {source}. attngan never downloads weights."
        )


class OutputError(ConfigError):
    """An output location (``output_dir``, ``export_path``, ``hydra.run.dir``, ...) cannot be written, holds files
    the command did not write, or is in use by another run."""


class NonFiniteLossError(AttnGANError):
    """A loss became NaN or infinite during training."""

    exit_code = 3
