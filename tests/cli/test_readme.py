"""The README's quick start runs as written, so the documented path cannot rot.

How: every fenced ``bash`` and ``python`` block of the README section "## Quick start" is taken in order and
run in one fresh directory (``.venv`` linked into it, so ``source .venv/bin/activate`` works as written; the
shapes cache in the test's tmp dir). The commands are the README's own, character for character, with one
documented exception — the append list below: to a line that starts with a program of :data:`APPEND`, the
overrides listed for it (and for the experiment the line names) are appended, which makes each run tiny
(one short epoch of tiny networks on a small shapes set, a small evaluation). Appended Hydra overrides win over
the README's own values (``num_images=2000 ... num_images=48``: the last one counts). Nothing else is changed:
a renamed key, a wrong path or a missing step in the README fails this test.

Where the lines run (a reader pastes them into one terminal; starting Python, torch and Hydra again for each
line would cost seconds): shell lines run in ``bash`` (``set -euo pipefail``), the environment they leave
carried over to the next lines, as in one terminal. The first console-script line runs there too, as an
installed script found on the ``PATH`` the activation set; every later plain ``attngan-*`` line (no pipe,
redirection, variable or glob) is split as the shell splits it (:func:`shlex.split`) and its ``main()`` called
in-process (:func:`helpers.cli.run_in_process`), and the ``python`` blocks are executed in-process, in that
directory with that environment. Each step must exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.cli import console_scripts, run_in_process
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


def run_in_bash(lines: list[str], cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """``lines`` in one ``bash -c`` (``set -euo pipefail``); returns the environment they leave behind."""
    left = cwd.parent / f"{cwd.name}.env"  # outside the reader's directory
    script = "\n".join(["set -euo pipefail", *lines, f"env -0 > {shlex.quote(str(left))}"])
    proc = subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert proc.returncode == 0, f"README lines {lines} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return dict(item.split("=", 1) for item in left.read_text().split("\0") if "=" in item)


def run_python(code: str, cwd: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A README ``python`` block, executed in-process in ``cwd`` with ``env``."""
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        for name in set(os.environ) - set(env):
            patch.delenv(name)
        for name, value in env.items():
            patch.setenv(name, value)
        exec(compile(code, "README.md (quick start, python block)", "exec"), {"__name__": "__main__"})


@pytest.mark.slow
def test_readme_quick_start_runs_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = quick_start_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    env = {
        **os.environ,
        "ATTNGAN_CACHE": str(tmp_path / "cache"),
        "WANDB_MODE": "disabled",
    }
    env.pop("ATTNGAN_ROOT", None)
    env.pop("ATTNGAN_DEBUG", None)
    scripts = console_scripts()
    shell: list[str] = []  # shell lines not run yet
    in_shell = False  # whether a console-script line has run in the shell (the installed script on PATH)
    ran = []
    for language, code in blocks:
        if language == "python":
            env = run_in_bash(shell, tmp_path, env) if shell else env
            shell = []
            run_python(code, tmp_path, env, monkeypatch)
            ran.append("python")
            continue
        for line in code.splitlines():
            words = shlex.split(with_appended_overrides(line), comments=True)
            plain = not re.search(
                r"[|&;<>$`*?]", line
            )  # no pipe, redirection, variable or glob: argv is words
            if words and words[0] in scripts and in_shell and plain:
                env = run_in_bash(shell, tmp_path, env) if shell else env
                shell = []
                done = run_in_process(words, tmp_path, env)
                assert done.returncode == 0, f"README line {line!r} failed:\n{done.stderr[-4000:]}"
                ran.append(words[0])
            else:
                in_shell = in_shell or bool(words and words[0] in scripts)
                shell.append(with_appended_overrides(line))
    if shell:
        run_in_bash(shell, tmp_path, env)
    assert in_shell, "the quick start has no console-script line run in the shell"
    assert "attngan-train" in ran and "python" in ran, ran
    assert (tmp_path / "outputs" / "shapes" / "damsm.ckpt").is_file()
    assert (tmp_path / "outputs" / "shapes" / "attngan.ckpt").is_file()
