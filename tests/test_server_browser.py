"""The page at / in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright):
submit, live progress with a preview, cancel, and the gallery with parameters and a download link."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

pytest.importorskip("httpx")
pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")

from server_support import ServerProcess  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def server(sd15_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(sd15_model, log_path=tmp_path_factory.mktemp("browser-server") / "server.log")
    try:
        process.wait_ready()
        yield process
    finally:
        status = process.stop()
    assert status == 0, process.log()


@pytest.fixture(scope="module")
def page(server: ServerProcess) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no system Chromium at /usr/bin/chromium (apt-get install chromium); "
                    "Playwright's own browser download is not used")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(240_000)
        tab.goto(server.url + "/")
        # The page read the server's vocabularies.
        tab.wait_for_selector("#sampling_method option[value='euler_a']", state="attached")
        yield tab
        context.close()
        browser.close()


def fill_fast(page: Any, steps: int) -> None:
    page.fill("#prompt", "a lighthouse at dusk")
    page.fill("#width", "64")
    page.fill("#height", "64")
    page.fill("#steps", str(steps))
    page.fill("#cfg_scale", "1")
    page.fill("#seed", "9")


def test_submit_shows_progress_and_fills_the_gallery(page: Any) -> None:
    fill_fast(page, 2)
    page.check("#deepcache")
    page.fill("#deepcache_interval", "2")
    page.click("#generate")
    page.wait_for_function("document.getElementById('status').textContent === 'done'")
    card = page.locator("#gallery .card").first
    assert "Seed: 9" in card.locator("pre").inner_text()
    assert 'DeepCache: "2,0,0,-1"' in card.locator("pre").inner_text()
    natural = card.locator("img").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert natural == [64, 64]
    link = card.locator("a.download")
    assert link.get_attribute("download", timeout=5000).endswith("-0.png")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith("-0.png")
    assert float(page.eval_on_selector("#progress", "p => p.value")) == 1.0


def test_cancel_stops_a_running_job(page: Any) -> None:
    before = page.locator("#gallery .card").count()
    fill_fast(page, 200)
    page.uncheck("#deepcache")
    page.click("#generate")
    page.wait_for_function("/^step [1-9]/.test(document.getElementById('status').textContent)")
    page.wait_for_selector("#preview:not([hidden])")  # the live preview appeared
    assert float(page.eval_on_selector("#progress", "p => p.value")) > 0
    page.click("#cancel")
    page.wait_for_function("document.getElementById('status').textContent === 'cancelled'")
    assert page.locator("#gallery .card").count() == before
    assert page.is_enabled("#generate")
