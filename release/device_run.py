"""What a device run carries from call to call, and what each call writes.

- `Run`: the step, the seconds trained, the schedule (warm-up steps, the
  planned training seconds, where the cosine stands) and the earlier calls
  with their log rows; kept in the training state (`STATE_FILE` in the
  state folder) that `--resume` reads back.
- `learning_rate`: the schedule, a linear warm-up, then a cosine over the
  planned seconds.
- `RunLog`: `$OUT/train_log.json`, rewritten atomically at every change.
- `save`: the model to `$OUT/model` (`MODEL_DIR`), the whole state, and a
  line in the log; `params_digest` names the weights in both.
"""

import hashlib
import json
import math
import os
import threading
import time

import numpy as np

MODEL_DIR = "model"
STATE_FILE = "state.npz"


class Run:
    """What a run carries from call to call: the step, the seconds trained, the schedule,
    the earlier calls and their log rows."""

    def __init__(self, started, record=None):
        record = record or {}
        self.started = started
        self.step = record.get("step", 0)
        self.trained_before = record.get("trained_seconds", 0.0)
        # Seconds that earlier runs (the weights this run started from) trained on the same
        # schedule: they place the cosine, but are not this run's training.
        self.schedule_offset = record.get("schedule_offset", 0.0)
        self.plan_seconds = record.get("plan_seconds")
        self.warmup_steps = record.get("warmup_steps")
        self.earlier_calls = record.get("calls", [])
        self.earlier_rows = record.get("rows", [])
        self.inference = record.get("inference")
        fixed = ("init", "model_config", "candidate", "patch_size", "peak")
        self.fixed = {key: record[key] for key in fixed if key in record}
        self.call = {"call": len(self.earlier_calls) + 1, "started": started, "steps": 0,
                     "train_seconds": 0.0}  # fmt: skip
        self.train_started = self.train_ended = None
        self.rows = []

    def trained(self, now=None):
        """Seconds this run has trained, this call's so far included."""
        if self.train_started is None:
            return self.trained_before
        end = self.train_ended or now or time.time()
        return self.trained_before + end - self.train_started

    def progress(self, now=None):
        """The share of the planned seconds trained: where the cosine stands."""
        return (self.schedule_offset + self.trained(now)) / self.plan_seconds

    def totals(self):
        calls = [*self.earlier_calls, self.call]
        return {"steps": self.step, "train_seconds": round(self.trained(), 1),
                "patches": sum(call["steps"] * call["batch_size"] for call in calls),
                "calls": calls, "rows": [*self.earlier_rows, *self.rows],
                "schedule": {"plan_seconds": self.plan_seconds, "warmup_steps": self.warmup_steps,
                             "trained_seconds": round(self.schedule_offset + self.trained(), 3),
                             "progress": round(self.progress(), 6)}}  # fmt: skip

    def record(self, trainer, final):
        self.call.update(steps=self.step - self.call["first_step"],
                         train_seconds=round(self.trained() - self.trained_before, 1),
                         finished=final)  # fmt: skip
        return {**self.fixed, **self.totals(), "step": self.step, "trained_seconds": self.trained(),
                "schedule_offset": self.schedule_offset, "plan_seconds": self.plan_seconds,
                "warmup_steps": self.warmup_steps,
                "inference": self.inference, "params_sha256": params_digest(trainer.state[0]),
                "iterations": trainer.iterations}  # fmt: skip


def learning_rate(step, peak, warmup, total=None, *, progress=None):
    """Linear warm-up from 0 at step 0 to `peak` at step `warmup`, then cosine to 1% of `peak`.

    The cosine runs over steps, `(step - warmup) / (total - warmup)` (the schedule
    `compile_for_deblurring` gives Keras, `CosineDecay`), or, given `progress`, over the
    share of the planned training seconds already trained (all calls of a run together).
    """
    if step < warmup:
        return peak * step / warmup
    if progress is None:
        progress = (step - warmup) / max(1, total - warmup)
    progress = min(1.0, max(0.0, progress))
    return peak * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


class RunLog:
    """`$OUT/train_log.json`, rewritten atomically at every change."""

    def __init__(self, path, **header):
        self.path = path
        self.record = {**header, "rows": [], "saves": [], "status": "starting"}

    def update(self, **fields):
        self.record.update(fields)
        self.write()

    def write(self):
        partial = f"{self.path}.{threading.get_ident()}.partial"  # the watchdog writes too
        with open(partial, "w", encoding="utf-8") as file:
            json.dump(self.record, file, indent=1)
        os.replace(partial, self.path)


def save(trainer, args, log, run, training_text, final=False):
    """The model to `$OUT/model`, the whole state to the state folder, the log."""
    from keras_attn_deblur import hub

    model = trainer.write_back()
    started = time.perf_counter()
    hub.save_pretrained(
        model, os.path.join(args.out, MODEL_DIR), weights_dtype="float16",
        training=training_text, overwrite_card=True,
    )  # fmt: skip
    model_seconds = time.perf_counter() - started
    record = run.record(trainer, final=final)
    trainer.save_state(os.path.join(args.state_dir, STATE_FILE), **record)
    log.record["saves"].append({
        "step": run.step, "seconds": round(time.time() - run.started, 1),
        "save_seconds": round(model_seconds, 2),
        "state_seconds": round(time.perf_counter() - started - model_seconds, 2),
    })  # fmt: skip
    log.update(state=os.path.join(args.state_dir, STATE_FILE), **run.totals())


def params_digest(arrays):
    """SHA-256 (16 hex digits) of the float32 bytes of `arrays`, in order."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(np.asarray(array, "float32")).tobytes())
    return digest.hexdigest()[:16]
