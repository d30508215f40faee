"""The web page in headless Chromium (Debian's, driven by Playwright): pick an example, read
the verdict, check the keyboard path and a phone-sized screen, save screenshots."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_images import EXAMPLES

import spotfake

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
# Screenshots go to each test's temporary folder; set SPOTFAKE_SCREENSHOTS=DIR to keep copies.
SCREENSHOTS_ENV = "SPOTFAKE_SCREENSHOTS"

if not CHROMIUM.exists():
    pytest.skip(
        f"browser test skipped: {CHROMIUM} is missing (apt-get install -y chromium)",
        allow_module_level=True,
    )
if importlib.util.find_spec("playwright") is None:
    pytest.skip(
        "browser test skipped: playwright is not installed (pip install -e '.[dev]')",
        allow_module_level=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server_url(default_detector: Any) -> Iterator[str]:
    """A real uvicorn server with the default model on a free loopback port, in a thread."""
    import uvicorn

    from spotfake.serve.app import create_app
    from spotfake.serve.model_info import read_model_card

    card = read_model_card(Path(__file__).resolve().parents[2] / "src/spotfake/weights/default")
    app = create_app(default_detector, model_card=card, device="cpu")
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def save_screenshot(
    page: Any, name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Write the screenshot to tmp_path, and a copy to $SPOTFAKE_SCREENSHOTS if set."""
    shot = tmp_path / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get(SCREENSHOTS_ENV)
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shot = Path(shutil.copy(shot, Path(keep) / name))
    with capsys.disabled():
        print(f"\nscreenshot: {shot}")


def test_page_gives_the_verdict_of_an_example(
    browser: Any,
    server_url: str,
    default_detector: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (expected,) = spotfake.predict(default_detector, [str(EXAMPLES / "sd15-sample.png")])
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    outside: list[str] = []
    problems: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((server_url, "data:", "blob:"))
            else outside.append(r.url))  # fmt: skip
    page.on(  # Chromium logs each 4xx answer as an error; the 415 below is expected
        "console",
        lambda m: (
            problems.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto(server_url + "/")
    page.wait_for_selector("#model dl")  # the model card summary arrived

    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "files"
    assert page.get_by_label("Choose images").count() == 1

    page.set_input_files("#files", [str(EXAMPLES / "sd15-sample.png"), str(EXAMPLES / "SOURCE.md")])
    page.wait_for_selector("#results li[data-state='done']", timeout=30_000)
    page.wait_for_selector("#results li[data-state='failed']", timeout=30_000)
    done = page.locator("#results li[data-state='done']")
    assert done.locator("h3").inner_text() == "sd15-sample.png"
    verdict = done.locator("[data-testid='verdict']").inner_text()
    assert verdict.startswith(expected.label.capitalize())  # what the Python API says
    assert f"score {expected.score:.2f} (threshold {expected.threshold:.2f})" in verdict
    assert done.locator("figure.spectrum svg path.img").count() == 1
    failed = page.locator("#results li[data-state='failed']")
    assert "not an image format spotfake can read" in failed.inner_text()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('Done')")
    generated = int(expected.label == "generated")
    assert f"{generated} generated, {1 - generated} real" in page.locator("#status").inner_text()
    save_screenshot(page, "serve-page.png", tmp_path, capsys)
    assert outside == [] and problems == []
    page.close()


def test_page_fits_a_phone(
    browser: Any, server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = browser.new_page(viewport={"width": 375, "height": 740}, is_mobile=True)
    page.goto(server_url + "/")
    page.set_input_files("#files", str(EXAMPLES / "rocket.jpg"))
    page.wait_for_selector("#results li[data-state='done']", timeout=30_000)
    assert page.locator("[data-testid='verdict']").inner_text().startswith("Real")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    save_screenshot(page, "serve-page-phone.png", tmp_path, capsys)
    page.close()


def test_page_names_the_mark_that_decided(
    browser: Any, server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("parameters", "a cat\nSteps: 20, Sampler: Euler a, Seed: 1, Model: sd15")
    marked = tmp_path / "a1111.png"
    Image.open(EXAMPLES / "coffee.png").save(marked, pnginfo=info)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.goto(server_url + "/")
    page.set_input_files("#files", str(marked))
    page.wait_for_selector("#results li[data-state='done']", timeout=30_000)
    verdict = page.locator("[data-testid='verdict']").inner_text()
    assert verdict.startswith("Generated") and "decided by a generator's PNG text chunk" in verdict
    marks = page.locator("[data-testid='provenance'] li").first.inner_text()
    assert marks.startswith("Decisive:") and "AUTOMATIC1111" in marks
    save_screenshot(page, "serve-page-provenance.png", tmp_path, capsys)
    page.close()
