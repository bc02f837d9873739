"""Progress displays (attngan.progress): plain lines off a terminal, a bar on one, nothing when disabled."""

from __future__ import annotations

import io
import math
import re

import pytest

from attngan.cli.data import main as data_main
from attngan.progress import ENV_VAR, eta_seconds, format_duration, format_rate, progress, progress_enabled


class FakeTerminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_plain_lines_off_a_terminal():
    stream = io.StringIO()
    items = list(
        progress(range(50), desc="decoding images", unit="img", stream=stream, enabled=True, min_interval=0)
    )
    assert items == list(range(50))
    text = stream.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert len(lines) == 10  # every tenth of the total: 5, 10, ..., 45, then the last line
    assert re.fullmatch(r"decoding images: 5/50 img \(10%\), [\d.]+ img/s, ETA \S+", lines[0]), lines[0]
    last = lines[-1]
    assert re.fullmatch(r"decoding images: 50/50 img \(100%\), [\d.]+ img/s, done in \S+", last), last


def test_a_short_job_writes_only_its_last_line():
    stream = io.StringIO()
    assert (
        len(list(progress(range(50), desc="decoding images", unit="img", stream=stream, enabled=True))) == 50
    )
    lines = stream.getvalue().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("decoding images: 50/50 img (100%), ")
        and "done in" in lines[0]
    )


def test_plain_lines_by_batch_and_by_time(monkeypatch):
    stream = io.StringIO()
    clock = iter(float(t) for t in range(0, 1000, 11))  # every call 11 s later: past the 10 s interval
    monkeypatch.setattr("attngan.progress.time.perf_counter", lambda: next(clock))
    with progress(1000, desc="generating images", unit="img", stream=stream, enabled=True) as bar:
        bar.update(7)  # a tenth is 100 images: only the time is due
        bar.update(7)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("generating images: 7/1000 img (1%), ") and "ETA" in lines[0]
    assert lines[-1].startswith("generating images: 14/1000 img (1%), ") and "done in" in lines[-1]
    counted = io.StringIO()
    batches = [[0] * 4, [0] * 4, [0] * 2]
    list(progress(batches, total=10, unit="img", stream=counted, enabled=True, count=len))
    assert counted.getvalue().splitlines()[-1].startswith("10/10 img (100%)")


def test_bar_on_a_terminal():
    stream = FakeTerminal()
    for _ in progress(range(20), desc="FID reference images", unit="img", stream=stream, enabled=True):
        pass
    text = stream.getvalue()
    assert "\r" in text and "FID reference images" in text
    assert "20/20" in text and "img/s" in text and "100%" in text


def test_disabled_and_default(monkeypatch):
    for enabled in (False, None):  # None: a library call, silent by default
        stream = FakeTerminal()
        assert list(progress(range(5), stream=stream, enabled=enabled)) == list(range(5))
        assert stream.getvalue() == ""
    monkeypatch.setenv(ENV_VAR, "0")
    stream = io.StringIO()
    with progress(5, stream=stream, enabled=True) as bar:
        bar.update(5)
    assert stream.getvalue() == "" and not progress_enabled(True)
    monkeypatch.setenv(ENV_VAR, "1")
    assert progress_enabled(None) and not progress_enabled(False)


def test_format_duration():
    durations = (4.4, 65, 3725.4, 7260, float("inf"), float("nan"))
    assert [format_duration(s) for s in durations] == ["4s", "1m05s", "1h02m", "2h01m", "?", "?"]
    with pytest.raises(TypeError, match="total once"):
        progress(5, total=5)


def test_rate_and_eta_shared_by_every_progress_line():
    rates = (412.34, 4.523, 0.04213)
    assert [format_rate(r, "img") for r in rates] == ["412.3 img/s", "4.52 img/s", "0.0421 img/s"]
    assert format_duration(eta_seconds(90, done=10, elapsed=5.0)) == "45s"  # 90 more at 2 per second
    assert [format_duration(eta_seconds(left, 0, 1.0)) for left in (5, math.inf)] == ["?", "?"]


def test_data_check_cli_shows_progress(mini_cub, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        data_main(["check", "data=cub", f"data.root={mini_cub}", "manifest=m.json", "workers=1"])
    captured = capsys.readouterr()
    last = [line for line in captured.err.splitlines() if line.startswith("decoding images:")][-1]
    assert re.match(r"decoding images: (\d+)/\1 img \(100%\), [\d.]+ img/s, done in", last), captured.err
    with pytest.raises(SystemExit):
        data_main(["check", "data=cub", f"data.root={mini_cub}", "manifest=m.json", "progress=false"])
    assert "decoding images" not in capsys.readouterr().err
