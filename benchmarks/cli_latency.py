"""How long the command line takes to answer `--help`: best of N fresh processes.

Measures the wall time, from start to exit, of a fresh process for:
`attn-deblur --help`, each command's `--help`, an argument error
(`attn-deblur deblur in.png out.png --tile-size 0`), `attn-deblur --version`,
and `python -c "import keras_attn_deblur"`; plus `python -c pass`, the
interpreter alone, as the floor. Each row is the best of `--repeats` runs
(the median in brackets): the best is the least disturbed by other work on
the machine.

`--before DIR` adds a column for another checkout of the package (for
example the commit before a change, checked out with `git worktree add`),
run with `PYTHONPATH=DIR`.

How to run:
    python benchmarks/cli_latency.py
    python benchmarks/cli_latency.py --before /tmp/old-main --repeats 7
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = ("deblur", "evaluate", "train", "visualize", "export", "push", "demo", "push-space")


def command_line():
    """How to start `attn-deblur`: the installed script, else `python -m keras_attn_deblur`."""
    script = os.path.join(os.path.dirname(sys.executable), "attn-deblur")
    return [script] if os.path.isfile(script) else [sys.executable, "-m", "keras_attn_deblur"]


def cases():
    """(row label, argv) of every measurement."""
    cli = command_line()
    rows = [("attn-deblur --help", cli + ["--help"])]
    rows += [(f"attn-deblur {name} --help", cli + [name, "--help"]) for name in COMMANDS]
    rows += [
        ("attn-deblur deblur ... --tile-size 0 (argument error)",
         cli + ["deblur", "in.png", "out.png", "--tile-size", "0"]),
        ("attn-deblur --version", cli + ["--version"]),
        ('python -c "import keras_attn_deblur"',
         [sys.executable, "-c", "import keras_attn_deblur"]),
        ("python -c pass (the interpreter alone)", [sys.executable, "-c", "pass"]),
    ]  # fmt: skip
    return rows


def best_of(argv, repeats, environment, folder):
    """(best, median) wall seconds of `repeats` fresh runs of `argv`."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, cwd=folder, env=environment, capture_output=True, timeout=600)
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per row (5)")
    parser.add_argument("--before", metavar="DIR", help="another checkout, for a 'before' column")
    args = parser.parse_args()
    environment = dict(os.environ)  # before anything imports the package (it sets a log level)
    columns = [("after (this checkout)", environment)]
    if args.before:
        before = {**environment, "PYTHONPATH": os.path.abspath(args.before)}
        columns.insert(0, (f"before ({args.before})", before))

    from keras_attn_deblur._utils.machine import describe_cpu

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {describe_cpu()}, load average {load}")
    print(f"Python {sys.version.split()[0]}, KERAS_BACKEND={os.environ.get('KERAS_BACKEND', '')}, "
          f"best of {args.repeats} fresh processes [median], wall seconds")  # fmt: skip
    print()
    print("| command | " + " | ".join(title for title, _ in columns) + " |")
    print("|---|" + "---:|" * len(columns))
    with tempfile.TemporaryDirectory() as folder:
        for label, argv in cases():
            cells = []
            for _, column_environment in columns:
                best, median = best_of(argv, args.repeats, column_environment, folder)
                cells.append(f"{best:.2f} [{median:.2f}]")
            print(f"| `{label}` | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
