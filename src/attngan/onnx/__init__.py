"""ONNX: export the text encoder and generator (:func:`export_onnx`, needs torch) and run them with
:class:`OnnxPipeline` (onnxruntime, numpy and PIL only: importing this package does not import torch).
See docs/onnx.md."""

from __future__ import annotations

from typing import Any

from attngan.onnx.runtime import OnnxGenerationResult, OnnxPipeline, array_to_pil

__all__ = ["OnnxGenerationResult", "OnnxPipeline", "array_to_pil", "export_onnx"]


def __getattr__(name: str) -> Any:  # lazy: export needs torch, the runtime must not import it
    if name == "export_onnx":
        from attngan.onnx.export import export_onnx

        return export_onnx
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
