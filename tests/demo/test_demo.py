"""The web demo (``attngan-demo``): the backend's messages, the page in a real headless Chromium, the API from
``gradio_client``, and the console script's one-line errors.

The browser test needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/install-browser`` installs them).
It is skipped only outside CI when they are missing; with ``CI`` set it fails instead, so CI never skips it.
"""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from attngan.demo import MAX_IMAGES_PER_CAPTION, DemoBackend, DemoInputError
from attngan.pipeline import AttnGANPipeline, UnknownCaptionError

UNKNOWN_CAPTION = "zzzq xyzzy plugh"
# headless, and quiet on a machine without network: no background requests, no first-run pages
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1500",
]


# per image shown in a gallery: the share of the picture inside the visible area (not cropped by object-fit or
# by an ancestor that hides overflow) and the aspect ratio it is drawn with beside its natural one
SHOWN_WHOLE = """
return Array.from(document.querySelectorAll(arguments[0] + ' img'))
  .filter(i => i.complete && i.naturalWidth > 0)
  .map(i => {
    const box = i.getBoundingClientRect(), fit = getComputedStyle(i).objectFit;
    let w = box.width, h = box.height;  // the drawn picture: 'fill' stretches it over the box
    if (fit !== 'fill') {
      const contain = Math.min(box.width / i.naturalWidth, box.height / i.naturalHeight);
      const scale = {contain: contain, 'scale-down': Math.min(contain, 1), none: 1}[fit]
        ?? Math.max(box.width / i.naturalWidth, box.height / i.naturalHeight);  // cover
      w = i.naturalWidth * scale; h = i.naturalHeight * scale;
    }
    let left = box.left + (box.width - w) / 2, top = box.top + (box.height - h) / 2;
    let right = left + w, bottom = top + h;
    const inside = {left: box.left, top: box.top, right: box.right, bottom: box.bottom};  // object-fit clips
    for (let p = i.parentElement; p; p = p.parentElement) {
      if (getComputedStyle(p).overflow !== 'visible') {
        const r = p.getBoundingClientRect();
        inside.left = Math.max(inside.left, r.left); inside.top = Math.max(inside.top, r.top);
        inside.right = Math.min(inside.right, r.right); inside.bottom = Math.min(inside.bottom, r.bottom);
      }
    }
    const seen = Math.max(0, Math.min(right, inside.right) - Math.max(left, inside.left))
      * Math.max(0, Math.min(bottom, inside.bottom) - Math.max(top, inside.top));
    return {fit: fit, seen: seen / (w * h), drawn: w / h, natural: i.naturalWidth / i.naturalHeight};
  });
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def require(module: str) -> Any:
    """``module``, or a skip (outside CI) / failure (in CI) naming what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        message = f"{module} is not installed: pip install -e '.[dev]'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def browser_paths() -> tuple[str, str]:
    """``(chromium, chromedriver)``; a skip outside CI when missing, a failure in CI."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium and driver:
        return chromium, driver
    message = "chromium and chromedriver are needed for the browser test: run .ci/install-browser"
    if in_ci():
        pytest.fail(f"CI must run the browser test, but {message}")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def pipe(tiny_attngan_checkpoint: Path) -> AttnGANPipeline:
    return AttnGANPipeline.from_checkpoint(tiny_attngan_checkpoint, device="cpu")


@pytest.fixture(scope="module")
def demo_url(tiny_attngan_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo of the tiny checkpoint, served on 127.0.0.1 (a free port) for the module's tests."""
    require("gradio")
    from attngan.demo import serve

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADIO_TEMP_DIR", str(tmp_path_factory.mktemp("gradio")))
        port = free_port()
        demo = serve(tiny_attngan_checkpoint, port=port, device="cpu", block=False)
        try:
            yield f"http://127.0.0.1:{port}/"
        finally:
            demo.close()


# ------------------------------------------------------------------------------------------ backend
def test_backend_turns_bad_input_into_errors_that_say_what_to_do(pipe: AttnGANPipeline) -> None:
    backend = DemoBackend(pipe)
    with pytest.raises(DemoInputError, match="empty"):
        backend.generate("   ")
    with pytest.raises(DemoInputError, match=f"1 to {MAX_IMAGES_PER_CAPTION}"):
        backend.generate("a red circle", num_images=MAX_IMAGES_PER_CAPTION + 1)
    with pytest.raises(DemoInputError, match="seed"):
        backend.generate("a red circle", seed="abc")
    with pytest.raises(UnknownCaptionError, match="no word this model knows"):
        backend.generate(UNKNOWN_CAPTION)


def test_backend_generates_stages_attention_and_a_one_word_pair(pipe: AttnGANPipeline) -> None:
    backend = DemoBackend(pipe)
    out = backend.generate("a large red circle plugh", seed=3, num_images=2)
    assert len(out.images) == 2 and len(out.stages) == len(pipe.image_sizes)
    assert out.unknown_words == ["plugh"] and "plugh" in out.status()
    assert out.images[0].width >= 256 and out.attention.width > out.images[0].width // 2
    # the pair is the pipeline's images for the same seed: the same noise, only the word differs
    pair = backend.compare("a large red circle", "a large blue circle", seed=3)
    direct = pipe(["a large red circle", "a large blue circle"], seed=3)
    assert pair.changed == [("red", "blue")] and "red" in pair.status()
    # shown enlarged by an integer factor (nearest): shrinking back the same way gives the pixels exactly
    for (shown, _), image in zip(pair.images, direct.images, strict=True):
        assert shown.resize(image.size, Image.Resampling.NEAREST).tobytes() == image.tobytes()


def test_examples_are_the_test_captions_else_vocabulary_words(pipe: AttnGANPipeline) -> None:
    from attngan.demo.backend import one_word_changed
    from attngan.demo.examples import example_captions

    examples = example_captions(pipe.metadata, pipe.vocab, limit=4)
    assert 1 <= len(examples) <= 4
    assert all(pipe.vocab.encode(c)[0] for c in examples)
    missing = {"config": {"data": {"name": "folder", "root": "/nonexistent/data"}}}
    fallback = example_captions(missing, pipe.vocab, limit=3)
    words = set(pipe.vocab.to_list()[1:])
    assert fallback and all(set(c.split()) <= words for c in fallback)
    changed = one_word_changed(examples[0], examples, pipe.vocab.to_list()[1:])
    assert len(changed.split()) == len(examples[0].split()) and changed != examples[0]


# ------------------------------------------------------------------------------------------ the page
def test_every_gallery_shows_whole_images(pipe: AttnGANPipeline) -> None:
    require("gradio")
    from attngan.demo.app import build_demo

    config = build_demo(DemoBackend(pipe), ["a large red circle"]).get_config_file()
    galleries = {c["props"]["elem_id"]: c["props"] for c in config["components"] if c["type"] == "gallery"}
    assert set(galleries) == {"images", "stages", "pair"}
    for name, props in galleries.items():  # gradio's default thumbnail fit crops ("cover")
        assert props["object_fit"] == "contain" and props["preview"] is False, name
        assert len(pipe.image_sizes) <= props["columns"], name  # one row: the stages side by side
    assert galleries["stages"]["height"] >= 250  # a row of whole thumbnails and the label: no scrolling


def test_a_missing_browser_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="install-browser"):
        browser_paths()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="install-browser"):
        browser_paths()


def test_page_in_headless_chromium(demo_url: str, tmp_path: Path, pipe: AttnGANPipeline) -> None:
    chromium, chromedriver = browser_paths()
    require("selenium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never downloads anything
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    wait = WebDriverWait(driver, 30, poll_frequency=0.2)

    def status() -> str:
        return driver.find_element(By.ID, "status").text

    def type_and_generate(caption: str) -> None:
        box = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#caption textarea"))
        box.clear()
        box.send_keys(caption)
        driver.find_element(By.ID, "generate").click()

    shown_image = (
        "return Array.from(document.querySelectorAll('#images img'))"
        ".filter(i => i.complete && i.naturalWidth > 0).length"
    )
    try:
        driver.get(demo_url)
        type_and_generate("a large red circle plugh")
        wait.until(lambda d: d.execute_script(shown_image) > 0)
        wait.until(lambda d: "The model read" in status())
        assert "plugh" in status()  # the unknown word is listed
        # every stage image is shown whole, at its natural aspect ratio (no thumbnail crop)
        wait.until(lambda d: len(d.execute_script(SHOWN_WHOLE, "#stages")) == len(pipe.image_sizes))
        for shown in driver.execute_script(SHOWN_WHOLE, "#stages"):
            assert shown["seen"] > 0.99 and shown["drawn"] == pytest.approx(shown["natural"], rel=0.02), shown
        driver.save_screenshot(str(tmp_path / "demo.png"))

        type_and_generate(UNKNOWN_CAPTION)
        wait.until(lambda d: "no word this model knows" in status())
        assert "Traceback" not in driver.page_source
        driver.save_screenshot(str(tmp_path / "demo_unknown.png"))

        type_and_generate("a small blue square")  # the server kept serving
        wait.until(lambda d: "The model read" in status() and d.execute_script(shown_image) > 0)

        # the one-word change: two images with the same noise, side by side
        driver.find_element(By.XPATH, "//button[@role='tab'][contains(., 'Change one word')]").click()
        wait.until(lambda d: d.find_element(By.ID, "compare").is_displayed())
        driver.find_element(By.ID, "compare").click()
        pair_shown = shown_image.replace("#images", "#pair")
        wait.until(lambda d: d.execute_script(pair_shown) == 2)
        assert "Same noise" in driver.find_element(By.ID, "compare-status").text
        driver.save_screenshot(str(tmp_path / "demo_compare.png"))
    finally:
        driver.quit()
    assert (tmp_path / "demo.png").stat().st_size > 1000


# ------------------------------------------------------------------------------------------ the API
def test_generate_endpoint_from_gradio_client(demo_url: str) -> None:
    client_module = require("gradio_client")
    client = client_module.Client(demo_url, verbose=False)
    images, stages, attention, status = client.predict("a large red circle", 1, 2, api_name="/generate")
    from PIL import Image

    assert len(images) == 2 and "The model read" in status
    first = images[0]["image"] if isinstance(images[0], dict) else images[0]
    path = first if isinstance(first, str) else first["path"]
    with Image.open(path) as image:
        assert image.width >= 256
    assert Path(attention).is_file() and len(stages) >= 1
    *_, refused = client.predict("a red circle", 0, MAX_IMAGES_PER_CAPTION + 1, api_name="/generate")
    assert f"1 to {MAX_IMAGES_PER_CAPTION}" in refused
    pair, pair_status = client.predict("a red circle", "a blue circle", 0, api_name="/compare")
    assert len(pair) == 2 and "red" in pair_status


# ------------------------------------------------------------------------------------------ the script
def test_console_script_mistakes_are_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from attngan.cli.demo import main

    with pytest.raises(SystemExit) as exit_info:
        main([f"checkpoint={tmp_path / 'missing.ckpt'}"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("attngan-demo: error:") and "missing.ckpt" in err and "\n" not in err


def test_console_script_port_in_use_is_one_line(
    tiny_attngan_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require("gradio")
    from attngan.cli.demo import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.monotonic()
        with pytest.raises(SystemExit) as exit_info:
            main([f"checkpoint={tiny_attngan_checkpoint}", f"port={port}", "device=cpu", "num_examples=0"])
    assert exit_info.value.code == 2 and time.monotonic() - start < 30
    err = capsys.readouterr().err.strip()
    assert f"{port}" in err and "port=N" in err and "\n" not in err
