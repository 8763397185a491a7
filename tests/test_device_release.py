"""The accelerator run, rehearsed on this CPU: `release/pack_device.py`, then
`bash release/device_train.sh --rehearse`, exactly as on the device but for the model size:
one call, a second call that resumes it, and a call that continues from returned weights.

The rehearsals need `../shared/data` beside the project (CI has it) and pip
able to reach PyPI (the pack downloads the wheels the device lacks); they
force the JAX backend in their own processes, so they run once, under
KERAS_BACKEND=jax. The plan, schedule and weight-packing tests run on both
backends.
"""

import hashlib
import json
import lzma
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pytest
import skimage.metrics
from PIL import Image, JpegImagePlugin

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur.inference.int8 import INT8_FILE_NAME

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "data")
RELEASE = os.path.join(ROOT, "release")
BUNDLED = os.path.join(ROOT, "keras_attn_deblur", "weights", "patent")
MIB = 2**20
sys.path.insert(0, RELEASE)

import device_plan  # noqa: E402
import device_sources  # noqa: E402
import device_train  # noqa: E402

rehearsal = pytest.mark.skipif(
    keras.backend.backend() != "jax" or not os.path.isdir(SHARED),
    reason="the rehearsal runs on JAX and needs ../shared/data beside the project",
)


def _environment(**extra):
    # The rehearsal's `python3` is this interpreter (the project's virtual environment).
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    return {**os.environ, "PATH": path, **extra}


def _run(command, **extra):
    return subprocess.run(command, cwd=ROOT, env=_environment(**extra), capture_output=True,
                          text=True, timeout=1800)  # fmt: skip


def _rehearse(device_dir, out, state_dir, *options):
    result = _run(["bash", "release/device_train.sh", "--rehearse", "--rehearse-seconds", "3",
                   "--state-dir", str(state_dir), *options],
                  OUT=str(out), DEVICE_DIR=str(device_dir))  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((out / "train_log.json").read_text()), result.stdout


def _printed_total(printed):
    total = [line for line in printed.splitlines() if line.startswith("total (limit 64 MiB)")]
    assert total, printed
    return float(total[0].split()[-1])


def _digest(arrays):
    """SHA-256 (16 hex digits) of float32 bytes, in order: what the log's digests hold."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array, "float32").tobytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    output = tmp_path_factory.mktemp("pack") / ".device"
    result = _run([sys.executable, "release/pack_device.py", "--output", str(output)])
    assert result.returncode == 0, result.stderr[-3000:]
    return output, result.stdout


@pytest.fixture(scope="module")
def two_calls(packed, tmp_path_factory):
    """Call 1 measures two candidates and trains; call 2 resumes its state on 'the same
    machine' (the same state folder). The state after call 1 is kept aside."""
    output, _ = packed
    folder = tmp_path_factory.mktemp("calls")
    state = folder / "state"
    flags = ("--xla-flags", "recommended")  # the same flags: the cache key includes them
    first, first_printed = _rehearse(
        output, folder / "out1", state, "--measure-candidates", "--candidates", "2,2:remat",
        "--plan-seconds", "8", "--budget-used", "45", "--time-inference", *flags,
    )  # fmt: skip
    shutil.copyfile(state / device_train.STATE_FILE, folder / "state-after-1.npz")
    second, second_printed = _rehearse(output, folder / "out2", state, "--resume", *flags)
    return {"first": first, "second": second, "folder": folder, "state": state,
            "printed": (first_printed, second_printed)}  # fmt: skip


# === The pack ===


@rehearsal
@pytest.mark.slow
def test_pack_fits_the_travel_limit(packed):
    output, printed = packed
    assert _printed_total(printed) <= 64.0
    manifest = json.loads((output / "manifest.json").read_text())
    assert manifest["frames"] == 200 and manifest["frame_names"] == ["000001.jpg", "000200.jpg"]
    assert manifest["frames_dropped_for_init"] == 0 and manifest["init"] is None
    assert manifest["kernels"] >= 2048
    # Fewer, larger photos, from every source folder, landscape, at most 768 px.
    sizes = np.array(manifest["photo_sizes"])
    assert manifest["photos"] == len(sizes) == len(os.listdir(output / "photos")) > 40
    assert sizes.max() <= 768 and sizes[:, 1].max() == 768 and (sizes[:, 0] <= sizes[:, 1]).all()
    assert sizes.min() >= 296  # the device's blurred window: patch 256 + kernel 41 - 1
    folders = {source.split(os.sep)[0] for source in manifest["photo_sources"]}
    assert folders == set(os.listdir(os.path.join(SHARED, "train_photos")))
    # The training frames re-encoded close to the originals, with fewer bytes, and none of
    # the validation frames (201-299).
    frames = sorted(os.listdir(output / "frames"))
    assert frames[-1] == "000200.jpg" and len(frames) == 200
    source = os.path.join(SHARED, "gopro_GOPR0477_11_00", "frames", "000123.jpg")
    packed_frame = output / "frames" / "000123.jpg"
    assert os.path.getsize(packed_frame) < 0.8 * os.path.getsize(source)
    with Image.open(source) as original, Image.open(packed_frame) as packed_image:
        assert JpegImagePlugin.get_sampling(packed_image) == 0  # 4:4:4, colour kept sharp
        psnr = skimage.metrics.peak_signal_noise_ratio(np.asarray(original.convert("RGB")),
                                                       np.asarray(packed_image))  # fmt: skip
    assert 45 < psnr < 60 and manifest["frame_quality"] == 90
    assert abs(manifest["frame_psnr_to_originals"] - psnr) < 1.0  # one frame near the mean
    wheels = sorted(os.listdir(output / "wheels"))
    assert any(name.startswith("keras-") for name in wheels)
    assert any(name.startswith("optree-") and "cp312" in name for name in wheels)
    with np.load(output / "kernels.npz") as bank:
        kernels = bank["kernels"].astype("float64")
    np.testing.assert_allclose(kernels.sum(axis=(1, 2)), 1.0, atol=2e-2)  # stored in float16


@rehearsal
@pytest.mark.slow
def test_pack_with_returned_weights_still_travels(tmp_path):
    """The bundled weights stand in for a returned $OUT/model (the same 14 MB of float16):
    photos, then the last frames, make room, and the weights unpack byte for byte."""
    output = tmp_path / ".device"
    result = _run([sys.executable, "release/pack_device.py", "--output", str(output),
                   "--init", BUNDLED])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert _printed_total(result.stdout) <= 64.0
    manifest = json.loads((output / "manifest.json").read_text())
    assert 100 <= manifest["frames"] < 200 and manifest["frames_dropped_for_init"] > 0
    assert manifest["frames"] + manifest["frames_dropped_for_init"] == 200
    assert manifest["frame_names"][0] == "000001.jpg"  # the first frames, in order
    assert manifest["photos"] > 0 and manifest["init"]["model"] == os.path.relpath(BUNDLED, ROOT)
    weights = os.path.join(BUNDLED, "model.weights.h5")
    packed = output / "init" / device_sources.PACKED_WEIGHTS
    # Byte planes in xz: 0.76 of the float16 file for the CPU weights of 2026-11-25, 0.81 for
    # run 2's (trained weights have more entropy); the method is checked against plain xz below.
    assert os.path.getsize(packed) < 0.9 * os.path.getsize(weights)
    restored = tmp_path / "restored.h5"
    device_sources.unpack_weights(packed, restored)
    with open(weights, "rb") as file:
        assert restored.read_bytes() == file.read()
    assert sorted(os.listdir(output / "init")) == sorted(
        [device_sources.PACKED_WEIGHTS, device_sources.INIT_SOURCE] +
        [name for name in os.listdir(BUNDLED) if name not in ("model.weights.h5", INT8_FILE_NAME)]
    )  # fmt: skip


# === One call, then a second call that resumes it ===


@rehearsal
@pytest.mark.slow
def test_rehearsal_returns_loadable_weights_and_a_log(two_calls):
    for name in ("out1", "out2"):
        out = two_calls["folder"] / name
        # What comes back from a device: at most 8 files of at most 16 MiB, 2 folders down.
        files = [os.path.join(root, file) for root, _, names in os.walk(out) for file in names]
        assert 0 < len(files) <= 8
        assert all(os.path.getsize(path) <= 16 * MIB for path in files)
        assert all(os.path.relpath(path, out).count(os.sep) <= 2 for path in files)
        model = AttnDeblurNet.from_pretrained(out / "model")
        assert all(np.isfinite(weight).all() for weight in model.get_weights())
        metadata = json.loads((out / "model" / "metadata.json").read_text())["keras_attn_deblur"]
        assert metadata["weights_dtype"] == "float16"
        # The card says what the run trained on: the default recipe's frame windows and mix.
        card = (out / "model" / "README.md").read_text()
        assert "50% GoPro GOPR0477 frames 1-200 averaged over 7-41 frames" in card
        assert "colour and exposure jitter" in card

    log = two_calls["first"]
    assert log["status"] == "finished" and log["steps"] >= 1
    assert log["patches"] == log["steps"] * log["batch_size"]
    assert log["patches_per_second"] > 0 and 0 < log["mfu"]
    assert log["rows"] and {"step", "loss", "psnr", "patches_per_second", "tflops", "mfu",
                            "host_fraction"} <= set(log["rows"][-1])  # fmt: skip
    assert 0 <= log["synthesis_fraction"] and log["inference_ms"] > 0
    assert log["sources"]["frames"] == [200, 720, 1280, 3]
    photos, sizes = log["sources"]["photos"], log["sources"]["photo_sizes"]
    assert photos[1:] == [768, 768, 3] and sizes == [photos[0], 2]  # one padded stack
    assert log["xla"]["used"] and log["xla"]["flags"] == device_train.RECOMMENDED_XLA_FLAGS


@rehearsal
@pytest.mark.slow
def test_the_first_call_prints_the_device_time_and_its_plan(two_calls):
    first, second = (printed.splitlines()[0] for printed in two_calls["printed"])
    assert first.startswith("device time: 45 s used before this call (passed by the caller), "
                            "855 s left of 900; this call: load, start from a tiny model "
                            "(rehearsal)")  # fmt: skip
    assert "compile (the cache is empty: a full compilation)" in first
    assert "resume the state in" in second and "read from it if this step was compiled" in second
    assert "(estimated from the last call)" in second
    # The second call's figure: the first one's plus the seconds between their starts.
    calls = two_calls["second"]["calls"]
    estimate = two_calls["second"]["device_time"]["used_before"]
    assert estimate == pytest.approx(45 + calls[1]["started"] - calls[0]["started"], abs=0.01)
    budget = device_plan.read_budget(two_calls["state"])
    assert [call["started"] for call in budget["calls"]] == [call["started"] for call in calls]
    assert all(call["command_seconds"] > 0 for call in budget["calls"])


@rehearsal
@pytest.mark.slow
def test_candidates_are_timed_and_the_resumed_call_keeps_the_choice(two_calls):
    first, second = two_calls["first"], two_calls["second"]
    candidates = first["candidates"]
    assert [(row["batch_size"], row["remat"]) for row in candidates] == [(2, False), (2, True)]
    assert all(row["fits"] and row["patches_per_second"] > 0 for row in candidates)
    fastest = max(candidates, key=lambda row: row["patches_per_second"])
    assert (first["batch_size"], first["remat"]) == (fastest["batch_size"], fastest["remat"])
    assert (second["batch_size"], second["remat"]) == (first["batch_size"], first["remat"])
    assert "candidates" not in second  # not measured again
    # Compiled one after another, each with its own cache figures (nothing cached yet).
    assert all(row["compile_seconds"] > 0 and row["compile_cache"]["misses"] >= 1
               for row in candidates)  # fmt: skip


@rehearsal
@pytest.mark.slow
def test_candidates_stop_when_their_time_is_up(packed, tmp_path):
    """With no time for candidates, the first one is compiled and trained; the rest are
    logged as skipped, not compiled."""
    output, _ = packed
    log, printed = _rehearse(output, tmp_path / "out", tmp_path / "state", "--measure-candidates",
                             "--candidates", "2,1:remat", "--candidates-seconds", "0",
                             "--rehearse-seconds", "1")  # fmt: skip
    first, second = log["candidates"]
    assert (first["batch_size"], first["remat"], first["fits"]) == (2, False, True)
    assert first["patches_per_second"] > 0
    assert second == {"batch_size": 1, "remat": True,
                      "skipped": "the time for candidates ran out"}  # fmt: skip
    assert (log["batch_size"], log["remat"]) == (2, False) and log["steps"] >= 1
    assert "candidate batch 1 remat: skipped" in printed


@rehearsal
def test_a_call_stuck_before_training_ends_itself(packed, tmp_path):
    """The watchdog: no training step --start-timeout seconds after the call's start ends
    the call with exit 4 and a one-line error, and the log names the phase."""
    output, _ = packed
    result = _run(["bash", "release/device_train.sh", "--rehearse", "--start-timeout", "1",
                   "--state-dir", str(tmp_path / "state")],
                  OUT=str(tmp_path / "out"), DEVICE_DIR=str(output))  # fmt: skip
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("device_train: error: no training step 1 s after the call's start")
    assert "--measure-candidates" in last
    log = json.loads((tmp_path / "out" / "train_log.json").read_text())
    assert log["status"].startswith("stopped by the watchdog while ") and log["rows"] == []
    assert not (tmp_path / "out" / "model").exists()


@rehearsal
@pytest.mark.slow
def test_the_second_call_resumes_parameters_optimizer_schedule_and_cache(two_calls):
    first, second = two_calls["first"], two_calls["second"]
    # The parameters it starts from are the ones call 1 saved (read here from the state file).
    with np.load(two_calls["folder"] / "state-after-1.npz") as state:
        count = len([key for key in state.files if key.startswith("trainable/")])
        saved = [state[f"trainable/{index}"] for index in range(count)]
        record = json.loads(str(state["meta"]))["record"]
    assert second["resumed"]["params_sha256"] == _digest(saved) == first["params_sha256"]
    assert second["start_params_sha256"] == _digest(saved)
    # The step count and the optimizer's iteration count continue.
    assert record["step"] == first["steps"] == first["iterations"]
    assert second["resumed"]["step"] == first["steps"]
    assert second["resumed"]["iterations"] == second["first_step"]["iterations"] == first["steps"]
    call_steps = second["calls"][1]["steps"]
    assert call_steps >= 1 and second["steps"] == first["steps"] + call_steps
    assert second["iterations"] == second["steps"]
    assert second["patches"] == second["steps"] * second["batch_size"]
    assert second["train_seconds"] == pytest.approx(
        first["train_seconds"] + second["calls"][1]["train_seconds"], abs=0.2
    )
    assert [row["step"] for row in second["rows"]][: len(first["rows"])] == [
        row["step"] for row in first["rows"]
    ]
    assert second["rows"][-1]["step"] > first["rows"][-1]["step"]
    # The schedule continues where call 1 stopped: no second warm-up.
    schedule = first["schedule"]
    assert schedule["plan_seconds"] == second["schedule"]["plan_seconds"] == 8
    start = second["first_step"]
    assert start["step"] == first["steps"] > schedule["warmup_steps"]
    assert start["progress"] == pytest.approx(schedule["trained_seconds"] / 8, abs=0.02)
    expected = device_train.learning_rate(start["step"], 5e-4, schedule["warmup_steps"],
                                          progress=start["progress"])  # fmt: skip
    assert start["learning_rate"] == pytest.approx(expected, rel=1e-9)
    assert start["learning_rate"] > 5e-4 * 0.01 and first["first_step"]["learning_rate"] == 0.0
    assert second["schedule"]["progress"] > schedule["progress"]
    # The step came from the persistent compilation cache, not a compilation.
    assert first["compile_cache"]["misses"] >= 1 and first["compile_cache"]["hits"] == 0
    assert second["compile_cache"] == {"hits": 1, "misses": 0}
    assert second["compile_seconds"] < first["compile_seconds"]


# === A call that continues from returned weights (the machine went back) ===


@rehearsal
@pytest.mark.slow
def test_a_fresh_machine_continues_from_the_returned_weights(two_calls, tmp_path):
    returned = two_calls["folder"] / "out2" / "model"
    output = tmp_path / ".device"
    result = _run([sys.executable, "release/pack_device.py", "--output", str(output),
                   "--init", str(returned)])  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (output / "init" / device_sources.LOG_NAME).is_file()  # the schedule travels too
    log, _ = _rehearse(output, tmp_path / "out", tmp_path / "fresh-state",
                       "--init", str(output / "init"))  # fmt: skip
    # It starts from the returned float16 weights, with a fresh optimizer...
    model = AttnDeblurNet.from_pretrained(returned)
    trainable = [keras.ops.convert_to_numpy(weight.value) for weight in model.trainable_weights]
    assert log["start_params_sha256"] == _digest(trainable)
    assert log["first_step"]["step"] == 0 and log["first_step"]["iterations"] == 0
    assert "resumed" not in log and log["init"] == str(returned)
    # ...and continues the returned run's schedule after a short warm-up.
    previous = two_calls["second"]["schedule"]
    assert log["schedule"]["plan_seconds"] == previous["plan_seconds"]
    assert log["schedule"]["warmup_steps"] == 2
    assert log["first_step"]["progress"] == pytest.approx(
        previous["trained_seconds"] / previous["plan_seconds"], abs=0.02
    )
    # Its own training only: the returned run is counted from its own log.
    assert log["train_seconds"] < previous["trained_seconds"]


# === Errors ===


@rehearsal
def test_resume_without_a_state_is_a_one_line_error(packed, tmp_path):
    output, _ = packed
    result = _run(["bash", "release/device_train.sh", "--rehearse", "--resume",
                   "--state-dir", str(tmp_path / "empty")],
                  OUT=str(tmp_path / "out"), DEVICE_DIR=str(output))  # fmt: skip
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert "--resume: no training state in" in result.stderr and "--init" in result.stderr


@rehearsal
def test_missing_pack_is_a_one_line_error(tmp_path):
    result = _run(["bash", "release/device_train.sh", "--rehearse"],
                  OUT=str(tmp_path / "out"), DEVICE_DIR=str(tmp_path / "nothing"))  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "run 'python release/pack_device.py' first" in result.stderr


@rehearsal
def test_a_window_range_without_an_odd_count_is_a_one_line_error(packed, tmp_path):
    output, _ = packed
    result = _run(["bash", "release/device_train.sh", "--rehearse", "--frames-per-pair", "8", "8",
                   "--state-dir", str(tmp_path / "state")],
                  OUT=str(tmp_path / "out"), DEVICE_DIR=str(output))  # fmt: skip
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("device_train: error: --frames-per-pair:") and "odd" in last
    assert not (tmp_path / "out" / "model").exists()


@rehearsal
def test_pack_refuses_a_folder_it_did_not_write(tmp_path):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = _run([sys.executable, "release/pack_device.py", "--output", str(foreign)])
    assert result.returncode != 0 and "is not a folder this script wrote" in result.stderr
    assert (foreign / "notes.txt").read_text() == "keep me"


# === The plan, the schedule and the packed weights (both backends) ===


def test_plan_fills_the_window_with_two_calls_then_resumes():
    calls = device_plan.plan_calls(0)
    assert len(calls) == 2
    first, second = calls
    assert all(call["timeout_s"] <= device_plan.COMMAND_LIMIT_S for call in calls)
    times = device_plan.TIMES
    held = times["start"] + first["timeout_s"] + times["gap"] + second["timeout_s"]
    assert held + times["reserve"] <= device_plan.TOTAL_S < held + times["reserve"] + times["gap"]
    assert first["timeout_s"] == device_plan.COMMAND_LIMIT_S
    assert "--resume" not in first["command"] and "--budget-used 45" in first["command"]
    plan = first["train_seconds"] + second["train_seconds"]
    assert f"--plan-seconds {plan}" in first["command"]
    assert second["command"].startswith("bash release/device_train.sh --resume")
    assert "--plan-seconds" not in second["command"]  # the state carries the plan
    for call in calls:
        assert f"--deadline {call['deadline']}" in call["command"] and call["carry"] == [".device"]
        assert call["deadline"] == call["timeout_s"] - times["finish"]
    assert second["train_seconds"] == second["deadline"] - times["load"] - times["compile_cached"]
    # A held machine: the calls that resume; from returned weights: --init; too little: none.
    warm = device_plan.plan_calls(655, warm=True)
    assert len(warm) == 1 and "--resume" in warm[0]["command"]
    assert warm[0]["timeout_s"] == 900 - 655 - times["reserve"]
    assert "--init .device/init" in device_plan.plan_calls(0, init=True)[0]["command"]
    assert device_plan.plan_calls(900 - device_plan.MIN_START_LEFT_S + 1) == []
    assert device_plan.plan_calls(860, warm=True) == []
    # Measuring candidates costs call 1 the time given to them (compiled one by one).
    measured = device_plan.plan_calls(0, measure_candidates=True)
    assert "--measure-candidates" in measured[0]["command"]
    assert first["train_seconds"] - measured[0]["train_seconds"] == times["candidates"]
    assert "--measure-candidates" not in measured[1]["command"]


def test_plan_prints_the_run_calls(capsys):
    assert device_plan.main(["--used", "0"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("device time: 0 s used, 900 s left of 900")
    calls = [json.loads(line.split(": run ", 1)[1]) for line in printed.splitlines()
             if ": run {" in line]  # fmt: skip
    assert [call["timeout_s"] for call in calls] == [
        call["timeout_s"] for call in device_plan.plan_calls(0)
    ]
    assert "give_back" in printed and "pack_device.py --init out/device-1/model" in printed
    assert "If a call exits 4 (its watchdog" in printed


def test_budget_file_estimates_the_time_used_before_a_call(tmp_path):
    budget = device_plan.read_budget(tmp_path)
    assert device_plan.used_before(budget, 1000.0) == (None, "unknown: pass --budget-used")
    budget = device_plan.record_call(tmp_path, budget, {"started": 1000.0, "used_before": 45.0})
    assert device_plan.read_budget(tmp_path) == budget
    assert device_plan.used_before(budget, 1650.0) == (695.0, "estimated from the last call")
    assert device_plan.used_before(budget, 1650.0, passed=700) == (700.0, "passed by the caller")


def test_schedule_warms_up_in_steps_then_follows_the_seconds_trained():
    peak, warmup = 1e-3, 10
    assert device_train.learning_rate(0, peak, warmup, progress=0.5) == 0.0
    assert device_train.learning_rate(5, peak, warmup, progress=0.5) == pytest.approx(5e-4)
    # After the warm-up only the share of the plan trained counts, whatever the step.
    for progress, factor in ((0.0, 1.0), (0.5, 0.505), (1.0, 0.01), (1.5, 0.01)):
        for step in (10, 500, 10**6):
            assert device_train.learning_rate(step, peak, warmup, progress=progress) == (
                pytest.approx(peak * factor, rel=1e-9)
            )
    # Without a progress, the cosine runs over steps as before (Keras's CosineDecay).
    assert device_train.learning_rate(55, peak, warmup, 100) == pytest.approx(peak * 0.505)


@pytest.mark.parametrize("length", [0, 1, 2, 1001])
def test_packed_weights_unpack_byte_for_byte(tmp_path, length):
    original = tmp_path / "weights.h5"
    original.write_bytes(np.random.default_rng(length).integers(0, 256, length, "uint8").tobytes())
    device_sources.pack_weights(original, tmp_path / "packed.xz")
    device_sources.unpack_weights(tmp_path / "packed.xz", tmp_path / "restored.h5")
    assert (tmp_path / "restored.h5").read_bytes() == original.read_bytes()


def test_packed_float16_weights_are_smaller_than_plain_xz(tmp_path):
    # Float16 weights: random low bytes, few distinct high bytes (sign and exponent).
    weights = np.random.default_rng(0).normal(0, 0.05, 200_000).astype("float16")
    original = tmp_path / "weights.h5"
    original.write_bytes(weights.tobytes())
    packed = device_sources.pack_weights(original, tmp_path / "packed.xz")
    assert packed < 0.9 * weights.nbytes
    assert packed < len(lzma.compress(weights.tobytes(), preset=6))  # the byte planes help


def test_padded_stack_keeps_each_photo_top_left_with_its_size():
    photos = [np.full((3, 5, 3), 1, "uint8"), np.full((4, 2, 3), 2, "uint8")]
    stack, sizes = device_sources.padded_stack(photos)
    assert stack.shape == (2, 4, 5, 3) and sizes.tolist() == [[3, 5], [4, 2]]
    assert (stack[0, :3] == 1).all() and (stack[0, 3] == 0).all()
    assert (stack[1, :, :2] == 2).all() and (stack[1, :, 2:] == 0).all()


def test_candidates_parse_and_bad_ones_are_usage_errors(capsys):
    assert device_train.parse_candidates("128,256:remat", 64) == [(128, False), (256, True)]
    assert device_train.parse_candidates(None, 64) == [(64, False), (64, True), (128, True)]
    with pytest.raises(SystemExit):
        device_train.parse_candidates("128:fast", 64)
    assert "'128:fast' is not BATCH or BATCH:remat" in capsys.readouterr().err


def test_xla_flags_that_xla_rejects_are_found_before_training():
    usable, why = device_train.usable_xla_flags(device_train.RECOMMENDED_XLA_FLAGS)
    assert usable and why == ""
    usable, why = device_train.usable_xla_flags("--xla_no_such_flag_here=1")
    assert not usable and "xla_no_such_flag_here" in why
