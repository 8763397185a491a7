"""The demo page through its API (`gradio_client`, what a Space exposes), no browser.

The page runs in this process on a free loopback port with a small model
whose weights are random but not the identity. Every answer is compared with
an independent reference: the bytes `deblur_file` writes, the pixels a
`Deblurrer` returns, scikit-image's PSNR and SSIM.
"""

import os
import socket
import sys
import threading
import time

import numpy as np
import pytest
import requests
from PIL import Image

from keras_attn_deblur import Deblurrer
from keras_attn_deblur import demo
from keras_attn_deblur.cli import main
from keras_attn_deblur.inference import deblur_file
from tests.hub.helpers import tiny_model

pytest.importorskip("gradio", reason="the demo extra (gradio) is not installed")
from gradio_client import Client  # noqa: E402
from gradio_client import handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """(app, client, model, the folder the app was started in)."""
    started_in = tmp_path_factory.mktemp("cwd")
    previous = os.getcwd()
    os.chdir(started_in)
    model = tiny_model()
    app = demo.build_app(model)
    app.launch(server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield app, Client(app.local_url, verbose=False), model, started_in
    finally:
        app.close()
        os.chdir(previous)


def _ask(client, blurry, sharp=None, precision="auto", ensemble=False, tile_size="auto"):
    return client.predict(
        handle_file(str(blurry)), None if sharp is None else handle_file(str(sharp)),
        precision, ensemble, tile_size, api_name="/deblur",
    )  # fmt: skip


def test_the_result_is_the_librarys_deblur_output(page, tmp_path):
    app, client, model, _ = page
    (before, after), download, report = _ask(client, demo.EXAMPLE_BLURRY)
    expected = tmp_path / "expected.png"
    deblur_file(Deblurrer(model), demo.EXAMPLE_BLURRY, expected)
    # The download: the very file `deblur_file` writes, in the upload's format.
    assert os.path.basename(download["value"]) == "gopro_000241_blurry_deblurred.png"
    with open(download["value"], "rb") as got, open(expected, "rb") as want:
        assert got.read() == want.read()
    # The slider: the blurry photo and the restored one, pixel for pixel.
    blurry = np.asarray(Image.open(demo.EXAMPLE_BLURRY).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(Image.open(before).convert("RGB")), blurry)
    restored = np.asarray(Image.open(expected).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(Image.open(after).convert("RGB")), restored)
    assert np.abs(restored.astype(int) - blurry).mean() > 1  # the model did change the photo
    assert "Restored **gopro_000241_blurry.png** (1280×720) in **" in report
    assert "float32" in report and "1 tile." in report


def test_the_gain_against_a_sharp_photo_matches_scikit_image(page, tmp_path):
    from skimage.metrics import peak_signal_noise_ratio

    _, client, model, _ = page
    _, _, report = _ask(client, demo.EXAMPLE_BLURRY, demo.EXAMPLE_SHARP)
    sharp = np.asarray(Image.open(demo.EXAMPLE_SHARP).convert("RGB"))
    blurry = np.asarray(Image.open(demo.EXAMPLE_BLURRY).convert("RGB"))
    restored = Deblurrer(model)(blurry)
    before = peak_signal_noise_ratio(sharp, blurry, data_range=255)
    after = peak_signal_noise_ratio(sharp, restored, data_range=255)
    assert f"| blurry | {before:.2f} |" in report
    assert f"| restored | {after:.2f} |" in report
    assert f"PSNR gain: **{after - before:+.2f} dB**" in report


def test_options_reach_the_deblurrer(page):
    _, client, model, _ = page
    _, _, report = _ask(client, demo.EXAMPLE_BLURRY, ensemble=True, tile_size="512",
                        precision="float32")  # fmt: skip
    plan = Deblurrer(model, tile_size=512).plan(720, 1280)
    tiles = len(plan.row_starts) * len(plan.column_starts)
    assert tiles > 1
    assert f"{tiles} tiles, flip ensemble." in report and "precision='float32'" in report


def _truncated_jpeg(path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 300, 3), np.uint8)).save(
        path, quality=90
    )
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _bad_inputs(folder):
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    truncated = folder / "truncated.jpg"
    _truncated_jpeg(truncated)
    huge = folder / "huge.png"  # 40 MP of one colour: a small file, a large image
    Image.new("RGB", (8000, 5000), (90, 120, 150)).save(huge)
    animated = folder / "animated.gif"
    frames = [Image.new("RGB", (64, 48), (60 * index, 80, 200)) for index in range(3)]
    frames[0].save(animated, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return {
        empty: "'empty.png' is empty (0 bytes)",
        truncated: "'truncated.jpg' is truncated or corrupt",
        huge: "'huge.png' is 8000×5000 (40.0 MP); this page restores photos up to 33.6 MP",
        animated: "'animated.gif' holds 3 frames (an animation",
    }


def test_bad_inputs_get_one_clear_line_and_the_page_keeps_serving(page, tmp_path):
    _, client, _, _ = page
    for path, message in _bad_inputs(tmp_path).items():
        with pytest.raises(AppError) as caught:
            _ask(client, path)
            pytest.fail(f"{path.name} was restored")
        text = str(caught.value)
        assert text.startswith(message), text
        assert "\n" not in text and str(tmp_path) not in text  # one line, no server paths
    with pytest.raises(AppError, match="sharp photo 'small.png' is 64×48 but the blurry photo "
                       "'gopro_000241_blurry.png' is 1280×720"):  # fmt: skip
        small = tmp_path / "small.png"
        Image.new("RGB", (64, 48)).save(small)
        _ask(client, demo.EXAMPLE_BLURRY, small)
    _, download, _ = _ask(client, demo.EXAMPLE_BLURRY)  # still serving
    assert os.path.isfile(download["value"])


def test_one_restoration_at_a_time(page, monkeypatch):
    _, client, _, _ = page
    spans, lock = [], threading.Lock()
    restore = Deblurrer.restore_samples

    def slow_restore(self, samples, name=None):
        start = time.perf_counter()
        time.sleep(0.5)
        result = restore(self, samples, name=name)
        with lock:
            spans.append((start, time.perf_counter()))
        return result

    monkeypatch.setattr(Deblurrer, "restore_samples", slow_restore)
    jobs = [
        client.submit(handle_file(str(demo.EXAMPLE_BLURRY)), None, "auto", False, "auto",
                      api_name="/deblur")  # fmt: skip
        for _ in range(3)
    ]
    for job in jobs:
        job.result(timeout=300)
    spans.sort()
    assert len(spans) == 3
    assert all(first[1] <= second[0] for first, second in zip(spans, spans[1:])), spans


def test_the_page_shows_the_progress_of_the_tiles(page, monkeypatch):
    _, client, model, _ = page
    predict = Deblurrer._predict

    def slow_predict(self, batch):
        time.sleep(0.3)
        return predict(self, batch)

    monkeypatch.setattr(Deblurrer, "_predict", slow_predict)
    plan = Deblurrer(model, tile_size=256).plan(720, 1280)
    tiles = len(plan.row_starts) * len(plan.column_starts)
    job = client.submit(handle_file(str(demo.EXAMPLE_BLURRY)), None, "auto", False, "256",
                        api_name="/deblur")  # fmt: skip
    seen = set()
    while not job.done():
        for unit in job.status().progress_data or ():
            if unit.unit == "tiles":
                seen.add((unit.index, unit.length))
        time.sleep(0.05)
    job.result()
    assert len(seen) >= 3, seen  # several steps of the tiles, of all of them
    assert {length for _, length in seen} == {tiles}
    assert all(0 < index <= tiles for index, _ in seen)


def test_the_page_serves_no_file_outside_its_own(page, tmp_path):
    app, _, _, started_in = page
    secret = started_in / "secret.txt"
    secret.write_text("not for visitors")
    for path in ("/etc/passwd", str(secret), str(demo.EXAMPLES_DIR.parent / "app.py")):
        response = requests.get(f"{app.local_url}gradio_api/file={path}", timeout=30)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert b"not for visitors" not in response.content and b"root:" not in response.content
    secret.unlink()


def test_binds_loopback_limits_uploads_and_writes_nothing_in_the_current_folder(page):
    app, _, _, started_in = page
    assert app.analytics_enabled is False
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    assert app.server_name == "127.0.0.1"
    assert app.local_url.startswith("http://127.0.0.1:")
    # Gradio's upload limit: a file holding the largest accepted image, 16-bit RGB.
    assert app.max_file_size == app.max_pixels * 6 + 2**20
    assert app.max_pixels == int(2048 * 2**20 / demo.app.BYTES_PER_PIXEL)
    assert os.listdir(started_in) == []  # after every test above


def test_an_upload_over_the_size_limit_is_refused(tmp_path):
    app = demo.build_app(tiny_model(), max_megapixels=0.05)  # 0.05 MP: 1.3 MB files
    app.launch(server_port=_free_port(), prevent_thread_lock=True, quiet=True)
    try:
        big = tmp_path / "noise.png"
        noise = np.random.default_rng(0).integers(0, 256, (700, 800, 3), np.uint8)
        Image.fromarray(noise).save(big)  # incompressible: ~1.7 MB
        assert big.stat().st_size > app.max_file_size
        with pytest.raises(Exception, match="(?i)file size|too large|exceed"):
            _ask(Client(app.local_url, verbose=False), big)
    finally:
        app.close()


def test_without_gradio_the_demo_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)
    with pytest.raises(ImportError, match=r'pip install "keras-attn-deblur\[demo\]"'):
        demo.build_app(tiny_model())
    assert main(["demo", "--no-browser"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("attn-deblur: error: The demo needs Gradio")
    assert err.endswith('pip install "keras-attn-deblur[demo]"') and "\n" not in err
