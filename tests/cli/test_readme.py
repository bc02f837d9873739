"""The README's quick start runs as written, so the documented path cannot rot.

How: every fenced ``bash`` and ``python`` block of the README section "## Quick start" is taken in order and
run in one shell session in one fresh directory (``.venv`` linked into it, so ``source .venv/bin/activate`` works as written; the
shapes cache in the test's tmp dir). The commands are the README's own, character for character, with one
documented exception — the append list below: to a line that starts with a program of :data:`APPEND`, the
overrides listed for it (and for the experiment the line names) are appended, which makes each run tiny
(one short epoch of tiny networks on a small shapes set, a small evaluation). Appended Hydra overrides win over
the README's own values (``num_images=2000 ... num_images=48``: the last one counts). Nothing else is changed:
a renamed key, a wrong path or a missing step in the README fails this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.training import TINY_DAMSM, TINY_DATA

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

TINY_TRAINER = (
    "trainer.max_epochs=1",
    "trainer.limit_train_batches=2",
    "trainer.limit_val_batches=2",
    "trainer.enable_model_summary=false",
    "trainer.accelerator=cpu",
)
# program (or "program experiment=NAME") -> overrides appended to each of its command lines
APPEND: dict[str, tuple[str, ...]] = {
    "attngan-train experiment=shapes_damsm": (
        *TINY_DATA,
        *TINY_TRAINER,
        *(o for o in TINY_DAMSM if not o.startswith("experiment=")),  # the README line names the experiment
    ),
    "attngan-train experiment=shapes_attngan": (
        *TINY_DATA,
        *TINY_TRAINER,
        "model.generator.ngf=4",
        "model.generator.embedding_dim=32",
        "model.discriminator.ndf=4",
        "model.num_sample_captions=2",
        "callbacks.evaluation.num_images=16",
    ),
    "attngan-eval": ("num_images=16", "batch_size=16", "metrics.num_candidates=10"),
}


def quick_start_blocks(readme: str) -> list[tuple[str, str]]:
    """``(language, code)`` of every ``bash`` / ``python`` block of the "## Quick start" section, in order."""
    section = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, flags=re.S | re.M)
    assert section, "README.md has no '## Quick start' section"
    return re.findall(r"^```(bash|python)\n(.*?)^```", section.group(1), flags=re.S | re.M)


def with_appended_overrides(line: str) -> str:
    """``line`` with the overrides of :data:`APPEND` that match it appended."""
    words = line.split()
    if not words:
        return line
    extra: list[str] = []
    for pattern, overrides in APPEND.items():
        program, *required = pattern.split()
        if words[0] == program and all(r in words for r in required):
            extra += overrides
    return " ".join([line.rstrip(), *extra]) if extra else line


def test_the_append_list_touches_only_documented_programs() -> None:
    assert with_appended_overrides("attngan-eval checkpoint=x num_images=2000").endswith(
        "num_images=16 batch_size=16 metrics.num_candidates=10"
    )
    assert with_appended_overrides("attngan-generate checkpoint=x") == "attngan-generate checkpoint=x"
    blocks = quick_start_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert any(lang == "bash" for lang, _ in blocks)


@pytest.mark.slow
def test_readme_quick_start_runs_as_written(tmp_path: Path) -> None:
    blocks = quick_start_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {
        **os.environ,
        "ATTNGAN_CACHE": str(tmp_path / "cache"),
        "WANDB_MODE": "disabled",
        "OMP_NUM_THREADS": "2",
    }
    env.pop("ATTNGAN_ROOT", None)
    env.pop("ATTNGAN_DEBUG", None)
    # one shell session, as a reader pastes the blocks into one terminal (the activation carries over)
    script = ["set -euo pipefail"]
    for number, (language, code) in enumerate(blocks):
        script.append(f"echo '--- README quick-start block {number}' >&2")
        if language == "bash":
            script += [with_appended_overrides(line) for line in code.splitlines()]
        else:
            script += ["python - <<'README_PYTHON'", code.rstrip("\n"), "README_PYTHON"]
    proc = subprocess.run(
        ["bash", "-c", "\n".join(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert (tmp_path / "outputs" / "shapes" / "damsm.ckpt").is_file()
    assert (tmp_path / "outputs" / "shapes" / "attngan.ckpt").is_file()
