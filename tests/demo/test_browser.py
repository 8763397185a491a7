"""The demo page in a real headless browser, as a person uses it.

`attn-deblur demo` is started as a command, in an empty folder, on a free
loopback port; Chromium (Debian's package, driven by Playwright) opens the
page, uploads bad files and then the example photo, waits for the result,
drags the before/after slider, downloads the restored image and saves a
screenshot. The download is compared with what the library's `deblur_file`
writes for the same model. Every request the browser makes must go to the
page's own address: no font, script or analytics from the internet.

`KERAS_ATTN_DEBLUR_DEMO_MODEL=patent` runs it with the bundled weights
(minutes on a CPU) and `KERAS_ATTN_DEBLUR_SCREENSHOT=PATH` keeps the
screenshot: that is how the README's picture is made.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import Deblurrer
from keras_attn_deblur import demo
from keras_attn_deblur.inference import deblur_file
from tests.demo.test_app import _bad_inputs
from tests.hub.helpers import tiny_model

pytest.importorskip("gradio", reason="the demo extra (gradio) is not installed")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
MODEL = os.environ.get("KERAS_ATTN_DEBLUR_DEMO_MODEL")
# The bundled weights take minutes per photo on a CPU; the small model, a second.
RESULT_TIMEOUT_MS = 900_000 if MODEL else 120_000


def _browser():
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip(
        "no Chromium to drive: install Debian's 'chromium' package (apt-get install chromium); "
        ".ci/run does"
    )


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_page(url, process, log_path, seconds=300):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the demo did not start:\n{log_path.read_text()[-3000:]}")


@pytest.fixture
def served_demo(tmp_path):
    """(url, the model, the folder it runs in): `attn-deblur demo` started as a command."""
    if MODEL:
        handle, model = MODEL, AttnDeblurNet.from_pretrained(MODEL)
    else:
        handle, model = str(tmp_path / "model"), tiny_model()
        model.save_pretrained(handle)
    folder = tmp_path / "cwd"
    folder.mkdir()
    port = _free_port()
    log_path = tmp_path / "demo.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_attn_deblur", "demo", "--model", handle,
             "--port", str(port), "--no-browser"],
            cwd=folder, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for_page(url, process, log_path)
        yield url, model, folder
    finally:
        process.terminate()
        process.wait(timeout=60)


def _upload(page, path):
    clear = page.locator("#blurry button[aria-label='Clear']")
    if clear.count():
        clear.first.click()
    page.locator("#blurry input[type=file]").set_input_files(str(path))


def _slider_position(page):
    """Where the slider's divide is, in percent of the width (the clip of the top image)."""
    style = page.locator("#before-after img[data-testid=imageslider-image]").nth(1).get_attribute(
        "style"
    )
    return float(re.search(r"inset\(0px 0px 0px ([\d.]+)%\)", style).group(1))


def test_the_page_restores_the_example_as_a_person_uses_it(served_demo, tmp_path):
    url, model, folder = served_demo
    requests = []
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=_browser(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 960}, accept_downloads=True)
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url)
        deblur = page.get_by_role("button", name="Deblur", exact=True)

        # Bad files: one clear line on the page each, and the page keeps serving.
        for path, message in _bad_inputs(tmp_path).items():
            _upload(page, path)
            deblur.click()
            toast = page.locator(".toast-body").filter(has_text=message[:40])
            toast.wait_for(timeout=120_000)
            assert message in " ".join(toast.inner_text().split())
            page.locator(".toast-close").first.click()
            toast.wait_for(state="detached")

        # The example photo and its sharp frame: restored, scored, slider dragged, downloaded.
        _upload(page, demo.EXAMPLE_BLURRY)
        page.get_by_text("Sharp reference (optional, for PSNR/SSIM)").click()
        page.locator("#sharp input[type=file]").set_input_files(str(demo.EXAMPLE_SHARP))
        started = time.perf_counter()
        deblur.click()
        download = page.locator("#download")
        download.wait_for(state="visible", timeout=RESULT_TIMEOUT_MS)
        seconds = time.perf_counter() - started
        report = page.locator("#report").inner_text()
        assert "Restored gopro_000241_blurry.png (1280×720)" in report
        assert "PSNR gain:" in report and "blurry\t25.78\t0.8577" in report, report

        assert _slider_position(page) == pytest.approx(50, abs=1)
        picture = page.locator("#before-after img[data-testid=imageslider-image]").first
        picture.scroll_into_view_if_needed()
        box = picture.bounding_box()
        middle_y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] / 2, middle_y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.25, middle_y, steps=10)
        page.mouse.up()
        assert _slider_position(page) == pytest.approx(25, abs=3)

        with page.expect_download() as caught:
            download.click()
        downloaded = tmp_path / caught.value.suggested_filename
        caught.value.save_as(downloaded)
        screenshot = tmp_path / "demo.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()

    assert downloaded.name == "gopro_000241_blurry_deblurred.png"
    expected = tmp_path / "expected.png"
    deblur_file(Deblurrer(model), demo.EXAMPLE_BLURRY, expected)
    got = np.asarray(Image.open(downloaded)).astype(int)
    want = np.asarray(Image.open(expected)).astype(int)
    assert got.shape == want.shape == (720, 1280, 3)
    assert np.abs(got - want).max() <= 1  # another process: the same, or within 1/255
    assert all(request.startswith(url) for request in requests), sorted(set(requests))
    assert os.listdir(folder) == []  # the page wrote nothing where it was started
    if os.environ.get("KERAS_ATTN_DEBLUR_SCREENSHOT"):
        shutil.copyfile(screenshot, os.environ["KERAS_ATTN_DEBLUR_SCREENSHOT"])
        print(f"upload to result through the page: {seconds:.1f} s")
