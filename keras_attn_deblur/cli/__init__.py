"""The `attn-deblur` command line: deblur, evaluate, train, visualize, export, push, demo.

```
attn-deblur deblur photo.jpg photo_sharp.jpg --model org/attn-deblur
attn-deblur deblur phone_photos/ deblurred/ --model org/attn-deblur --tile-size 512
attn-deblur evaluate --gopro /datasets/GOPRO_Large --model org/attn-deblur --csv gopro.csv
attn-deblur train --gopro /datasets/GOPRO_Large --preset patent --run-dir runs/gopro
attn-deblur visualize blurry.png --sharp sharp.png --model runs/gopro/model \\
    --side-by-side comparison.png --attention attention.png
attn-deblur export attn_deblur.onnx --model runs/gopro/model
attn-deblur push my-org/attn-deblur --model runs/gopro/model
attn-deblur demo --model runs/gopro/model
attn-deblur push-space my-org/attn-deblur-demo --model my-org/attn-deblur
```

Also `python -m keras_attn_deblur ...`. `main(argv)` returns the exit code:
0 on success, 1 when the work failed (an error, or some images of a batch
could not be processed), 2 for a usage error, 130 when interrupted. An
error is one line on stderr, `attn-deblur: error: ...`; `--debug` shows the
traceback instead.

Each command is one module of this package (`deblur.py`, `evaluate.py`,
...) with `register(subparsers)`, which declares its options, and
`run(args)`, which calls the library; this module only registers them.
"""

import argparse
import sys
import warnings

from keras_attn_deblur.cli import deblur
from keras_attn_deblur.cli import demo
from keras_attn_deblur.cli import evaluate
from keras_attn_deblur.cli import export
from keras_attn_deblur.cli import push
from keras_attn_deblur.cli import push_space
from keras_attn_deblur.cli import train
from keras_attn_deblur.cli import visualize
from keras_attn_deblur.cli._common import PROG
from keras_attn_deblur.cli._common import Parser
from keras_attn_deblur.cli._common import UsageError
from keras_attn_deblur.cli._common import error_line
from keras_attn_deblur.cli._common import examples
from keras_attn_deblur.cli._common import native_log_filter
from keras_attn_deblur.cli._common import print_error
from keras_attn_deblur.cli._common import show_warning

COMMANDS = (deblur, evaluate, train, visualize, export, push, demo, push_space)


def main(argv=None):
    """Runs the command line with `argv` (default: `sys.argv[1:]`); returns the exit code."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as error:
        print_error(str(error))
        return 2
    except SystemExit as exit_request:  # --help, --version
        return exit_request.code if isinstance(exit_request.code, int) else 0
    if args.command is None:
        parser.print_help()
        return 2
    try:
        with warnings.catch_warnings(), native_log_filter(args.debug):
            warnings.showwarning = show_warning
            return args.handler(args) or 0
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except UsageError as error:
        if args.debug:
            raise
        print_error(str(error))
        return 2
    except Exception as error:  # the one place that turns any error into one line
        if args.debug:
            raise
        print_error(error_line(error))
        return 1


def build_parser():
    """The `argparse` parser of `attn-deblur` and its subcommands."""
    from keras_attn_deblur.version import __version__

    parser = Parser(
        prog=PROG,
        description=(
            "Motion deblurring with a spatial-attention network (Keras 3): deblur photos, "
            "score a test set by the papers' protocol, train, draw pictures, export."
        ),
        epilog=examples(
            f"{PROG} deblur photo.jpg photo_sharp.jpg --model org/attn-deblur",
            f"{PROG} evaluate --gopro /datasets/GOPRO_Large --model org/attn-deblur",
            f"{PROG} train --photos my_sharp_photos/ --preset lite --steps 20000",
            f"{PROG} <command> --help",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.set_defaults(command=None, debug=False)
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="<command>")
    for command in COMMANDS:
        command.register(subparsers)
    return parser
