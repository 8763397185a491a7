"""A quiet, responsive command line and library: issue 23.

- `--help`, each command's `--help`, `--version` and argument errors answer
  without importing Keras, TensorFlow or JAX (Python's own `-X importtime`
  record and `sys.modules` are the references);
- importing the package imports none of them either, and yet a `.keras` file
  of the package's classes loads with plain `keras.saving.load_model` in a
  fresh process, whichever is imported first;
- TensorFlow's native start-up lines (`cudart_stub`, `cpu_feature_guard`,
  `failed call to cuInit`, ...) stay off stderr in a library user's program,
  as on the command line; `KERAS_ATTN_DEBLUR_NATIVE_LOGS=1` shows them;
- the command line's stderr filter keeps a terminal a terminal, so that
  progress lines are still drawn in place.

Every check runs in a fresh interpreter, in `tmp_path` (so that the package
comes from the installation or `PYTHONPATH`, not from the working folder).
"""

import ast
import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import compile_for_deblurring

ROOT = pathlib.Path(__file__).resolve().parents[1]
COMMANDS = ("deblur", "evaluate", "train", "visualize", "export", "push", "demo", "push-space")
HEAVY = ("keras", "tensorflow", "jax", "gradio")


def python_environment(env=None):
    """This process's environment with `env`, less the TF_CPP_MIN_LOG_LEVEL that importing
    the package here set."""
    environment = {**os.environ}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    return {**environment, **(env or {})}


def run_python(arguments, tmp_path, env=None):
    """`python ARGUMENTS` in a fresh interpreter, in `tmp_path`."""
    return subprocess.run(
        [sys.executable, *arguments], cwd=tmp_path, env=python_environment(env),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def imported_modules(importtime_stderr):
    """The top-level modules that `python -X importtime` says were imported."""
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)", importtime_stderr, re.M)
    return {name.split(".")[0] for name in names}


# === --help and argument errors import no backend ===

_MAIN_CALLS = """
import sys
from keras_attn_deblur.cli import main
codes = [main(argv) for argv in {calls!r}]
print(codes)
print(sorted(name for name in {heavy!r} if name in sys.modules))
"""


def test_help_version_and_argument_errors_import_no_backend(tmp_path):
    calls = [["--help"], ["--version"], []]
    calls += [[command, "--help"] for command in COMMANDS]
    calls += [["deblur", "a.png", "b.png", "--tile-size", "-3"], ["train", "--steps", "x"],
              ["evaluate", "--no-such-option"], ["no-such-command"]]  # fmt: skip
    code = _MAIN_CALLS.format(calls=calls, heavy=HEAVY)
    result = run_python(["-c", code], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    codes, loaded = result.stdout.strip().splitlines()[-2:]
    assert codes == str([0, 0, 2] + [0] * len(COMMANDS) + [2, 2, 2, 2])
    assert loaded == "[]"
    # Each argument error is one line on stderr.
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 4 and all(line.startswith("attn-deblur: error: ") for line in errors)


@pytest.mark.parametrize(
    "arguments", [["--help"], ["deblur", "--help"], ["deblur", "in.png", "--tile-size", "0"]]
)
def test_python_m_imports_no_backend(arguments, tmp_path):
    result = run_python(["-X", "importtime", "-m", "keras_attn_deblur", *arguments], tmp_path)
    modules = imported_modules(result.stderr)
    assert "keras_attn_deblur" in modules  # the record is read right
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))
    if arguments[-1] == "--help":
        assert result.returncode == 0 and result.stdout.startswith("usage: attn-deblur")
    else:
        assert result.returncode == 2
        assert "attn-deblur: error: argument --tile-size" in result.stderr


# === importing the package imports no backend; the API still resolves ===

_IMPORT_ONLY = """
import sys
import keras_attn_deblur as kad
print(sorted(name for name in {heavy!r} if name in sys.modules))
names = sorted(set(kad.__all__) - set(dir(kad)))
from keras_attn_deblur import AttnDeblurNet, Deblurrer, PRESETS, psnr, training, inference
from keras_attn_deblur import data, visualize
print(names, AttnDeblurNet.__name__, Deblurrer.__name__, sorted(PRESETS)[0], kad.io.__name__)
"""


def test_import_loads_no_backend_and_every_public_name_resolves(tmp_path):
    result = run_python(["-c", _IMPORT_ONLY.format(heavy=HEAVY)], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    loaded, resolved = result.stdout.strip().splitlines()[-2:]
    assert loaded == "[]"
    assert resolved == "[] AttnDeblurNet Deblurrer lite keras_attn_deblur.io"


# === plain keras.saving.load_model finds the registered classes ===

_LOAD = """
import sys
{imports}
import keras
import numpy as np
model = keras.saving.load_model(sys.argv[1])
images = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict(images, verbose=0))
scores = model.evaluate(images, images, verbose=0, return_dict=True)
registered = keras.saving.get_custom_objects()
print(sorted(key.split(">")[1] for key in registered if key.startswith("keras_attn_deblur>")))
print(type(model).__name__, type(model.loss).__name__, sorted(scores))
"""


def registered_in_the_source():
    """The names that `@keras.saving.register_keras_serializable` decorates in the package."""
    names = set()
    for path in (ROOT / "keras_attn_deblur").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            decorators = getattr(node, "decorator_list", [])
            calls = [d.func for d in decorators if isinstance(d, ast.Call)]
            if any(getattr(call, "attr", None) == "register_keras_serializable" for call in calls):
                names.add(node.name)
    return names


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved")
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    model = compile_for_deblurring(model, jit_compile=False)  # Charbonnier, PSNR, SSIM
    images = np.random.default_rng(0).random((1, 24, 26, 3)).astype("float32")
    model.save(folder / "model.keras")
    np.save(folder / "images.npy", images)
    np.save(folder / "expected.npy", model.predict(images, verbose=0))
    scores = model.evaluate(images, images, verbose=0, return_dict=True)
    return folder, f"AttnDeblurNet {type(model.loss).__name__} {sorted(scores)}"


@pytest.mark.parametrize(
    "imports",
    [
        "import keras_attn_deblur",  # the package first, Keras after it
        pytest.param("import keras; import keras_attn_deblur", marks=pytest.mark.slow),
        pytest.param(  # a submodule only: registered after it is imported
            "from keras_attn_deblur.inference import deblur_file", marks=pytest.mark.slow
        ),
    ],
)
def test_keras_load_model_in_a_fresh_process_finds_the_classes(imports, saved_model, tmp_path):
    saved_model, expected = saved_model
    assert "CharbonnierLoss" in expected and "psnr" in expected  # classes of the package
    result = run_python(
        ["-c", _LOAD.format(imports=imports), str(saved_model / "model.keras"),
         str(saved_model / "images.npy"), str(tmp_path / "restored.npy")],
        tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    registered, loaded = result.stdout.strip().splitlines()[-2:]
    assert loaded == expected
    assert registered == str(sorted(registered_in_the_source()))
    np.testing.assert_allclose(
        np.load(tmp_path / "restored.npy"), np.load(saved_model / "expected.npy"), atol=1e-6
    )


# === TensorFlow's native start-up lines stay off a library user's stderr ===

# TensorFlow 2.21's start-up lines on this project's CPU machine, verbatim.
START_UP_LINES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796286722.753828    6826 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.",
    "I0000 00:00:1796286722.950638    6826 cpu_feature_guard.cc:227] This TensorFlow binary is "
    "optimized to use available CPU instructions in performance-critical operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow "
    "with the appropriate compiler flags.",
)
CUINIT_LINE = (
    "E0000 00:00:1796286785.572022    7308 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
    "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
)

# A stand-in for TensorFlow that prints those lines while it is imported, and
# the cuInit line when it looks for devices, as the real one does.
_FAKE_TENSORFLOW = """
import os
import types

for line in {start_up!r}:
    os.write(2, line.encode() + b"\\n")
os.write(2, b"not a log line: printed while importing\\n")
print("level", os.environ.get("TF_CPP_MIN_LOG_LEVEL"))


def list_physical_devices():
    print("devices listed", flush=True)
    os.write(2, {cuinit!r}.encode() + b"\\n")
    return []


config = types.SimpleNamespace(list_physical_devices=list_physical_devices)
"""

_USE_FAKE = """
import sys
print("own line before", file=sys.stderr, flush=True)
import keras_attn_deblur
import tensorflow
print("own line after", file=sys.stderr, flush=True)
"""


@pytest.fixture
def fake_tensorflow(tmp_path):
    package = tmp_path / "fake" / "tensorflow"
    package.mkdir(parents=True)
    fake = _FAKE_TENSORFLOW.format(start_up=START_UP_LINES, cuinit=CUINIT_LINE)
    (package / "__init__.py").write_text(fake)
    pythonpath = [str(tmp_path / "fake"), os.environ.get("PYTHONPATH")]
    pythonpath = os.pathsep.join(filter(None, pythonpath))
    return {"PYTHONPATH": pythonpath, "KERAS_BACKEND": "jax"}


def test_tensorflow_start_up_lines_are_dropped_in_a_library_program(fake_tensorflow, tmp_path):
    result = run_python(["-c", _USE_FAKE], tmp_path, env=fake_tensorflow)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        "own line before", "not a log line: printed while importing", "own line after"
    ]
    assert result.stdout.splitlines() == ["level 2", "devices listed"]  # inside the filter


def test_native_lines_are_shown_with_the_switch_and_a_set_level_is_kept(fake_tensorflow, tmp_path):
    env = {**fake_tensorflow, "KERAS_ATTN_DEBLUR_NATIVE_LOGS": "1"}
    result = run_python(["-c", _USE_FAKE], tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.splitlines() == [
        "own line before", *START_UP_LINES, "not a log line: printed while importing",
        "own line after",
    ]  # fmt: skip
    assert result.stdout.splitlines() == ["level None"]  # nothing set, no device lookup added
    env = {**fake_tensorflow, "TF_CPP_MIN_LOG_LEVEL": "0"}
    result = run_python(["-c", _USE_FAKE], tmp_path, env=env)
    assert result.stdout.splitlines()[0] == "level 0"  # the user's level, not 2


_TINY_PREDICT = """
import sys
print("own line before", file=sys.stderr, flush=True)
import numpy as np
import keras_attn_deblur as kad
model = kad.AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
print(model.predict(np.zeros((1, 12, 13, 3), "float32"), verbose=0).shape)
print("own line after", file=sys.stderr, flush=True)
"""


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_real_start_up_prints_only_the_programs_lines(backend, tmp_path):
    pytest.importorskip(backend)
    result = run_python(["-c", _TINY_PREDICT], tmp_path, env={"KERAS_BACKEND": backend})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "(1, 12, 13, 3)"
    assert result.stderr.splitlines() == ["own line before", "own line after"]


# === the command line's filter keeps a terminal a terminal ===

_AS_COMMAND_LINE = """
import os, sys
sys.argv[0] = "attn-deblur"  # as the installed script
import keras_attn_deblur
os.write(2, b"I0000 00:00:1796286722.753828    6826 cudart_stub.cc:31] No cuda drivers\\n")
print("own line", file=sys.stderr, flush=True)
print(sys.stderr.isatty(), os.get_terminal_size(2).columns if sys.stderr.isatty() else None)
"""


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_command_line_filter_keeps_stderr_a_terminal(tmp_path):
    import fcntl
    import struct
    import termios

    terminal, terminal_side = os.openpty()
    fcntl.ioctl(terminal_side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 97, 0, 0))
    try:
        result = subprocess.run(
            [sys.executable, "-c", _AS_COMMAND_LINE], cwd=tmp_path, env=python_environment(),
            stdout=subprocess.PIPE, stderr=terminal_side, text=True, timeout=600,
        )  # fmt: skip
        os.close(terminal_side)
        written = b""
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # EIO: every writer is gone
                break
            if not chunk:
                break
            written += chunk
    finally:
        os.close(terminal)
    assert result.returncode == 0
    assert result.stdout.strip() == "True 97"
    assert written.decode().replace("\r\n", "\n") == "own line\n"
