"""How fast the device trains: the step's batch and remat, the XLA flags, the measured speed.

`release/device_train.py` asks this module, on the accelerator, in the
order of a call:

- `usable_xla_flags`: whether XLA accepts extra flags (such as
  `RECOMMENDED_XLA_FLAGS`), tried in a subprocess first, since an unknown
  flag aborts the process that reads it;
- `measure_peak`: the TFLOP/s of a bfloat16 matmul, the MFU denominator;
- `choose_trainer`: the `SynthesisTrainer` (`make_trainer`: AdamW, PSNR
  loss, `PairSynthesizer` with colour and exposure jitter) of the fastest
  candidate `(batch, remat)` whose step XLA's memory analysis says fits in
  `MEMORY_SHARE` of the device's memory: one candidate is halved until it
  fits; several are compiled one after another, while the time for
  candidates lasts, and a few steps of each timed;
- `measure_inference`: milliseconds per frame of the trained network.
"""

import math
import os
import subprocess
import sys
import time

# XLA GPU flags worth one call's try (not measured on the accelerator yet): a scheduler that
# overlaps independent work, and CUDA graphs for fusions, cuBLAS and cuDNN calls (fewer launches).
RECOMMENDED_XLA_FLAGS = ("--xla_gpu_enable_latency_hiding_scheduler=true "
                         "--xla_gpu_enable_command_buffer=FUSION,CUBLAS,CUDNN")  # fmt: skip
MEMORY_SHARE = 0.85  # of the device's memory that a compiled step may plan to use


def usable_xla_flags(flags):
    """`(True, "")` when XLA accepts `flags` (a process starts JAX's backend with them), else
    `(False, why)`: an unknown flag aborts the process that reads it, so it is tried apart."""
    environment = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {flags}"}
    try:
        result = subprocess.run(
            [sys.executable, "-c", "import jax; jax.devices()"], env=environment,
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False, "starting JAX with them took over 180 s"
    if result.returncode == 0:
        return True, ""
    lines = [line for line in result.stderr.splitlines() if "flag" in line.lower()]
    return False, (lines or result.stderr.strip().splitlines() or ["no output"])[-1].strip()


def measure_peak(size):
    """TFLOP/s of an n x n x n bfloat16 matmul, best of 3 (the MFU denominator)."""
    import jax
    import jax.numpy as jnp

    left = jnp.ones((size, size), "bfloat16")
    right = jnp.ones((size, size), "bfloat16")
    matmul = jax.jit(jnp.matmul)
    matmul(left, right).block_until_ready()
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        matmul(left, right).block_until_ready()
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e12


def choose_trainer(models, args, sources, log, candidates, candidates_deadline=None):
    """The trainer of the fastest candidate `(batch, remat)` that fits in device memory.

    One candidate: its batch, halved until XLA's memory analysis says the step fits (one
    compile when it does). Several: compiled one after another (in parallel they can
    deadlock in XLA's GPU autotuning) and the fitting ones timed, until `candidates_deadline`
    (`time.time()`); the ones not reached are logged as skipped. Put the one to fall back on
    first.
    """
    limit = _device_memory()

    def fits(need):
        return limit is None or need is None or need <= MEMORY_SHARE * limit

    if len(candidates) == 1:
        (batch, remat), started = candidates[0], time.perf_counter()
        while True:
            trainer = make_trainer(models(remat), args, batch)
            need = _memory_need(trainer.compile(sources))
            if fits(need) or batch == 1:
                break
            batch = max(1, 2 ** int(math.log2(batch * MEMORY_SHARE * limit / need)))
        trainer.remat = remat
        log.update(batch_size=trainer.batch_size, remat=remat, memory_analysis=trainer.memory,
                   compile_seconds=round(time.perf_counter() - started, 1),
                   compile_cache=trainer.cache_counts, device_memory_bytes=limit)  # fmt: skip
        return trainer
    started = time.perf_counter()
    rows, best = [], None
    for batch, remat in candidates:
        row = {"batch_size": batch, "remat": remat}
        rows.append(row)
        if best is not None and candidates_deadline and time.time() >= candidates_deadline:
            row["skipped"] = "the time for candidates ran out"
            print(f"candidate batch {batch}{' remat' if remat else ''}: skipped, the time for "
                  "candidates ran out", flush=True)  # fmt: skip
            continue
        trainer = make_trainer(models(remat), args, batch)
        trainer.remat = remat
        need = _memory_need(trainer.compile(sources))
        row.update(memory_bytes=need, fits=fits(need),
                   compile_seconds=round(trainer.compile_seconds, 1),
                   compile_cache=trainer.cache_counts)  # fmt: skip
        if row["fits"]:
            seconds = trainer.seconds_per_step(sources, steps=args.candidate_steps)
            row["patches_per_second"] = round(batch / seconds, 2)
            if best is None or row["patches_per_second"] > best[0]:
                best = (row["patches_per_second"], trainer)
        print(f"candidate batch {batch}{' remat' if remat else ''}: " + (
            f"{row['patches_per_second']} patches/s" if row["fits"] else
            f"does not fit ({need / 2**30:.1f} GiB)") +
            f" (compiled in {row['compile_seconds']} s)", flush=True)  # fmt: skip
        log.update(candidates=rows)
    log.update(candidates=rows, candidates_seconds=round(time.perf_counter() - started, 1),
               device_memory_bytes=limit)  # fmt: skip
    if best is None:  # none fits: the smallest, halved until it does
        smallest = min(candidates)
        return choose_trainer(models, args, sources, log, [(max(1, smallest[0] // 2), True)])
    trainer = best[1]
    log.update(batch_size=trainer.batch_size, remat=trainer.remat,
               memory_analysis=trainer.memory, compile_seconds=round(trainer.compile_seconds, 1),
               compile_cache=trainer.cache_counts)  # fmt: skip
    return trainer


def make_trainer(model, args, batch_size):
    import keras

    from keras_attn_deblur import PSNRLoss
    from keras_attn_deblur.data import PairSynthesizer
    from keras_attn_deblur.jax_training import SynthesisTrainer

    optimizer = keras.optimizers.AdamW(
        learning_rate=args.learning_rate, weight_decay=args.weight_decay, beta_2=0.99
    )
    synthesizer = PairSynthesizer(
        patch_size=args.patch_size, frame_fraction=args.frame_fraction,
        frames_per_pair=tuple(args.frames_per_pair), exposure=tuple(args.exposure),
        channel_gain=tuple(args.channel_gain), tone_gamma=tuple(args.tone_gamma),
        seed=args.seed,
    )  # fmt: skip
    return SynthesisTrainer(model, optimizer, PSNRLoss(), synthesizer, batch_size)


def _memory_need(memory):
    if not memory:
        return None
    plus = ("argument_size_in_bytes", "temp_size_in_bytes", "output_size_in_bytes")
    return sum(memory.get(key, 0) for key in plus) - memory.get("alias_size_in_bytes", 0)


def _device_memory():
    import jax

    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:
        stats = {}
    return stats.get("bytes_limit")


def measure_inference(trainer, height, width, repeats=5):
    """Milliseconds per frame of the trained network at height x width (bf16, jitted)."""
    import jax

    model = trainer.model
    trainable, non_trainable = trainer.state[0], trainer.state[1]

    @jax.jit
    def predict(frame):
        return model.stateless_call(trainable, non_trainable, frame, training=False)[0]

    frame = jax.numpy.full((1, height, width, 3), 0.5, "float32")
    predict(frame).block_until_ready()
    started = time.perf_counter()
    for _ in range(repeats):
        output = predict(frame)
    output.block_until_ready()
    return 1000 * (time.perf_counter() - started) / repeats
