"""Building blocks shared by the generator and the discriminators (docs/ARCHITECTURE.md "Models").

Every block keeps the release's order of operations; attribute names (``conv``, ``bn``, ...) are ours,
and :mod:`attngan.compat` maps them onto the release's ``nn.Sequential`` indices.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GLU(nn.Module):
    """Gated linear unit over channels: ``a * sigmoid(b)`` where ``[a; b]`` splits dim 1 in half.

    Shapes: ``(B, 2C, ...) -> (B, C, ...)``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels = x.size(1)
        if channels % 2 != 0:
            raise ValueError(f"GLU needs an even number of channels, got {channels} (shape {tuple(x.shape)})")
        half = channels // 2
        return x[:, :half] * torch.sigmoid(x[:, half:])


def conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    """3x3 convolution, stride 1, padding 1, no bias (the release's ``conv3x3``)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, bias: bool = False) -> nn.Conv2d:
    """1x1 convolution, no bias by default (the release's ``conv1x1``)."""
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0, bias=bias)


def with_coordinates(x: torch.Tensor) -> torch.Tensor:
    """CoordConv (Liu et al. 2018): append x and y coordinate channels in [-1, 1].

    Shapes: ``(B, C, H, W) -> (B, C + 2, H, W)``; channel ``C`` is x (left -1, right 1), ``C + 1`` is y (top -1).
    """
    batch, _, height, width = x.shape
    ys = torch.linspace(-1.0, 1.0, height, device=x.device, dtype=x.dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=x.device, dtype=x.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")  # (H, W) each
    coords = torch.stack((grid_x, grid_y)).expand(batch, -1, -1, -1)  # (B, 2, H, W)
    return torch.cat((x, coords), dim=1)


class UpBlock(nn.Module):
    """Nearest ×2 upsampling -> conv3x3 to ``2 * out_channels`` -> BatchNorm -> GLU.

    Release: ``upBlock`` (Sequential: 0 Upsample, 1 conv, 2 BN, 3 GLU).

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, 2H, 2W)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels * 2)
        self.bn = nn.BatchNorm2d(out_channels * 2)
        self.glu = GLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        return self.glu(self.bn(self.conv(x)))


class ResidualBlock(nn.Module):
    """conv3x3 (C -> 2C) -> BN -> GLU -> conv3x3 (C -> C) -> BN, added to the input; no activation after.

    Release: ``ResBlock`` (``block``: 0 conv, 1 BN, 2 GLU, 3 conv, 4 BN).

    Shapes: ``(B, C, H, W) -> (B, C, H, W)``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = conv3x3(channels, channels * 2)
        self.bn1 = nn.BatchNorm2d(channels * 2)
        self.glu = GLU()
        self.conv2 = conv3x3(channels, channels)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.glu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return x + out


class DownBlock(nn.Module):
    """conv4x4 stride 2 (no bias) -> optional BatchNorm -> LeakyReLU(0.2).

    Release: ``downBlock`` and the layers of ``encode_image_by_16times`` (whose first layer has no BN).

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, H/2, W/2)``.
    """

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels) if batch_norm else None
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        return self.act(x)


class Conv3x3Block(nn.Module):
    """conv3x3 (no bias) -> BatchNorm -> LeakyReLU(0.2); keeps the spatial size.

    Release: ``Block3x3_leakRelu`` (Sequential: 0 conv, 1 BN, 2 LeakyReLU).

    Shapes: ``(B, in_channels, H, W) -> (B, out_channels, H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels)
        self.bn = nn.BatchNorm2d(out_channels)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))
