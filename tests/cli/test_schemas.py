"""Every typed key of every app is refused at composition when its value is wrong: exit code 2, one line naming the
full key, no traceback, nothing written.

The cases are generated from the schemas (:mod:`attngan.schemas`): for every int, float, bool, choice, device and
path key of each app (and the training keys of :data:`~attngan.schemas.SHARED_CHECKS`), a value of the wrong type
and, where the key has bounds, a value just out of range. A key added to a schema is tested without a line here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from attngan.config import compose_config, dotted_keys
from attngan.schemas import SCHEMAS, Check, checks_for
from helpers.cli import run_in_process

# the command line each app needs besides the key under test ({file}: an existing file, {tmp}: the case's folder)
APPS = {
    "generate": ("attngan-generate", "checkpoint={file}", "captions=[a red circle]", "output_dir={tmp}/out"),
    "eval": ("attngan-eval", "checkpoint={file}", "output_dir={tmp}/out"),
    "export": ("attngan-export", "checkpoint={file}", "output={tmp}/out"),
    "demo": ("attngan-demo", "checkpoint={file}"),
    "reproduce": ("attngan-reproduce", "plan_only=true", "output_dir={tmp}/out"),
    "data_tool": ("attngan-data", "shapes", "root={tmp}/out"),
    "train": ("attngan-train", "experiment=shapes_damsm", "hydra.run.dir={tmp}/run"),
}
KINDS = ("int", "float", "bool", "device", "file", "dir", "path")


def bad_values(check: Check) -> list[str]:
    """Values ``check`` must refuse: the wrong type, then each bound crossed."""
    if check.choices:
        return ["nonsense"]
    if check.kind == "device":
        import torch

        return ["gpu"] + ([] if torch.cuda.is_available() else ["cuda"])
    if check.kind in ("file", "path"):
        return ["{tmp}/nowhere"] + (["{tmp}"] if check.kind == "file" else [])
    if check.kind == "dir":
        return ["{tmp}/nowhere", "{file}"]
    if check.kind == "bool":
        return ["maybe"]
    values = ["abc"]
    for bound, step in ((check.ge, -1), (check.gt, 0), (check.le, 1), (check.lt, 0)):
        if bound is not None:
            value = bound + step if check.kind == "int" or step == 0 else bound + step * 0.5
            values.append(str(int(value) if float(value).is_integer() else value))
    return values


def _composed_keys(app: str) -> set[str]:
    overrides = [a.format(file="f", tmp="t") for a in APPS[app][1:] if "=" in a]
    config = "data_tool" if app == "data_tool" else app
    return set(dotted_keys(compose_config(config, [o for o in overrides if not o.startswith("hydra.")])))


def _cases() -> list[tuple[str, str, str]]:
    cases = []
    for app in APPS:
        keys = _composed_keys(app)
        checks = checks_for(app)
        for key, check in sorted(checks.items()):
            if key not in keys or not (check.kind in KINDS or check.choices):
                continue
            cases += [(app, key, value) for value in bad_values(check)]
    return cases


CASES = _cases()


def test_every_app_has_a_schema_and_every_typed_key_a_case() -> None:
    assert set(SCHEMAS) == set(APPS) - {"train"}
    tested = {(app, key) for app, key, _ in CASES}
    for app in SCHEMAS:
        composed = _composed_keys(app)  # once per app: composing is the slow part
        for key, check in checks_for(app).items():
            if key in composed and (check.kind in KINDS or check.choices):
                assert (app, key) in tested, (app, key)
    # the table rows of the issue
    for row in (
        ("generate", "seed", "abc"),
        ("generate", "num_images_per_caption", "abc"),
        ("demo", "port", "abc"),
        ("eval", "num_images", "0"),
        ("eval", "data.batch_size", "0"),
        ("train", "trainer.max_epochs", "abc"),
        ("train", "data.num_images", "0"),
        ("generate", "device", "gpu"),
        ("generate", "captions_file", "{tmp}"),
    ):
        assert row in CASES, row


@pytest.mark.parametrize(("app", "key", "value"), CASES, ids=[f"{a}-{k}={v}" for a, k, v in CASES])
def test_a_wrong_value_is_one_line_before_any_work(app: str, key: str, value: str, tmp_path: Path) -> None:
    case = tmp_path / "case"
    case.mkdir()
    checkpoint = case / "model.ckpt"
    checkpoint.write_bytes(b"never read: the command stops before")
    fill = {"file": str(checkpoint), "tmp": str(case)}
    argv = [a.format(**fill) for a in APPS[app]] + [f"{key}={value.format(**fill)}"]
    env = {"ATTNGAN_CACHE": str(tmp_path / "cache"), "ATTNGAN_ROOT": str(case), "OMP_NUM_THREADS": "1"}
    proc = run_in_process(argv, cwd=case, env=env)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{argv[0]}: error: "), lines[0]
    assert f"{key}=" in lines[0], lines[0]
    # nothing written: no data generated, no run directory, no output
    assert not (tmp_path / "cache").exists()
    assert sorted(p.name for p in case.iterdir()) == ["model.ckpt"], os.listdir(case)


def test_device_cuda_without_cuda_says_to_use_cpu_or_auto(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"x")
    for argv in (
        ("attngan-generate", f"checkpoint={checkpoint}", "captions=[a red circle]", "device=cuda"),
        ("attngan-eval", f"checkpoint={checkpoint}", "device=cuda:1"),
        ("attngan-demo", f"checkpoint={checkpoint}", "device=cuda"),
    ):
        proc = run_in_process(argv, cwd=tmp_path, env={"ATTNGAN_CACHE": str(tmp_path / "cache")})
        assert proc.returncode == 2, proc.stderr
        line = proc.stderr.strip()
        assert "no CUDA device is visible" in line and "device=cpu" in line and "device=auto" in line, line


def test_messages_say_what_was_given_and_what_is_accepted(tmp_path: Path) -> None:
    checkpoint = tmp_path / "model.ckpt"
    checkpoint.write_bytes(b"x")
    expected = {
        ("attngan-generate", "num_images_per_caption=two"): "takes an integer >= 1",
        ("attngan-demo", "port=abc"): "takes an integer >= 1 and <= 65535",
        ("attngan-export", "format=zip"): "takes one of hf, onnx",
        ("attngan-generate", f"captions_file={tmp_path}"): "is a directory",
    }
    needs = {
        "attngan-generate": ("captions=[a red circle]",),
        "attngan-export": (f"output={tmp_path}/out",),
        "attngan-demo": (),
    }
    for (prog, override), text in expected.items():
        argv = (prog, f"checkpoint={checkpoint}", *needs[prog], override)
        proc = run_in_process(argv, cwd=tmp_path, env={"ATTNGAN_CACHE": str(tmp_path / "cache")})
        assert proc.returncode == 2 and text in proc.stderr and override in proc.stderr, proc.stderr


def test_train_refuses_before_generating_the_dataset(tmp_path: Path) -> None:
    """The two training rows of the issue: no "Generating the shapes dataset" line, the full key named."""
    for override, text in (
        ("trainer.max_epochs=abc", "trainer.max_epochs"),
        ("data.num_images=-10", "data.num_images"),
    ):
        proc = run_in_process(
            ("attngan-train", "experiment=shapes_damsm", override),
            cwd=tmp_path,
            env={"ATTNGAN_CACHE": str(tmp_path / "cache"), "ATTNGAN_ROOT": str(tmp_path)},
        )
        assert proc.returncode == 2, proc.stderr
        assert "Generating" not in proc.stdout + proc.stderr
        assert f"{text}=" in proc.stderr and "takes an integer" in proc.stderr
        assert not (tmp_path / "cache").exists() and not (tmp_path / "outputs").exists()


def test_shared_choices_match_the_library() -> None:
    """The choices the schemas declare are the ones the library implements."""
    from attngan.evaluation.paper import COMPARE_CHOICES
    from attngan.metrics.fid import FID_PROTOCOLS
    from attngan.metrics.r_precision import R_PRECISION_PROTOCOLS

    shared = checks_for("eval")
    assert set(shared["metrics.fid.protocol"].choices) == set(FID_PROTOCOLS)
    assert set(shared["protocol"].choices) == set(FID_PROTOCOLS)
    assert set(shared["metrics.r_precision.protocol"].choices) == set(R_PRECISION_PROTOCOLS)
    assert set(shared["compare"].choices) == set(COMPARE_CHOICES)


@pytest.mark.parametrize("app", sorted(SCHEMAS))
def test_every_key_of_the_app_yaml_is_in_its_schema(app: str) -> None:
    """A key added to conf/<app>.yaml needs its field in attngan/schemas.py (else the app cannot compose)."""
    import dataclasses

    from omegaconf import OmegaConf

    from attngan.config import config_dir

    shipped = OmegaConf.load(Path(config_dir()) / f"{app}.yaml")
    fields = {f.name for f in dataclasses.fields(SCHEMAS[app])}
    assert set(shipped) - {"defaults", "hydra"} <= fields
    assert shipped.defaults[0] == f"{app}_schema"
    compose_config(app)  # the YAML's defaults fit the schema's types


def test_configuration_page_documents_every_key() -> None:
    """docs/configuration.md has a row per schema key and per training key (types, ranges, defaults)."""
    page = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    groups = {"model", "metrics", "data", "paths", "studies", "study"}
    for app in SCHEMAS:
        for key in checks_for(app):
            if key.split(".")[0] not in groups or key in checks_for("train"):
                assert f"| `{key}` |" in page, (app, key)


def test_every_shipped_config_passes_its_own_checks() -> None:
    from attngan.config import config_dir
    from attngan.schemas import check_values

    for experiment in sorted(Path(config_dir(), "experiment").glob("*.yaml")):
        for trainer in ("default", "cpu", "ddp"):
            check_values(
                compose_config("train", [f"experiment={experiment.stem}", f"trainer={trainer}"]), "train"
            )
    for data in ("shapes", "folder", "cub", "coco"):
        for app in ("eval", "data_tool"):
            check_values(compose_config(app, [f"data={data}"]), app)
    for app in ("generate", "export", "demo"):
        check_values(compose_config(app), app)
    check_values(compose_config("reproduce", ["study=all"]), "reproduce")
