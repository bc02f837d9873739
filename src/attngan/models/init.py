"""Weight initialisation of the generator and the discriminators (docs/ARCHITECTURE.md "Models")."""

from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

_ORTHOGONAL_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)


def init_weights(module: nn.Module) -> nn.Module:
    """Initialise every sub-module in place: orthogonal weights (gain 1) for convolutions and linear
    layers, BatchNorm weight ~ N(1, 0.02), all biases 0.

    The release (``miscc/utils.py: weights_init``) zeroes only linear and BatchNorm biases and leaves
    convolution biases at PyTorch's default; here every bias starts at 0 (the only biased
    convolutions are the discriminators' logit layers). Embeddings and RNNs are left alone.

    Args:
        module: network to initialise (its sub-modules are visited recursively).

    Returns:
        The same module, for chaining.
    """
    for m in module.modules():
        if isinstance(m, _ORTHOGONAL_TYPES):
            nn.init.orthogonal_(m.weight, gain=1.0)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BatchNorm) and m.affine:
            nn.init.normal_(m.weight, mean=1.0, std=0.02)
            nn.init.zeros_(m.bias)
    return module
