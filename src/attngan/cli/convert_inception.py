"""``attngan-convert-inception-cub``: StackGAN's CUB-fine-tuned Inception (TensorFlow) -> a safetensors file.

Example::

    attngan-convert-inception-cub src=inception_finetuned_models/birds_valid299/model.ckpt \\
        dst=inception_cub.safetensors
    attngan-eval checkpoint=cub.ckpt data=cub data.root=/data/birds max_words=25 \\
        metrics.is.classifier=cub_finetuned metrics.is.weights=inception_cub.safetensors

Reading the checkpoint needs tensorflow (``pip install 'attngan[tf]'``), once; the converted file needs only
torch. The variable mapping is :func:`attngan.metrics.inception_cub.convert_slim_variables`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from attngan.cli.common import hydra_main
from attngan.errors import CheckpointError, ConfigError


def read_tf_checkpoint(src: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Every variable of a TensorFlow checkpoint (V1 or V2; a prefix or its directory) as numpy arrays.

    Raises:
        ConfigError: tensorflow is not installed.
        CheckpointError: nothing readable at ``src``.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up banner is not for our users
    try:
        import tensorflow as tf
    except ImportError as err:
        raise ConfigError(
            "reading StackGAN's TensorFlow checkpoint needs tensorflow: pip install 'attngan[tf]' (or "
            "`uv pip install -e '.[tf]'` in a clone), then run attngan-convert-inception-cub again"
        ) from err
    path = Path(src).expanduser()
    prefix = tf.train.latest_checkpoint(str(path)) if path.is_dir() else str(path)
    try:
        reader = tf.train.load_checkpoint(prefix or str(path))
    except Exception as err:
        raise CheckpointError(
            f"src={src}: no TensorFlow checkpoint readable there ({type(err).__name__}: {' '.join(str(err).split())[:200]});"
            " expected the prefix of StackGAN's birds_valid299/model.ckpt (or its directory)"
        ) from err
    return {name: np.asarray(reader.get_tensor(name)) for name in reader.get_variable_to_shape_map()}


def convert(cfg: DictConfig) -> Path:
    """Convert ``cfg.src`` into ``cfg.dst`` (see the module docstring)."""
    from attngan.metrics.inception_cub import convert_slim_variables, load_cub_inception, save_cub_inception

    variables = read_tf_checkpoint(cfg.src)
    state = convert_slim_variables(variables, use_moving_averages=bool(cfg.use_moving_averages))
    path = save_cub_inception(cfg.dst, state, source=str(cfg.src))
    network = load_cub_inception(path)  # the file the IS metric will load
    print(
        f"wrote {path}: Inception-v3 with {network.fc.out_features} classes ({network.fc.out_features - 1} + "
        f"background) from {len(variables)} TF variables",
        file=sys.stderr,
    )
    print(
        f"next: attngan-eval ... metrics.is.classifier=cub_finetuned metrics.is.weights={path}",
        file=sys.stderr,
    )
    return path


def main(argv: list[str] | None = None) -> None:
    hydra_main("convert_inception_cub", "attngan-convert-inception-cub", convert, argv)


if __name__ == "__main__":
    main()
