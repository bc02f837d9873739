"""Figures: sample grids with captions and word-attention maps (paper Fig. 1/4 style)."""

from attngan.viz.attention import (
    TopKAttention,
    attention_figure,
    attention_maps_topk,
    overlay_attention,
    smooth_upsample,
)
from attngan.viz.images import default_font, sample_grid, save_image, tensor_to_pil, wrap_text

__all__ = [
    "TopKAttention",
    "attention_figure",
    "attention_maps_topk",
    "default_font",
    "overlay_attention",
    "sample_grid",
    "save_image",
    "smooth_upsample",
    "tensor_to_pil",
    "wrap_text",
]
