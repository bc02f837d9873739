"""``--help`` of every console script, written from its YAML: the docs of a key live next to the key.

The help of ``attngan-<app>`` is made of ``conf/<app>.yaml``:

- its leading comment block (what the command does, usage examples: lines that start with the command);
- every key of the file with its default and the comment lines just above it;
- the config groups of its defaults list with their options (``data: coco | cub | folder | shapes``).

So a new key documented in the YAML is documented in ``--help``, and the examples of an error message
("e.g. attngan-generate checkpoint=...") come from the same lines (:func:`usage_examples`).
"""

from __future__ import annotations

import re
from pathlib import Path

from attngan.config import config_dir

_KEY_LINE = re.compile(r"^(?P<indent>\s*)(?P<key>[A-Za-z_][\w.-]*):(?P<value>.*)$")
_GROUP_LINE = re.compile(r"^\s*-\s*(?P<override>override\s+)?(?P<group>[\w/]+)\s*:\s*(?P<option>\S+)\s*$")


def _read(config_name: str) -> list[str]:
    return Path(config_dir(), f"{config_name}.yaml").read_text(encoding="utf-8").splitlines()


def header(config_name: str) -> list[str]:
    """The leading comment block of ``conf/<config_name>.yaml``, without the ``#`` (``# @package`` left out)."""
    lines = []
    for line in _read(config_name):
        if not line.startswith("#"):
            break
        text = line[1:].removeprefix(" ")
        if not text.startswith("@package"):
            lines.append(text.rstrip())
    return lines


def usage_examples(config_name: str, prog: str) -> list[str]:
    """The example command lines of the header (lines starting with ``prog``; ``\\`` continuations joined,
    trailing ``# comments`` dropped)."""
    examples: list[str] = []
    pending = ""
    for raw in header(config_name):
        text = raw.strip()
        if pending:
            text = pending + " " + text
            pending = ""
        elif not text.startswith(prog + " "):
            continue
        if text.endswith("\\"):
            pending = text[:-1].strip()
            continue
        examples.append(re.sub(r"\s+#.*$", "", text).strip())
    return examples


def key_docs(config_name: str) -> list[tuple[str, str, str]]:
    """``(dotted key, default as written, the comment above it)`` of every key of ``conf/<config_name>.yaml``
    (``defaults`` and ``hydra`` left out), in file order."""
    docs: list[tuple[str, str, str]] = []
    stack: list[tuple[int, str]] = []  # (indent, key) of the enclosing mappings
    comment: list[str] = []
    in_header = True
    for line in _read(config_name):
        stripped = line.strip()
        if stripped.startswith("#"):
            if not in_header:
                comment.append(stripped[1:].strip())
            continue
        in_header = False
        match = _KEY_LINE.match(line)
        if not match:
            comment = []
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = ".".join([k for _, k in stack] + [match["key"]])
        value = re.sub(r"\s+#.*$", "", match["value"]).strip()
        if not value:  # a mapping: its keys follow
            stack.append((indent, match["key"]))
        elif path.split(".")[0] not in ("defaults", "hydra"):
            docs.append((path, value, " ".join(comment)))
        comment = []
    return docs


def config_groups(config_name: str) -> list[tuple[str, str, list[str]]]:
    """``(group, default option, every option)`` for each group of the file's defaults list."""
    conf = Path(config_dir())
    groups = []
    for line in _read(config_name):
        match = _GROUP_LINE.match(line)
        if not match or match["override"] or match["group"].startswith("hydra"):
            continue
        group, default = match["group"], match["option"]
        options = sorted(p.stem for p in (conf / group).glob("*.yaml"))
        if options:
            groups.append((group, default, options))
    if any(re.match(r"^\s*-\s*hydra\s*:", line) for line in _read(config_name)):
        for sub in ("launcher", "sweeper"):
            options = sorted(p.stem for p in (conf / "hydra" / sub).glob("*.yaml"))
            if options:
                groups.append((f"hydra/{sub}", "(Hydra's)", options))
    return groups


def render_help(config_name: str, prog: str) -> str:
    """The text of ``prog --help``."""
    out = [*header(config_name), ""]
    docs = key_docs(config_name)
    if docs:
        out.append("Keys (key=value; default, then what it is):")
        width = min(28, max(len(key) for key, _, _ in docs))
        for key, default, comment in docs:
            out.append(f"  {key:<{width}} {'??? (required)' if default == '???' else default}")
            if comment:
                out.append(f"  {'':<{width}}   {comment}")
        out.append("")
    groups = config_groups(config_name)
    if groups:
        out.append("Groups (group=option; each option is conf/<group>/<option>.yaml):")
        width = max(len(g) for g, _, _ in groups)
        for group, default, options in groups:
            out.append(f"  {group:<{width}} {' | '.join(options)}   (default: {default})")
        out.append("  a group's own keys: <group>.KEY=VALUE; the composed config: add --cfg job")
        out.append("")
    out.append(
        f"Any key can be set as key=value (nested: a.b=value); `{prog} ... --cfg job` prints the composed "
        "config without running. Errors name the culprit without a traceback; ATTNGAN_DEBUG=1 shows it."
    )
    return "\n".join(out)
