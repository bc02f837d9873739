"""notebooks/quickstart.ipynb: committed without outputs, and runs end to end (tiny training) in the venv's kernel."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "quickstart.ipynb"
KERNEL_NAME = "attngan-test-venv"


def test_notebook_is_committed_without_outputs() -> None:
    import nbformat

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


@pytest.fixture
def venv_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernel spec that starts this interpreter (the venv's), found first through ``JUPYTER_PATH``.

    A ``python3`` spec installed on the machine could point at another Python without attngan, so the test
    never relies on it. Jupyter and IPython state goes to ``tmp_path`` (works with a read-only home).
    """
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "attngan (test venv)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return KERNEL_NAME


def test_notebook_runs_with_tiny_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, venv_kernel: str
) -> None:
    import nbformat
    from nbclient import NotebookClient

    root = tmp_path / "repo"  # no outputs/shapes/*.ckpt here: the notebook trains its own tiny models
    root.mkdir()
    monkeypatch.setenv("ATTNGAN_NOTEBOOK_TINY", "1")
    monkeypatch.setenv("ATTNGAN_ROOT", str(root))
    monkeypatch.setenv("ATTNGAN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv("WANDB_MODE", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=venv_kernel,
        timeout=300,
        resources={"metadata": {"path": str(root)}},
    )
    client.execute()

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if out.output_type == "display_data" and "image/png" in out.data]
    assert len(images) >= 4  # data grid, two attention figures, the colour swap
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "[['zebra']]" in text  # the unknown word is reported
    assert "error: caption 'zebras everywhere' has no word this model knows" in text
    assert (root / "outputs" / "notebook" / "attngan.ckpt").exists()
    assert (root / "outputs" / "notebook" / "attngan" / "evaluation.jsonl").exists()
