"""Progress displays (attngan.progress): plain lines off a terminal, a bar on one, nothing when disabled."""

from __future__ import annotations

import io
import re

import pytest

from attngan.cli.data import main as data_main
from attngan.progress import ENV_VAR, progress, progress_enabled


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_plain_lines_off_a_terminal(monkeypatch):
    seconds = iter(range(0, 10_000, 11))  # each reading of the clock 11 s later: past the 10 s between lines
    monkeypatch.setattr("tqdm.std.time", lambda: float(next(seconds)))
    stream = io.StringIO()
    with progress(total=50, desc="decoding images", unit="img", file=stream, enabled=True) as bar:
        for _ in range(5):
            bar.update(10)
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 5  # one per update (each 11 s after the last line), the last one not twice
    assert re.fullmatch(r"decoding images:  20% 10/50 \[\d\d:\d\d<\d\d:\d\d, .+\]", lines[0]), lines[0]
    assert re.fullmatch(r"decoding images: 100% 50/50 \[\d\d:\d\d<00:00, .+\]", lines[-1]), lines[-1]


def test_a_short_job_writes_only_its_last_line():
    stream = io.StringIO()
    items = list(progress(range(50), desc="decoding images", unit="img", file=stream, enabled=True))
    assert items == list(range(50))
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("decoding images: 100% 50/50 ["), lines


def test_batches_counted_by_their_size():
    stream = io.StringIO()
    batches = [[0] * 4, [0] * 4, [0] * 2]
    assert list(progress(batches, total=10, unit="img", file=stream, enabled=True, count=len)) == batches
    assert len(stream.getvalue().splitlines()) == 1 and stream.getvalue().startswith("100% 10/10 [")
    unknown = io.StringIO()  # no total: the count and the rate; mininterval=0: a line per batch
    list(progress(batches, unit="img", file=unknown, enabled=True, count=len, mininterval=0))
    assert [line.split(" [")[0] for line in unknown.getvalue().splitlines()] == ["4img", "8img", "10img"]


def test_bar_on_a_terminal():
    stream = FakeTerminal()
    for _ in progress(range(20), desc="FID reference images", unit="img", file=stream, enabled=True):
        pass
    text = stream.getvalue()
    assert "\r" in text and "FID reference images" in text
    assert "20/20" in text and "img/s" in text and "100%" in text


def test_disabled_and_default(monkeypatch):
    for enabled in (False, None):  # None: a library call, silent by default
        stream = FakeTerminal()
        assert list(progress(range(5), file=stream, enabled=enabled)) == list(range(5))
        assert stream.getvalue() == ""
    monkeypatch.setenv(ENV_VAR, "0")
    stream = io.StringIO()
    with progress(total=5, file=stream, enabled=True) as bar:
        bar.update(5)
    assert stream.getvalue() == "" and not progress_enabled(True)
    monkeypatch.setenv(ENV_VAR, "1")
    assert progress_enabled(None) and not progress_enabled(False)
    stream = io.StringIO()
    list(progress(range(5), file=stream))
    assert stream.getvalue().startswith("100% 5/5 [")


def test_data_check_cli_shows_progress(mini_cub, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        data_main(["check", "data=cub", f"data.root={mini_cub}", "manifest=m.json", "workers=1"])
    captured = capsys.readouterr()
    assert "\r" not in captured.err
    last = [line for line in captured.err.splitlines() if line.startswith("decoding images:")][-1]
    assert re.match(r"decoding images: 100% (\d+)/\1 \[\d\d:\d\d<00:00, [\d.]+img/s\]", last), captured.err
    with pytest.raises(SystemExit):
        data_main(["check", "data=cub", f"data.root={mini_cub}", "manifest=m.json", "progress=false"])
    assert "decoding images" not in capsys.readouterr().err
