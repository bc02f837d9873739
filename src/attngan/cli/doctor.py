"""``attngan-doctor``: what this machine can run, and what is missing for the rest (with the fix).

Examples::

    attngan-doctor                                   # the environment and every shipped experiment
    attngan-doctor experiment=cub_attngan2 data.root=/data/birds   # exit 0 only if that experiment can run

Checks torch / CUDA / MPS / bf16, free disk, the two Inception files (DAMSM and FID/IS) where the configs look
for them, the data each experiment expects (found / missing / incomplete), the DAMSM checkpoint an AttnGAN
experiment reads, and the W&B mode. Nothing is downloaded, nothing is written. Exit code 0 when everything
asked for is there (without ``experiment=``: the environment alone), 1 otherwise, 2 for a bad argument.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from attngan.cli.common import report
from attngan.cli.explain import App, check_accelerator, check_checkpoints, explain
from attngan.config import compose_config, config_dir
from attngan.errors import AttnGANError, ConfigError
from attngan.schemas import device_problem

PROG = "attngan-doctor"
DAMSM_INCEPTION = "inception_v3_google-0cc3c7bd.pth"
FID_INCEPTION = "weights-inception-2015-12-05-6726825d.pth"
DOCS = "docs/data-and-weights.md"
# paths below data.root that each dataset cannot do without (alternatives: any one of the tuples suffices)
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "cub": [
        ("train/filenames.pickle",),
        ("test/filenames.pickle",),
        ("text",),
        ("CUB_200_2011/images",),
        ("CUB_200_2011/images.txt",),
        ("CUB_200_2011/bounding_boxes.txt",),
    ],
    "coco": [
        ("train/filenames.pickle", "annotations/captions_train2014.json"),
        ("test/filenames.pickle", "annotations/captions_val2014.json"),
        ("images", "train2014"),
    ],
    "folder": [("images",), ("captions",)],
}


@dataclass
class Verdict:
    """What one experiment needs and does not find here."""

    name: str
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing


def _select(cfg: DictConfig, key: str) -> Any:
    try:
        return OmegaConf.select(cfg, key, throw_on_resolution_failure=True)
    except Exception:
        return None


def environment_lines() -> list[str]:
    """torch, devices, bf16, disk and W&B, one fact per line."""
    import torch

    lines = [
        f"python {platform.python_version()}, torch {torch.__version__} "
        f"({'CUDA ' + torch.version.cuda + ' build' if torch.version.cuda else 'CPU-only build'})"
    ]
    if torch.cuda.is_available():
        names = {torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())}
        bf16 = (
            "bf16 supported" if torch.cuda.is_bf16_supported() else "no bf16 (use trainer.precision=16-mixed)"
        )
        lines.append(f"CUDA: {torch.cuda.device_count()} device(s) ({', '.join(sorted(names))}); {bf16}")
    else:
        lines.append(
            "CUDA: no device visible (trainer=gpu cannot run; trainer.accelerator=auto uses the CPU)"
        )
    lines.append(f"MPS: {'available' if device_problem('mps') is None else 'not available'}")
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    native = any(f in flags for f in ("avx512_bf16", "amx_bf16"))
    lines.append(
        f"CPU: {os.cpu_count()} cores; bf16 {'native (trainer.precision=bf16-mixed is faster)' if native else 'emulated (fp32 is faster)'}"
    )
    for label, where in (("outputs", Path.cwd()), ("cache", Path(os.environ.get("ATTNGAN_CACHE", ".cache")))):
        existing = next((p for p in [where, *where.resolve().parents] if p.exists()), Path("/"))
        lines.append(f"free disk ({label}, {where}): {shutil.disk_usage(existing).free / 2**30:.1f} GiB")
    mode = (
        os.environ.get("WANDB_MODE")
        or "unset (logger=wandb logs online; WANDB_MODE=offline keeps runs local)"
    )
    lines.append(f"W&B: WANDB_MODE={mode}; the default logger is csv (logger=wandb to use W&B)")
    return lines


def hub_checkpoint(filename: str) -> Path:
    """``$TORCH_HOME/hub/checkpoints/<filename>`` (torch's hub cache, where the configs look by default)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def weights_line(label: str, filename: str, configured: str | None, needed_by: str) -> tuple[bool, str]:
    """Whether an Inception file is where the configs look, and a line saying so (with the fix)."""
    path = Path(configured) if configured else hub_checkpoint(filename)
    if path.is_file():
        return True, f"{label} ({filename}): found at {path}"
    return False, f"{label} ({filename}): missing at {path}; {needed_by}. Where to get it: {DOCS}"


def data_problem(data: DictConfig | dict[str, Any]) -> str | None:
    """Why the dataset of a ``data`` config is not usable here (None: found, or generated on first use)."""
    data = OmegaConf.create(dict(data)) if isinstance(data, dict) else data
    name, root = str(_select(data, "name") or ""), _select(data, "root")
    if name == "shapes" and not root:
        return None  # generated into the cache on first use
    if not root:
        return f"data.root is not set for data={name}"
    root = Path(str(root))
    check = f"`attngan-data check data={name} data.root={root}` lists every problem"
    if not root.is_dir():
        fix = "`attngan-data shapes root=DIR`" if name == "shapes" else f"unpack it there ({DOCS})"
        return f"data {root} not found: {fix} or set data.root=DIR"
    absent = [alts[0] for alts in REQUIRED.get(name, []) if not any((root / a).exists() for a in alts)]
    if absent:
        return f"data {root} incomplete (no {', '.join(absent)}): {check}"
    return None


def check_experiment(name: str, overrides: list[str]) -> Verdict:
    """Compose ``experiment=name`` (+ ``overrides``) and list what it needs that is not here."""
    cfg = compose_config("train", [f"experiment={name}", *overrides])
    verdict = Verdict(name)
    problem = data_problem(cfg.data)
    if problem:
        verdict.missing.append(problem)
    for check in (check_checkpoints, lambda cfg: check_accelerator(cfg, App(PROG, "train"))):
        try:  # the checkpoints it reads (the DAMSM of an AttnGAN), the accelerator it asks for
            check(cfg)
        except AttnGANError as err:
            verdict.missing.append(str(err))
    model = str(_select(cfg, "model._target_") or "")
    encoder = str(_select(cfg, "model.image_encoder._target_") or "")
    if (
        model.endswith("DAMSMModule")
        and encoder.endswith("InceptionImageEncoder")
        and _select(cfg, "model.image_encoder.pretrained")
    ):
        found, line = weights_line(
            "DAMSM Inception-v3",
            DAMSM_INCEPTION,
            _select(cfg, "model.image_encoder.weights_path"),
            "set model.image_encoder.weights_path=FILE or put it there",
        )
        if not found:
            verdict.missing.append(line)
    if model.endswith("AttnGANModule") and _select(cfg, "data.name") != "shapes":
        found, _ = weights_line(
            "FID/IS", FID_INCEPTION, _select(cfg, "callbacks.evaluation.inception_weights"), ""
        )
        if not found:
            verdict.notes.append(f"IS/FID skipped during training without {FID_INCEPTION}")
    return verdict


def experiments() -> list[str]:
    return sorted(p.stem for p in (Path(config_dir()) / "experiment").glob("*.yaml"))


def run(argv: list[str]) -> int:
    """Print the report; the exit code (0: everything asked for is there)."""

    asked = [a.split("=", 1)[1] for a in argv if a.startswith("experiment=")]
    overrides = [a for a in argv if not a.startswith("experiment=")]
    unknown = [a for a in asked if a not in experiments()]
    if unknown:
        raise ConfigError(
            f"experiment={unknown[0]}: there is no conf/experiment/{unknown[0]}.yaml; choose one of "
            f"{', '.join(experiments())}"
        )
    print("Environment:")
    for line in environment_lines():
        print(f"  {line}")
    print("Weights (looked for where the configs look; nothing is downloaded):")
    for label, filename, needed_by in (
        ("DAMSM Inception-v3", DAMSM_INCEPTION, "needed by *_damsm on real images (cub, coco, folder)"),
        ("FID/IS Inception", FID_INCEPTION, "needed by IS/FID in attngan-eval and the evaluation callback"),
    ):
        print(f"  {weights_line(label, filename, None, needed_by)[1]}")
    print("Experiments (attngan-train experiment=NAME):")
    verdicts = [check_experiment(name, overrides) for name in (asked or experiments())]
    width = max(len(v.name) for v in verdicts)
    for v in verdicts:
        notes = f" ({'; '.join(v.notes)})" if v.notes else ""
        print(f"  {v.name:<{width}}  {'ready' if v.ready else 'cannot run:'}{notes}")
        for item in v.missing:
            print(f"  {'':<{width}}    - {item}")
    if asked:
        return 0 if all(v.ready for v in verdicts) else 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print(__doc__.split("\n\n", 1)[1].replace("::", ":"))
        return 0
    try:
        code = run(args)
    except Exception as err:  # ours, or Hydra's for a bad override: one line
        known = explain(err, App(PROG, "train", args))
        if known is None:
            raise
        report(PROG, known, debug_hint=False)
    sys.exit(code)


if __name__ == "__main__":
    main()
