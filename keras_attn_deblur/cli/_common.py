"""What every command of `attn-deblur` shares: errors, options, model loading, output checks."""

import argparse
import contextlib
import os
import sys
import textwrap
import warnings

from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur._utils.paths import check_output_folder
from keras_attn_deblur._utils.validation import non_negative_int
from keras_attn_deblur._utils.validation import positive_float
from keras_attn_deblur._utils.validation import positive_int

PROG = "attn-deblur"
DEFAULT_MODEL = "patent"  # the bundled pretrained weights
MODEL_HELP = (
    "the model: a preset name (patent, lite; untrained unless weights are bundled), "
    "a folder written by save_pretrained, a .keras file, or a Hub repo id 'org/name'"
)
_PRECISIONS = ("auto", "float32", "bfloat16", "int8")


class CommandError(Exception):
    """A failure the command reports in one line (exit code 1)."""


class UsageError(Exception):
    """A command-line usage error (exit code 2)."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised instead of printed."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


# === Commands and options ===


def examples(*lines):
    """The `examples:` epilog of a help text."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def add_command(subparsers, name, help_text, description, example_lines):
    """A subcommand's parser, with its description, examples and `--debug`."""
    parser = subparsers.add_parser(
        name,
        help=help_text,
        description=textwrap.dedent(description),
        epilog=examples(*example_lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--debug", action="store_true",
        help="show the full traceback of an error, and TensorFlow's and CUDA's own log lines",
    )  # fmt: skip
    return parser


def add_model_option(parser, required, help_suffix="", default=None):
    """`--model`: a preset, a save_pretrained folder, a .keras file or a Hub id."""
    if default is not None:
        help_suffix = f" (default: {default}, the bundled pretrained weights){help_suffix}"
    parser.add_argument(
        "--model", required=required, default=default, metavar="MODEL",
        help=MODEL_HELP + help_suffix,
    )  # fmt: skip


def add_inference_options(parser):
    """The options of `inference.deblur`: tiling, precision, memory budget, ensemble."""
    group = parser.add_argument_group("inference")
    group.add_argument(
        "--tile-size", type=positive_int, default=None, metavar="PIXELS",
        help="process large images in tiles of at most this size, within --memory-budget "
        "(default: chosen from the memory budget)",
    )
    group.add_argument(
        "--tile-overlap", type=non_negative_int, default=32, metavar="PIXELS",
        help="overlap of neighbouring tiles, blended smoothly (32)",
    )
    group.add_argument(
        "--precision", choices=_PRECISIONS, default="auto",
        help="compute precision (default: auto, a bfloat16 model such as the bundled one runs "
        "in bfloat16 where the CPU has AMX or the GPU computes it natively, else in its int8 "
        "build where the CPU has VNNI and the weights have one, else in bfloat16 with AVX-512 "
        "BF16, else float32; a float32 model stays float32). int8: the weights' int8 build, "
        "through ONNX Runtime",
    )
    group.add_argument(
        "--int8-model", default=None, metavar="FILE",
        help="the model's int8 build for --precision int8, from `export M.int8.onnx "
        "--quantize int8` (default: the one shipped with the bundled weights)",
    )
    group.add_argument(
        "--memory-budget", type=positive_float, default=None, metavar="MB",
        help="activation memory allowed for one prediction; larger --tile-size tiles are "
        "shrunk to fit, with a warning (2048 MB)",
    )
    group.add_argument(
        "--ensemble", action="store_true",
        help="flip self-ensemble: average the outputs of flipped copies (slower, a bit better)",
    )
    group.add_argument(
        "--verbose", action="store_true",
        help="print the precision chosen and why",
    )  # fmt: skip


def make_deblurrer(model, args):
    """The `inference.Deblurrer` of `model` with `add_inference_options`' flags.

    In the commands that have `--quiet` (deblur, evaluate) the tiles of a
    large image show their progress unless it is given; `--verbose` prints
    the precision chosen, once.
    """
    from keras_attn_deblur.inference import Deblurrer

    deblurrer = Deblurrer(
        model,
        tile_size=args.tile_size,
        tile_overlap=args.tile_overlap,
        precision=args.precision,
        ensemble=args.ensemble,
        memory_budget_mb=args.memory_budget,
        progress=not getattr(args, "quiet", True),
        int8_model=args.int8_model,
    )
    if args.verbose:
        print(f"{PROG}: precision {deblurrer.precision_choice}", file=sys.stderr, flush=True)
    return deblurrer


# === Model loading ===


def load_model(spec, *, warn_untrained=True):
    """The model that `--model` names: `AttnDeblurNet.from_pretrained(spec, allow_untrained=True)`.

    Every kind of handle (a `.keras` file, a save_pretrained folder, a preset,
    a bundled name, a Hub repo id) is resolved by `keras_attn_deblur.hub.resolve`.
    A preset without bundled weights loads untrained; its warning is printed
    as `attn-deblur: warning: ...` unless `warn_untrained=False`.
    """
    import keras

    from keras_attn_deblur.hub import UntrainedWeightsWarning
    from keras_attn_deblur.hub import resolve
    from keras_attn_deblur.models import AttnDeblurNet

    # A .keras file may hold any Keras model (evaluate, export and deblur take one);
    # every other handle names an AttnDeblurNet.
    model_class = keras.Model if spec.lower().endswith(".keras") else AttnDeblurNet
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = resolve.from_pretrained(model_class, spec, allow_untrained=True)
    for warning in caught:
        if warn_untrained or not issubclass(warning.category, UntrainedWeightsWarning):
            show_warning(warning.message, warning.category, warning.filename, warning.lineno)
    return model


# === Outputs ===


def check_new_output(path, overwrite, inputs=()):
    """Refuses to write over an input, or over an existing file without --overwrite."""
    check_output_folder(path, writable=False)
    if not os.path.lexists(path):
        return
    if os.path.isdir(path):
        raise CommandError(f"The output '{path}' is a folder; pass a file path.")
    for source in inputs:
        if source and os.path.exists(source) and os.path.samefile(path, source):
            raise CommandError(
                f"The output '{path}' is one of the inputs; refusing to write over it. "
                "Choose another output path."
            )
    if not overwrite:
        raise CommandError(f"The output '{path}' already exists; pass --overwrite to replace it.")


# === Errors and warnings on the terminal ===


def error_line(error):
    """An exception as one line: its message's first line and a few of the next."""
    message = one_line(error, max_lines=4)
    if not isinstance(error, (CommandError, ValueError, OSError, ImportError)):
        message = f"{type(error).__name__}: {message} (run with --debug for the traceback)"
    return message


def print_error(message):
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)


def show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as `attn-deblur: warning: ...`, one line each, on stderr.

    Deprecation notices of the libraries underneath are for developers, not
    for command-line users, and are not shown.
    """
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning)):
        return
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=file or sys.stderr, flush=True)


def native_log_filter(debug):
    """TensorFlow's and CUDA's native log lines stay off the terminal unless --debug.

    `KERAS_ATTN_DEBLUR_NATIVE_LOGS=1` in the environment shows them too.
    """
    if debug:
        return contextlib.nullcontext()
    from keras_attn_deblur._utils.native_logs import filtered_stderr

    return filtered_stderr()
