"""How long the demo page takes from upload to result, against the library alone.

Starts `attn-deblur demo --model MODEL` as a command, opens the page in
headless Chromium (Playwright), and for each of `--repeats` runs uploads the
shipped 1280x720 example, presses Deblur and waits until the result and its
download button are shown: that wall time is "upload to result". The
page's own report says how long the restoration itself took. Then the same
photo is restored in this process by a `Deblurrer` with the same options
(the library, no page), `--repeats` times. The first run of each includes
tracing the network for this image size; the rows after it are what a
visitor waits once the page is warm. The added cost is the page's time over
the library's, for the warm runs.

How to run (needs the demo extra and Debian's chromium):
    python benchmarks/demo_latency.py                 # the bundled weights
    python benchmarks/demo_latency.py --model runs/gopro/model --repeats 3
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import Deblurrer
from keras_attn_deblur import demo
from keras_attn_deblur._utils import machine


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def page_runs(model, repeats, browser_path):
    """(upload-to-result seconds, the page's reported restore seconds) of each run."""
    from playwright.sync_api import sync_playwright

    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    folder = tempfile.mkdtemp(prefix="demo_latency_")
    process = subprocess.Popen(
        [sys.executable, "-m", "keras_attn_deblur", "demo", "--model", model, "--port",
         str(port), "--no-browser"],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        runs = []
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 960})
            for _ in range(repeats):
                page.goto(url)  # a fresh page: no result shown yet
                started = time.perf_counter()
                page.locator("#blurry input[type=file]").set_input_files(str(demo.EXAMPLE_BLURRY))
                page.get_by_role("button", name="Deblur", exact=True).click()
                page.locator("#download").wait_for(state="visible", timeout=3_600_000)
                seconds = time.perf_counter() - started
                report = page.locator("#report").inner_text()
                restore = float(re.search(r"in ([\d.]+) s", report).group(1))
                runs.append((seconds, restore))
            browser.close()
        return runs
    finally:
        process.terminate()
        process.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)


def api_runs(model, repeats):
    """Upload-to-result seconds through the page's API (`gradio_client`): no browser drawing."""
    from gradio_client import Client
    from gradio_client import handle_file

    app = demo.build_app(model)
    app.launch(server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            client.predict(handle_file(str(demo.EXAMPLE_BLURRY)), None, "auto", False, "auto",
                           api_name="/deblur")  # fmt: skip
            seconds.append(time.perf_counter() - started)
        return seconds
    finally:
        app.close()


def library_runs(model, repeats):
    deblurrer = Deblurrer(AttnDeblurNet.from_pretrained(model))
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        deblurrer(str(demo.EXAMPLE_BLURRY))
        seconds.append(time.perf_counter() - started)
    return seconds, deblurrer.precision_choice


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="patent")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--browser", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()

    page = page_runs(args.model, args.repeats, args.browser)
    api = api_runs(args.model, args.repeats)
    library, precision = library_runs(args.model, args.repeats)
    import keras

    print(f"machine: {machine.describe_cpu()}; Keras backend {keras.backend.backend()}; "
          f"model {args.model}, {precision}; example 1280x720")  # fmt: skip
    print("run | upload to result in the browser (s) | restore inside the page (s) | "
          "upload to result through the API (s) | library alone (s)")  # fmt: skip
    for index, ((seconds, restore), client, alone) in enumerate(zip(page, api, library), 1):
        label = f"{index} (traces the network)" if index == 1 else str(index)
        print(f"{label} | {seconds:.1f} | {restore:.1f} | {client:.1f} | {alone:.1f}")
    if args.repeats > 1:
        library_warm = statistics.median(library[1:])
        for label, runs in (("browser", [seconds for seconds, _ in page]), ("API", api)):
            warm = statistics.median(runs[1:])
            print(f"warm median, {label}: {warm:.1f} s against the library's "
                  f"{library_warm:.1f} s: {100 * (warm / library_warm - 1):+.1f} %")  # fmt: skip


if __name__ == "__main__":
    main()
