"""A tiny, randomly initialised CLIP in the Hugging Face layout, written to a directory (nothing downloaded).

``build_tiny_clip(directory)`` saves a ``CLIPModel`` (2 layers, width 32, 32-px images in 8-px patches,
projection 16) and a ``CLIPProcessor`` whose tokenizer knows single lower-case letters, digits and a few
punctuation marks (a character-level BPE vocabulary without merges, written here), so every caption tokenises.
"""

from __future__ import annotations

import json
import string
from pathlib import Path

import torch

__all__ = ["build_tiny_clip"]


def build_tiny_clip(directory: Path, seed: int = 0, image_size: int = 32) -> Path:
    """Write a tiny random CLIP model and processor to ``directory`` and return it."""
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    symbols = list(string.ascii_lowercase + string.digits + ",.;!?'-")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for suffix in ("", "</w>"):
        for symbol in symbols:
            vocab[symbol + suffix] = len(vocab)
    tokenizer_files = directory / "tokenizer_source"
    tokenizer_files.mkdir(exist_ok=True)
    (tokenizer_files / "vocab.json").write_text(json.dumps(vocab))
    (tokenizer_files / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(tokenizer_files / "vocab.json"), str(tokenizer_files / "merges.txt"))
    config = CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            max_position_embeddings=77,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        ),
        vision_config=dict(
            hidden_size=32,
            intermediate_size=37,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=image_size,
            patch_size=8,
        ),
        projection_dim=16,
    )
    torch.manual_seed(seed)
    model = CLIPModel(config).eval()
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    model.save_pretrained(directory)
    CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer).save_pretrained(directory)
    return directory
