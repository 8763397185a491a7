"""Prints the device tool calls that spend the device time left on training.

How to run (here, before the first call; `--used` is the device time this
session has already spent: 900 minus the `budget_left_s` that the device
tool's `status` reports):

    python release/device_plan.py --used 0            # no machine held: a fresh start
    python release/device_plan.py --used 655 --warm   # a machine is held: resume its state
    python release/device_plan.py --used 0 --init     # a fresh machine, from .device/init

It prints each `run` call as the device tool takes it (command, carry,
timeout), what the call will do with its time, and what to do between
calls. The time model is `TIMES`: run 1's measurements on one H200
(2026-11-28: start, load, first compile) and estimates where nothing was
measured yet (a compile read from the persistent cache, the gap between two
calls); the device writes the real figures of each call to its
`train_log.json`, and `release/device_train.py` prints the same budget line
at the start of every call and shortens its own deadline if the budget
would not cover it.

Also the budget file: `device_train.py` records each call's start, end and
the device time used before it in `<state dir>/budget.json`, so that a
second call on the same machine knows the time used without being told
(`used_before`).
"""

import argparse
import json
import os
import sys

TOTAL_S = 900  # device time of a session, the machine's start and idle time included
COMMAND_LIMIT_S = 600  # one command's timeout_s at most
MIN_START_LEFT_S = 240  # no machine starts with less left
IDLE_RELEASE_S = 30  # a warm machine goes back after this long idle
TIMES = {
    "start": 45,  # a fresh machine's start, carrying ~63 MiB (run 1: about 40 s)
    "load": 25,  # wheels, JAX, sources into device memory, weights (run 1: 23.3 s)
    "compile": 90,  # the step's first compilation, autotuning included (run 1: 89.4 s)
    "compile_cached": 20,  # estimate: tracing and lowering, the step read from the cache
    "candidates": 150,  # --candidates-seconds: candidates compiled one by one (~85 s each
    # on the H200 of 2026-12-04; three in parallel threads hung there for the whole call)
    "finish": 35,  # estimate: the last save, the inference timing, exit, and a margin
    "gap": 20,  # estimate: $OUT back, the caller's turn, the tree carried again
    "reserve": 15,  # never planned: rounding and the tool's own transfers
}
MIN_TRAIN_S = 60  # a call that would train less than this is not worth its load and compile
BUDGET_FILE = "budget.json"


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--used", type=float, required=True,
                        help="device seconds already spent (900 - status's budget_left_s)")  # fmt: skip
    parser.add_argument("--warm", action="store_true",
                        help="a machine is held now, with the state of an earlier call")  # fmt: skip
    parser.add_argument("--init", action="store_true",
                        help="the first call starts from .device/init (pack_device.py --init)")  # fmt: skip
    parser.add_argument("--measure-candidates", action="store_true",
                        help="the first call times the candidate configurations first")  # fmt: skip
    parser.add_argument("--total", type=float, default=TOTAL_S, help="device seconds (900)")
    return parser


# === The plan ===


def plan_calls(used, *, warm=False, init=False, measure_candidates=False, total=TOTAL_S):
    """The calls that spend `total - used` device seconds: a list of dicts with `command`,
    `carry`, `timeout_s`, `deadline`, `train_seconds` (estimated) and `does` (words).

    On a fresh machine: a first call of up to 10 minutes, then, if enough is
    left, a second one that resumes the first one's state while the machine
    is warm. On a warm machine: the calls that resume.
    """
    left = total - used
    if not warm:
        if left < MIN_START_LEFT_S:
            return []
        left -= TIMES["start"]
    calls, resume, first = [], warm, not warm
    while True:
        compile_seconds = TIMES["compile_cached"] if resume else TIMES["compile"]
        if first and measure_candidates:
            compile_seconds += TIMES["candidates"]
        timeout = min(COMMAND_LIMIT_S, int(left - TIMES["reserve"]))
        deadline = timeout - TIMES["finish"]
        train = deadline - TIMES["load"] - compile_seconds
        if train < MIN_TRAIN_S:
            break
        options = ["--resume"] if resume else ["--init", ".device/init"] if init else []
        if first and measure_candidates:
            options.append("--measure-candidates")
        options += ["--deadline", str(deadline), "--timeout-s", str(timeout)]
        if first:
            options += ["--budget-used", str(int(total - left))]
        steps = ["load", "compile (from the cache)" if resume else "compile",
                 f"train until {deadline} s", "save"]  # fmt: skip
        if first and measure_candidates:
            steps.insert(1, "compile and time the candidates")
        calls.append({
            "command": " ".join(["bash release/device_train.sh", *options]),
            "carry": [".device"], "timeout_s": timeout, "deadline": deadline,
            "train_seconds": train, "does": ", ".join(steps),
        })  # fmt: skip
        left -= timeout + TIMES["gap"]
        resume, first = True, False
    plan_seconds = sum(call["train_seconds"] for call in calls)
    if calls and not warm:  # the schedule spans the calls: its cosine ends with the last
        calls[0]["command"] += f" --plan-seconds {plan_seconds}"
    return calls


def main(argv=None):
    args = build_parser().parse_args(argv)
    left = args.total - args.used
    print(f"device time: {args.used:.0f} s used, {left:.0f} s left of {args.total:.0f}; "
          + ("a machine is held (warm)" if args.warm else
             f"a fresh machine: ~{TIMES['start']} s to start and carry the tree"))  # fmt: skip
    calls = plan_calls(args.used, warm=args.warm, init=args.init,
                       measure_candidates=args.measure_candidates, total=args.total)  # fmt: skip
    if not calls:
        reason = (f"under {MIN_START_LEFT_S} s left: no machine starts" if not args.warm
                  and left < MIN_START_LEFT_S else "too little left to train")  # fmt: skip
        print(f"no call: {reason}; give the machine back if one is held")
        return 0
    for number, call in enumerate(calls, 1):
        arguments = {key: call[key] for key in ("command", "carry", "timeout_s")}
        when = "" if number == 1 else (
            f" at once (within {IDLE_RELEASE_S} s of call {number - 1}'s reply, while the "
            "machine is warm)")  # fmt: skip
        print(f"\ncall {number}{when}: run {json.dumps(arguments)}")
        print(f"  does: {call['does']}; trains ~{call['train_seconds']:.0f} s")
    print(f"\nthen: give_back. In all ~{sum(call['train_seconds'] for call in calls):.0f} s of "
          "training. After each call, copy its files to out/device-N/.")
    print("If a call exits 4 (its watchdog: no training step 360 s after its start, the log's "
          "'status' names the phase), its weights are those it started from: ask status and "
          "plan again with the time left ('--used', '--warm' if the machine is held, without "
          "--measure-candidates).")
    if len(calls) > 1:
        print(f"If the machine went back between calls (status: warm false), the state is "
              "gone: 'python release/pack_device.py --init out/device-1/model', then "
              "'python release/device_plan.py --used <900 - budget_left_s> --init'.")
    return 0


# === The budget file (written on the device by device_train.py) ===


def read_budget(state_dir):
    """`<state_dir>/budget.json` as a dict (`{"total_seconds": ..., "calls": [...]}`)."""
    path = os.path.join(state_dir, BUDGET_FILE)
    if not os.path.isfile(path):
        return {"total_seconds": TOTAL_S, "calls": []}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def used_before(budget, started, passed=None):
    """Device seconds used before a call that started at `started` (epoch seconds), and
    where the figure comes from: `passed` (the caller's), else the earlier call on this
    machine (its own figure plus the seconds since it started), else unknown (None)."""
    if passed is not None:
        return float(passed), "passed by the caller"
    if budget["calls"]:
        last = budget["calls"][-1]
        return last["used_before"] + (started - last["started"]), "estimated from the last call"
    return None, "unknown: pass --budget-used"


def record_call(state_dir, budget, call):
    """Adds or updates `call` (a dict with `started`) in the budget file, atomically."""
    calls = [entry for entry in budget["calls"] if entry["started"] != call["started"]]
    budget = {**budget, "calls": [*calls, call]}
    path = os.path.join(state_dir, BUDGET_FILE)
    partial = f"{path}.{os.getpid()}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(budget, file, indent=1)
    os.replace(partial, path)
    return budget


def budget_line(used, source, total, steps):
    """The line each call prints first: the time used and left, and what this call does."""
    if used is None:
        head = f"device time: {source}; {total:.0f} s in all"
    else:
        head = (f"device time: {used:.0f} s used before this call ({source}), "
                f"{total - used:.0f} s left of {total:.0f}")  # fmt: skip
    return f"{head}; this call: {', '.join(steps)}"


if __name__ == "__main__":
    sys.exit(main())
