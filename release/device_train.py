"""Trains the bundled weights further on a lent accelerator, in one call or several.

Run by `bash release/device_train.sh` (which installs the carried wheels and
sets the JAX backend), on the accelerator machine, with `.device/` from
`python release/pack_device.py` carried along; `python
release/device_plan.py --used SECONDS` prints the calls that fill the
device time left. `--rehearse` runs the same path on this CPU with a tiny
model and a few seconds of training. This script tells the call's story;
its parts are beside it: `device_sources.py` reads `.device/`,
`device_speed.py` chooses and times the compiled step, `device_run.py`
keeps the run's state, schedule, log and saves.

1. Prints the device time used and left (`--budget-used`, else the budget
   file of the call before on this machine) and what this call will do;
   shortens `--deadline` if the budget or `--timeout-s` would not cover it.
2. Loads the sources into device memory: the GoPro GOPR0477 training frames
   (uint8), the sharp photos (one zero-padded stack and their sizes: each
   example crops at random inside its photo) and the kernel bank.
3. Starts from `--init` (default: the bundled `patent` weights; after
   `pack_device.py --init`, `.device/init`) in mixed bfloat16 with a fresh
   optimizer; or, with `--resume`, from the whole training state that the
   previous call left in `--state-dir` (an ignored folder that stays on the
   machine while it is held): parameters, optimizer moments and iteration
   count, the synthesizer's random state, the step, the seconds trained
   and the schedule.
4. Compiles one XLA step (`SynthesisTrainer`: `PairSynthesizer` makes the
   batch on the device, with colour and exposure jitter, then forward, PSNR
   loss, gradients, AdamW) for the largest batch up to `--max-batch` that
   XLA's memory analysis says fits; or, with `--measure-candidates`,
   compiles the candidate configurations (batch sizes, `--remat`) one
   after another for at most `--candidates-seconds`, times a few steps of
   each and trains with the fastest (a resumed call reuses the choice).
   JAX's persistent compilation cache in `<state dir>/jax_cache` serves the
   next call's compilation. A watchdog ends the call (exit 4, the log's
   `status` naming the phase) if no training step has started
   `--start-timeout` seconds after the call's start, so that a stuck
   compilation leaves device time for another call.
5. Trains until `--deadline` seconds after the call's start: a linear
   warm-up in steps (once per run, not again on `--resume`), then a cosine
   decay by the seconds trained over `--plan-seconds`, the training time of
   all the calls together, so a two-call run ends its cosine at the end of
   its second call.
6. Every `--save-every` seconds and at the end, writes `$OUT/model/` (a
   `save_pretrained` folder, float16 weights), `$OUT/train_log.json` (steps,
   loss, PSNR, patches/s, TFLOP/s, MFU against the measured peak, each
   call's load, compile and cache figures, with `--time-inference` the
   1280x720 inference time; totals over all calls) and the training state:
   a timeout still leaves weights. Nothing else is written under `$OUT`.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

import device_plan  # release/, this script's folder
from device_run import MODEL_DIR
from device_run import STATE_FILE
from device_run import Run
from device_run import RunLog
from device_run import learning_rate
from device_run import params_digest
from device_run import save
from device_sources import LOG_NAME  # noqa: F401  (evaluate.py reads it here)
from device_sources import load_sources  # noqa: F401  (benchmarks/device_synthesis.py too)
from device_sources import resolve_init
from device_speed import RECOMMENDED_XLA_FLAGS
from device_speed import choose_trainer
from device_speed import measure_inference
from device_speed import measure_peak
from device_speed import usable_xla_flags

CACHE_DIR = "jax_cache"


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device-dir", default=".device", help="from release/pack_device.py")
    parser.add_argument("--out", default=os.environ.get("OUT") or os.path.join("out", "device"))
    parser.add_argument(
        "--init", default="patent",
        help="start from these weights: a bundled name, a save_pretrained folder, a .keras "
        "file, or .device/init (pack_device.py --init)",
    )  # fmt: skip
    parser.add_argument(
        "--started", type=float, default=None,
        help="epoch seconds the call started (device_train.sh passes its own start)",
    )  # fmt: skip
    parser.add_argument("--deadline", type=float, default=560.0,
                        help="stop training this many seconds after the start (560)")  # fmt: skip
    parser.add_argument("--timeout-s", type=float, default=None,
                        help="the call's timeout: training stops in time to save before it")  # fmt: skip
    parser.add_argument("--save-every", type=float, default=60.0, help="seconds (60)")
    parser.add_argument("--log-every", type=int, default=25, help="steps (25)")
    parser.add_argument("--patch-size", type=int, default=256)
    parser.add_argument("--max-batch", type=int, default=128,
                        help="largest batch tried; XLA's memory analysis decides (128)")  # fmt: skip
    parser.add_argument("--remat", action="store_true",
                        help="recompute each attention block's activations in the backward pass")  # fmt: skip
    parser.add_argument(
        "--measure-candidates", action="store_true",
        help="compile the --candidates in parallel, time a few steps of each, train with the "
        "fastest (about one extra compilation of time; a cached rerun is cheap)",
    )  # fmt: skip
    parser.add_argument(
        "--candidates", default=None,
        help="comma-separated BATCH or BATCH:remat (default: M, M:remat and 2M:remat for "
        "--max-batch M)",
    )  # fmt: skip
    parser.add_argument("--candidate-steps", type=int, default=5, help="timed steps (5)")
    parser.add_argument(
        "--candidates-seconds", type=float, default=150.0,
        help="no further candidate is compiled this many seconds after the first one started "
             "(150; each costs a full compilation, about 80-90 s on an H200, unless cached)",
    )  # fmt: skip
    parser.add_argument(
        "--start-timeout", type=float, default=None,
        help="end the call (exit 4) if training has not started this many seconds after the "
             "call's start (360 on the accelerator, none in a rehearsal): a stuck compilation "
             "leaves device time for another call",
    )  # fmt: skip
    parser.add_argument(
        "--time-inference", action="store_true",
        help="at the end, time one 1280x720 frame (a compilation more; skipped with under "
        "60 s left before --timeout-s)",
    )  # fmt: skip
    parser.add_argument(
        "--xla-flags", default=None,
        help=f"added to XLA_FLAGS; 'recommended' is '{RECOMMENDED_XLA_FLAGS}'. Checked in a "
        "subprocess first: flags XLA rejects are dropped with a warning",
    )  # fmt: skip
    parser.add_argument("--frame-fraction", type=float, default=0.5,
                        help="share of each batch from the GoPro frames (0.5)")  # fmt: skip
    parser.add_argument(
        "--frames-per-pair", type=int, nargs=2, default=(7, 41), metavar=("LOW", "HIGH"),
        help="frames averaged per GoPro pair, odd counts (7 41): frames 1-200 move slowly, "
        "so GoPro's 7-13 blur them far less than the validation frames",
    )  # fmt: skip
    parser.add_argument("--exposure", type=float, nargs=2, default=(0.7, 1.4),
                        metavar=("LOW", "HIGH"), help="exposure jitter, linear light (0.7 1.4)")  # fmt: skip
    parser.add_argument("--channel-gain", type=float, nargs=2, default=(0.9, 1.1),
                        metavar=("LOW", "HIGH"), help="white-balance jitter per channel (0.9 1.1)")  # fmt: skip
    parser.add_argument("--tone-gamma", type=float, nargs=2, default=(0.9, 1.1),
                        metavar=("LOW", "HIGH"), help="tone-curve jitter (0.9 1.1)")  # fmt: skip
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--init-warmup-steps", type=int, default=20,
                        help="warm-up of a fresh optimizer that continues a schedule (20)")  # fmt: skip
    parser.add_argument(
        "--plan-seconds", type=float, default=None,
        help="training seconds of the whole run, all calls together: the cosine ends there "
        "(default: what the state says, else this call's time left)",
    )  # fmt: skip
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--state-dir", default=os.path.join("out", "device-state"),
        help="the training state, budget file and compilation cache (out/device-state: "
        "ignored and not carried, so it stays on the machine between calls)",
    )  # fmt: skip
    parser.add_argument("--resume", action="store_true",
                        help="continue the run whose state is in --state-dir")  # fmt: skip
    parser.add_argument("--budget-used", type=float, default=None,
                        help="device seconds used before this call (the device tool's)")  # fmt: skip
    parser.add_argument("--budget-total", type=float, default=device_plan.TOTAL_S)
    parser.add_argument("--rehearse", action="store_true",
                        help="this CPU: a tiny model, 32x32 patches, a few seconds")  # fmt: skip
    parser.add_argument("--rehearse-seconds", type=float, default=6.0)
    return parser


def _fail(message, code=1):
    print(f"device_train: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def start_watchdog(started, timeout, log, exit_code=4):
    """Ends the process with `exit_code` if `log`'s status is still a phase before training
    `timeout` seconds after `started` (epoch seconds); returns the daemon thread."""
    import threading

    def watch():
        time.sleep(max(0.0, started + timeout - time.time()))
        status = log.record.get("status")
        if status in ("starting", "compiling", "measuring candidates"):
            message = (f"no training step {timeout:g} s after the call's start (still "
                       f"{status}): the call ends to leave device time; call again without "
                       "--measure-candidates, or with a smaller --max-batch")  # fmt: skip
            log.update(status=f"stopped by the watchdog while {status}", watchdog=message)
            print(f"device_train: error: {message}", file=sys.stderr, flush=True)
            os._exit(exit_code)

    thread = threading.Thread(target=watch, name="start-watchdog", daemon=True)
    thread.start()
    return thread


def parse_candidates(text, max_batch):
    """`"128,128:remat"` as `[(128, False), (128, True)]`; `None` gives the default three."""
    if text is None:
        return [(max_batch, False), (max_batch, True), (2 * max_batch, True)]
    candidates = []
    for item in text.split(","):
        batch, _, option = item.strip().partition(":")
        if not batch.isdigit() or int(batch) < 1 or option not in ("", "remat"):
            _fail(f"--candidates: '{item}' is not BATCH or BATCH:remat (e.g. 128,128:remat)")
        candidates.append((int(batch), option == "remat"))
    return candidates


def main(argv=None):
    args = build_parser().parse_args(argv)
    started = args.started or time.time()
    os.makedirs(args.out, exist_ok=True)
    os.makedirs(args.state_dir, exist_ok=True)
    state_path = os.path.join(args.state_dir, STATE_FILE)
    if args.resume and not os.path.isfile(state_path):
        _fail(f"--resume: no training state in '{state_path}' (a fresh machine: the last one "
              "went back): continue from the returned weights instead, 'python "
              "release/pack_device.py --init out/device-1/model' here, then '--init "
              ".device/init'", code=3)  # fmt: skip
    if args.rehearse:  # a tiny model through the same loading path as the real weights
        args.patch_size, args.log_every = 32, 2
        args.max_batch = min(args.max_batch, 2)
        args.warmup_steps = min(args.warmup_steps, 4)
        args.init_warmup_steps = min(args.init_warmup_steps, 2)
    candidates = None
    if args.measure_candidates and not args.resume:
        candidates = parse_candidates(args.candidates, args.max_batch)
    xla = {}
    if args.xla_flags:
        flags = RECOMMENDED_XLA_FLAGS if args.xla_flags == "recommended" else args.xla_flags
        checked = time.time()
        usable, why = usable_xla_flags(flags)
        xla = {"flags": flags, "used": usable, **({"rejected": why} if why else {}),
               "check_seconds": round(time.time() - checked, 1)}  # fmt: skip
        if usable:
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
        else:
            print(f"device_train: warning: XLA rejects --xla-flags ({why}): training "
                  "without them", file=sys.stderr, flush=True)  # fmt: skip

    # The device time, and what this call does with it.
    budget = device_plan.read_budget(args.state_dir)
    used, used_source = device_plan.used_before(budget, started, args.budget_used)
    deadline_seconds = args.deadline
    limits = []
    if args.timeout_s:
        limits.append(args.timeout_s - device_plan.TIMES["finish"])
    if used is not None:
        limits.append(args.budget_total - used - device_plan.TIMES["finish"]
                      - device_plan.TIMES["reserve"])  # fmt: skip
    if not args.rehearse and limits and min(limits) < deadline_seconds:
        deadline_seconds = max(0.0, min(limits))
        print(f"device_train: the deadline is shortened to {deadline_seconds:.0f} s so that "
              "the call ends inside its timeout and the device time left", flush=True)  # fmt: skip
    cache_folder = os.path.join(args.state_dir, CACHE_DIR)
    cached = len(os.listdir(cache_folder)) if os.path.isdir(cache_folder) else 0
    steps = ["load"]
    default_init = args.init == build_parser().get_default("init")
    steps.append(f"resume the state in {state_path}" if args.resume else
                 "start from a tiny model (rehearsal)" if args.rehearse and default_init else
                 f"start from {args.init}")  # fmt: skip
    if args.measure_candidates and not args.resume:
        steps.append("compile and time the candidates")
    steps.append(f"compile (the cache holds {cached} entries: read from it if this step was "
                 "compiled before)" if cached else "compile (the cache is empty: a full "
                 "compilation)")  # fmt: skip
    if args.rehearse:
        deadline_text = f"{args.rehearse_seconds:g} s after compiling (rehearsal)"
    else:
        deadline_text = f"{deadline_seconds:.0f} s after its start"
    steps += [f"train until {deadline_text}", "save"]
    print(device_plan.budget_line(used, used_source, args.budget_total, steps), flush=True)
    budget = device_plan.record_call(args.state_dir, budget, {
        "started": started, "used_before": used, "used_before_source": used_source,
        "deadline": deadline_seconds, "timeout_s": args.timeout_s,
    })  # fmt: skip

    import jax

    from keras_attn_deblur.jax_training import enable_compilation_cache

    enable_compilation_cache(cache_folder)
    import keras

    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur import hub
    from keras_attn_deblur.data.synthetic import odd_frame_counts
    from keras_attn_deblur.jax_training import rematerialized
    from keras_attn_deblur.layers import SpatialAttentionBlock
    from keras_attn_deblur.models import with_dtype

    if keras.backend.backend() != "jax":
        _fail("set KERAS_BACKEND=jax (device_train.sh does)")
    try:  # before any device time goes to loading and compiling
        odd_frame_counts(args.frames_per_pair)
    except ValueError as error:
        _fail(f"--frames-per-pair: {error}")
    device = jax.devices()[0]
    log = RunLog(
        os.path.join(args.out, LOG_NAME),
        device=f"{device.platform}: {device.device_kind}", jax=jax.__version__,
        keras=keras.__version__, arguments=vars(args), xla=xla,
        device_time={"used_before": used, "source": used_source, "total": args.budget_total,
                     "deadline": deadline_seconds},
    )  # fmt: skip
    start_timeout = args.start_timeout
    if start_timeout is None and not args.rehearse:
        start_timeout = 360.0
    if start_timeout:
        start_watchdog(started, start_timeout, log)
    # Seconds since the call's start (wheels, Python, flags check, imports), then per phase.
    timing = {"imports": round(time.time() - started, 1)}
    phase = time.time()
    # A busy CPU rehearsal can measure well under 0.05 TFLOP/s: keep significant digits, not
    # decimals, and divide by the exact figure.
    peak = measure_peak(512 if args.rehearse else 8192)
    timing["peak"] = round(time.time() - phase, 1)
    log.update(peak_bf16_tflops=float(f"{peak:.4g}"))

    record = None
    if args.resume:
        with np.load(state_path, allow_pickle=False) as stored:
            record = json.loads(str(stored["meta"]))["record"]
        if record["patch_size"] != args.patch_size:
            _fail(f"--resume: the state was trained on {record['patch_size']}-pixel patches, "
                  f"this call asks for {args.patch_size}: pass --patch-size "
                  f"{record['patch_size']}")  # fmt: skip
    run = Run(started, record)
    phase = time.time()
    init, init_label, init_schedule = args.init, args.init, None
    if args.resume:
        pass  # the model comes from the state
    elif args.rehearse and default_init:
        init = os.path.join(tempfile.mkdtemp(prefix="rehearse-"), "tiny")
        init_label = "rehearsal tiny model"
        tiny = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
        hub.save_pretrained(tiny, init)
    else:
        init, init_label, init_schedule = resolve_init(
            args.init, os.path.join(args.state_dir, "init")
        )
    timing["init"] = round(time.time() - phase, 1)
    phase = time.time()
    sources = load_sources(args.device_dir)
    sources = {key: jax.device_put(value) for key, value in sources.items()}
    timing["sources"] = round(time.time() - phase, 1)
    phase = time.time()
    if args.resume:
        model = AttnDeblurNet.from_config(run.fixed["model_config"])
    else:
        model = AttnDeblurNet.from_pretrained(init)
        run.fixed.update(init=init_label, model_config=model.get_config(),
                         patch_size=args.patch_size, peak=args.learning_rate)  # fmt: skip
    model = with_dtype(model, "mixed_bfloat16")
    timing["model"] = round(time.time() - phase, 1)
    attention = [layer.name for layer in model.layers if isinstance(layer, SpatialAttentionBlock)]
    copies = {False: model}

    def models(remat):
        if remat not in copies:
            copies[remat] = rematerialized(model, attention)
        return copies[remat]

    multiply_adds = model.multiply_adds_per_pixel()
    log.update(
        init=run.fixed["init"], parameters=model.count_params(),
        multiply_adds_per_pixel=multiply_adds, patch_size=args.patch_size,
        sources={key: list(value.shape) for key, value in sources.items()},
        load_seconds=round(time.time() - started, 1), run_started=run.earlier_calls[0]["started"]
        if run.earlier_calls else started,
    )  # fmt: skip

    if args.resume:
        candidates = [tuple(run.fixed["candidate"])]
    elif candidates is None:
        candidates = [(args.max_batch, args.remat)]
    log.update(status="measuring candidates" if len(candidates) > 1 else "compiling")
    trainer = choose_trainer(models, args, sources, log, candidates,
                             candidates_deadline=time.time() + args.candidates_seconds)  # fmt: skip
    batch = trainer.batch_size
    run.fixed["candidate"] = [batch, trainer.remat]
    if args.resume:
        trainer.load_state(state_path)
        log.update(resumed={"step": run.step, "trained_seconds": round(run.trained_before, 3),
                            "iterations": trainer.iterations,
                            "params_sha256": params_digest(trainer.state[0])})  # fmt: skip
    log.update(start_params_sha256=params_digest(trainer.state[0]))  # what training starts from
    # The schedule: warm-up once per run; the cosine over the run's planned seconds.
    if run.warmup_steps is None:
        run.warmup_steps = args.init_warmup_steps if init_schedule else args.warmup_steps
    if init_schedule:  # a fresh optimizer, continuing the returned run's schedule
        run.schedule_offset = init_schedule["trained_seconds"]
        run.plan_seconds = init_schedule["plan_seconds"]
    if args.plan_seconds:
        run.plan_seconds = args.plan_seconds
    log.update(synthesis_ms=round(1000 * trainer.synthesis_seconds(sources), 2),
               timing={**timing, "compile": log.record["compile_seconds"]})  # fmt: skip
    deadline = started + deadline_seconds
    if args.rehearse:
        deadline = time.time() + args.rehearse_seconds
    if not run.plan_seconds:
        run.plan_seconds = run.trained_before + max(1.0, deadline - time.time())
    flops_per_patch = 3 * 2 * multiply_adds * args.patch_size**2  # forward + ~2x backward
    jitter = (f", colour and exposure jitter (exposure {args.exposure[0]:g}-{args.exposure[1]:g}, "
              f"channel gains {args.channel_gain[0]:g}-{args.channel_gain[1]:g}, tone "
              f"{args.tone_gamma[0]:g}-{args.tone_gamma[1]:g})")  # fmt: skip
    training_text = (
        f"Continued from `{run.fixed['init']}` on {log.record['device']} by "
        f"`release/device_train.sh`: PairSynthesizer batches made on the device "
        f"({args.frame_fraction:.0%} GoPro GOPR0477 frames 1-{sources['frames'].shape[0]} "
        f"averaged over {args.frames_per_pair[0]}-{args.frames_per_pair[1]} frames, the rest "
        "synthetic non-uniform blur of random crops of sharp photos"
        f"{jitter}), batch {batch} x {args.patch_size}x{args.patch_size}, PSNR loss, "
        f"AdamW (peak {run.fixed['peak']:g}, weight decay {args.weight_decay:g}), warm-up "
        "then cosine decay over the planned training time, mixed bfloat16."
    )

    run.call.update(first_step=run.step, batch_size=batch, remat=trainer.remat,
                    load_seconds=log.record["load_seconds"],
                    compile_seconds=log.record["compile_seconds"],
                    compile_cache=log.record.get("compile_cache"))  # fmt: skip
    run.train_started = time.time()
    last_log_time, last_log_step = run.train_started, run.step
    host_seconds = 0.0
    next_save = run.train_started + args.save_every
    log.update(status="training", train_started_seconds=round(run.train_started - started, 1))
    print(f"training: batch {batch}{' (remat)' if trainer.remat else ''}, from step {run.step}, "
          f"the schedule at {run.progress():.1%} of {run.plan_seconds:.0f} s planned", flush=True)
    while time.time() < deadline:
        host_started = time.perf_counter()
        progress = run.progress()
        rate = learning_rate(run.step, run.fixed["peak"], run.warmup_steps, progress=progress)
        if run.step == run.call["first_step"]:
            log.update(first_step={"step": run.step, "progress": progress, "learning_rate": rate,
                                   "iterations": trainer.iterations})  # fmt: skip
        metrics = trainer.step(sources, rate)
        host_seconds += time.perf_counter() - host_started
        run.step += 1
        if (run.step - run.call["first_step"]) % args.log_every and time.time() < next_save:
            continue
        values = {key: float(value) for key, value in metrics.items()}  # waits for the step
        now = time.time()
        seconds = now - last_log_time
        patches_per_second = (run.step - last_log_step) * batch / seconds
        tflops = patches_per_second * flops_per_patch / 1e12
        run.rows.append({
            "step": run.step, "seconds": round(now - started, 1),
            "trained_seconds": round(run.trained(now), 1), "loss": round(values["loss"], 4),
            "psnr": round(values["psnr"], 3), "input_psnr": round(values["input_psnr"], 3),
            "learning_rate": rate, "patches_per_second": round(patches_per_second, 2),
            "tflops": round(tflops, 2), "mfu": round(tflops / peak, 4),
            "host_fraction": round(host_seconds / seconds, 4),
        })  # fmt: skip
        log.update(rows=[*run.earlier_rows, *run.rows])
        print(f"step {run.step}: loss {values['loss']:.3f}, psnr {values['psnr']:.2f} "
              f"(input {values['input_psnr']:.2f}), lr {rate:.3g}, {patches_per_second:.1f} "
              f"patches/s, {tflops:.1f} TFLOP/s", flush=True)  # fmt: skip
        last_log_time, last_log_step, host_seconds = now, run.step, 0.0
        if now >= next_save:
            save(trainer, args, log, run, training_text)
            next_save = time.time() + args.save_every

    run.train_ended = time.time()
    log.update(status="saving")
    save(trainer, args, log, run, training_text, final=True)
    rows = run.rows
    steady = rows[1:] or rows
    if steady:
        mean_rate = float(np.mean([row["patches_per_second"] for row in steady]))
        log.update(patches_per_second=round(mean_rate, 2),
                   mfu=round(float(np.mean([row["mfu"] for row in steady])), 4),
                   synthesis_fraction=round(
                       log.record["synthesis_ms"] / 1000 * mean_rate / batch, 4))  # fmt: skip
    frame = (144, 256) if args.rehearse else (720, 1280)
    time_left = None if not args.timeout_s else started + args.timeout_s - time.time()
    if args.time_inference and (time_left is None or time_left > 60):
        run.inference = {"ms": round(measure_inference(trainer, *frame), 1),
                         "size": f"{frame[1]}x{frame[0]}"}  # fmt: skip
        trainer.save_state(state_path, **run.record(trainer, final=True))
    ended = time.time()
    device_plan.record_call(args.state_dir, budget, {
        **budget["calls"][-1], "ended": ended, "command_seconds": round(ended - started, 1),
    })  # fmt: skip
    log.update(inference_ms=(run.inference or {}).get("ms"),
               inference_size=(run.inference or {}).get("size"), status="finished",
               total_seconds=round(ended - started, 1), iterations=trainer.iterations,
               params_sha256=params_digest(trainer.state[0]))  # fmt: skip
    print(f"finished: {run.call['steps']} steps x {batch} in {run.call['train_seconds']:.0f} s "
          f"this call, {run.step} steps and {run.trained():.0f} s of {run.plan_seconds:.0f} s "
          f"planned in all; weights '{os.path.join(args.out, MODEL_DIR)}', log '{log.path}', "
          f"state '{state_path}'")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
