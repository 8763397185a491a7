"""JAX-only: a jitted training step that makes its own batch on the accelerator.

`SynthesisTrainer` fuses `PairSynthesizer` (frame averaging and synthetic
motion blur in `keras.ops`) with the forward pass, the loss, the gradients
and the optimizer update into one compiled XLA program. The sources (video
frames, photo crops, a kernel bank) stay in device memory; the host only
dispatches steps, so it cannot be the bottleneck. This is the training loop
of a lent accelerator (`release/device_train.sh`), written the way Keras's
"training loop from scratch in JAX" guide writes one: `stateless_call` and
`stateless_apply` on lists of arrays, the state donated to each step.

A run can span several processes (the calls of one lent-accelerator
window): `save_state` writes everything the step carries (parameters,
optimizer moments and iteration count, the synthesizer's random state) to
one `.npz`, `load_state` puts it back, and `enable_compilation_cache` keeps
the compiled step on disk so that the next process does not compile again.
`compile` compiles the step ahead of time (one candidate configuration
at a time) and `seconds_per_step` times it without touching its state;
`rematerialized` makes a copy of a model that recomputes chosen layers' activations in the
backward pass (less memory, more arithmetic).

Imported on demand (it imports JAX); the rest of the package does not need
it. One device; for several, use `compile_for_deblurring(distribute=...)`
with a host data pipeline.

```python
import keras
from keras_attn_deblur import AttnDeblurNet, PSNRLoss
from keras_attn_deblur.data import PairSynthesizer, kernel_bank
from keras_attn_deblur.jax_training import SynthesisTrainer

model = AttnDeblurNet(dtype="mixed_bfloat16")
trainer = SynthesisTrainer(model, keras.optimizers.AdamW(1e-3), PSNRLoss(),
                           PairSynthesizer(patch_size=256), batch_size=32)
sources = trainer.put(frames=frames_uint8, photos=crops_uint8, kernels=kernel_bank(2048))
for step in range(1000):
    metrics = trainer.step(sources, learning_rate=1e-3)
trainer.write_back()          # the trained values into `model`'s variables
trainer.save_state("state.npz", step=1000)   # and, in the next process: load_state
```
"""

import json
import os
import time

import jax
import jax.numpy as jnp
import keras
import numpy as np

from keras_attn_deblur._utils.paths import write_atomically

STATE_GROUPS = ("trainable", "non_trainable", "optimizer", "synthesizer")
_CACHE_EVENTS = {"/jax/compilation_cache/cache_hits": "hits",
                 "/jax/compilation_cache/cache_misses": "misses"}  # fmt: skip
_cache_counts = {"hits": 0, "misses": 0}


def _count_cache_event(event, **kwargs):
    if event in _CACHE_EVENTS:
        _cache_counts[_CACHE_EVENTS[event]] += 1


jax.monitoring.register_event_listener(_count_cache_event)


def enable_compilation_cache(folder):
    """Keeps every compiled program in `folder` (JAX's persistent compilation cache).

    Call it before the first compilation of the process. Every program is
    kept, however quick its compilation, so that a second process with the
    same model, batch and flags reads its step from `folder` instead of
    compiling it (XLA's GPU autotuning results are kept there too).

    Returns:
        The number of entries already in `folder`.
    """
    os.makedirs(folder, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", os.path.abspath(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    try:  # the cache is set up once per process, at the first compilation: set it up again
        from jax.experimental.compilation_cache import compilation_cache

        compilation_cache.reset_cache()
    except (ImportError, AttributeError):
        pass
    return len([name for name in os.listdir(folder) if not name.startswith(".")])


def compilation_cache_counts():
    """Persistent compilation cache hits and misses of this process so far (a dict)."""
    return dict(_cache_counts)


def rematerialized(model, layer_names):
    """A copy of `model` (same weights) whose layers `layer_names` recompute their
    activations in the backward pass instead of keeping them (`jax.checkpoint`,
    through `keras.RematScope`): less memory for more arithmetic."""
    with keras.RematScope(mode="list_of_layers", layer_names=list(layer_names)):
        copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


class SynthesisTrainer:
    """Trains `model` on batches that `synthesizer` makes inside each jitted step.

    Args:
        model: `keras.Model`, built. Trained in its own dtype policy (build it
            with `dtype="mixed_bfloat16"` for mixed precision).
        optimizer: `keras.optimizers.Optimizer` with a float learning rate;
            `step(learning_rate=...)` sets it for each step, so any schedule
            (including one that depends on the time left) is the caller's.
        loss: `keras.losses.Loss` on `(sharp, restored)`, computed in float32.
        synthesizer: `keras_attn_deblur.data.PairSynthesizer`.
        batch_size: int. Patches per step.

    The trainer holds its own copy of the variables' values (`state`): the
    step donates them, so the model's variables stay valid until
    `write_back` assigns the trained values.
    """

    def __init__(self, model, optimizer, loss, synthesizer, batch_size):
        if keras.backend.backend() != "jax":
            raise RuntimeError(
                "SynthesisTrainer runs on the JAX backend: set KERAS_BACKEND=jax before "
                "importing keras"
            )
        self.model = model
        self.optimizer = optimizer
        self.loss = loss
        self.synthesizer = synthesizer
        self.batch_size = int(batch_size)
        optimizer.build(model.trainable_variables)
        paths = [variable.path for variable in optimizer.variables]
        rates = [index for index, path in enumerate(paths) if path.endswith("/learning_rate")]
        if len(rates) != 1:
            raise ValueError(
                "SynthesisTrainer needs an optimizer with a float learning rate (not a "
                f"schedule); its variables are {paths}"
            )
        self._rate_index = rates[0]
        self._iteration_index = paths.index(
            next(path for path in paths if path.endswith("/iteration"))
        )
        self.state = tuple(
            [jnp.copy(variable.value) for variable in variables]
            for variables in self._variable_groups()
        )
        self._step = jax.jit(self._train_step, donate_argnums=(0,))
        self._compiled = None
        self.compile_seconds = None
        self.memory = None
        self.cache_counts = None

    def _variable_groups(self):
        return (self.model.trainable_variables, self.model.non_trainable_variables,
                self.optimizer.variables, self.synthesizer.non_trainable_variables)  # fmt: skip

    @property
    def iterations(self):
        """The optimizer's iteration count (the steps applied, resumed runs included)."""
        return int(self.state[2][self._iteration_index])

    @property
    def learning_rate(self):
        """The learning rate of the last step (the optimizer's variable)."""
        return float(self.state[2][self._rate_index])

    # === The step ===

    def _pairs(self, synthesizer_state, sources):
        (blurry, sharp), synthesizer_state = self.synthesizer.stateless_call(
            [], synthesizer_state, sources, batch_size=self.batch_size
        )
        return blurry, sharp, synthesizer_state

    def _train_step(self, state, learning_rate, sources):
        trainable, non_trainable, optimizer_state, synthesizer_state = state
        blurry, sharp, synthesizer_state = self._pairs(synthesizer_state, sources)

        def compute_loss(trainable):
            restored, updated = self.model.stateless_call(
                trainable, non_trainable, blurry, training=True
            )
            restored = restored.astype("float32")
            return self.loss(sharp, restored), (updated, restored)

        (loss, (non_trainable, restored)), gradients = jax.value_and_grad(
            compute_loss, has_aux=True
        )(trainable)
        optimizer_state = list(optimizer_state)
        optimizer_state[self._rate_index] = jnp.asarray(
            learning_rate, optimizer_state[self._rate_index].dtype
        )
        trainable, optimizer_state = self.optimizer.stateless_apply(
            optimizer_state, gradients, trainable
        )
        metrics = {
            "loss": loss,
            "psnr": _mean_psnr(sharp, jnp.clip(restored, 0.0, 1.0)),
            "input_psnr": _mean_psnr(sharp, blurry),
        }
        return (trainable, non_trainable, optimizer_state, synthesizer_state), metrics

    # === Host side ===

    def put(self, **sources):
        """Copies NumPy sources (`frames`, `photos`, `kernels`) to the default device once."""
        sources = {key: value for key, value in sources.items() if value is not None}
        self.synthesizer.check_sources(sources, self.batch_size)
        return {key: jax.device_put(np.asarray(value)) for key, value in sources.items()}

    def compile(self, sources):
        """Compiles the step ahead of time; returns XLA's memory analysis (bytes) or `None`.

        Sets `compile_seconds` (lowering and compilation), `memory` and
        `cache_counts` (the persistent-cache hits and misses of this
        compilation): with `enable_compilation_cache`, a step compiled by an
        earlier process is read from the cache (`{"hits": 1, ...}`). Compile
        candidate configurations one after another, never in parallel threads:
        XLA's GPU compiler times kernels on the device while it compiles
        (autotuning), and parallel compilations can deadlock there (an H200
        window of 2026-12-04 spent a whole 600-second call in three).
        """
        before = compilation_cache_counts()
        started = time.perf_counter()
        self._compiled = self._step.lower(self.state, np.float32(0.0), sources).compile()
        self.compile_seconds = time.perf_counter() - started
        after = compilation_cache_counts()
        self.cache_counts = {key: after[key] - before[key] for key in after}
        self.memory = _memory_analysis(self._compiled)
        return self.memory

    @property
    def compiled(self):
        """Whether the step is compiled (`compile` or the first `step`)."""
        return self._compiled is not None

    def step(self, sources, learning_rate):
        """One training step (asynchronous: the returned metrics are device arrays)."""
        if self._compiled is None:
            self.compile(sources)
        self.state, metrics = self._compiled(self.state, np.float32(learning_rate), sources)
        return metrics

    def seconds_per_step(self, sources, steps=5, warmup=1):
        """Seconds per step on a copy of the state (learning rate 0), which is then dropped:
        the trainer's own state is as it was."""
        if self._compiled is None:
            self.compile(sources)
        state = jax.tree.map(jnp.copy, self.state)
        for _ in range(warmup):
            state, _ = self._compiled(state, np.float32(0.0), sources)
        jax.block_until_ready(state)
        started = time.perf_counter()
        for _ in range(steps):
            state, _ = self._compiled(state, np.float32(0.0), sources)
        jax.block_until_ready(state)
        return (time.perf_counter() - started) / steps

    def save_state(self, path, **record):
        """Writes the whole training state to `path` (`.npz`), atomically, with `record`.

        Every array the step carries (parameters, non-trainable values, the
        optimizer's moments, iteration count and learning rate, the
        synthesizer's random state) plus `record` (JSON-serializable facts of
        the caller's: step, seconds, schedule) and what `load_state` checks.
        """
        arrays, dtypes = {}, {}
        for group, values in zip(STATE_GROUPS, jax.device_get(self.state)):
            for index, value in enumerate(values):
                key = f"{group}/{index}"
                value = np.asarray(value)
                dtypes[key] = value.dtype.name
                if value.dtype.name == "bfloat16":  # no NumPy file type: stored as its bits
                    value = value.view("uint16")
                arrays[key] = value
        meta = {"layout": self._layout(), "dtypes": dtypes, "record": record}
        arrays["meta"] = np.array(json.dumps(meta))
        write_atomically(path, lambda file: np.savez(file, **arrays))
        return path

    def load_state(self, path):
        """Replaces the state by the one `save_state` wrote to `path`; returns its `record`.

        Raises:
            ValueError: `path` holds the state of another model, optimizer or
                synthesizer (other variables or shapes).
        """
        with np.load(path, allow_pickle=False) as stored:
            meta = json.loads(str(stored["meta"]))
            if meta["layout"] != self._layout():
                raise ValueError(
                    f"'{path}' holds the training state of another model or optimizer (other "
                    "variables or shapes): start afresh, or train the model it was saved from"
                )
            state = []
            for group, current in zip(STATE_GROUPS, self.state):
                values = []
                for index, value in enumerate(current):
                    key = f"{group}/{index}"
                    array = stored[key]
                    if meta["dtypes"][key] == "bfloat16":
                        array = array.view(jnp.bfloat16)
                    values.append(jax.device_put(array.astype(value.dtype, copy=False)))
                state.append(values)
        self.state = tuple(state)
        return meta["record"]

    def _layout(self):
        """What a saved state must match: each group's variable count, shapes and dtypes,
        and the model's variable paths below its own name."""
        layout = {
            group: [[list(value.shape), np.dtype(value.dtype).name] for value in values]
            for group, values in zip(STATE_GROUPS, self.state)
        }
        layout["paths"] = [variable.path.split("/", 1)[-1]
                           for variable in self.model.trainable_variables]  # fmt: skip
        return layout

    def synthesis_seconds(self, sources, repeats=5):
        """Seconds that making one batch takes on the device alone (jitted, warm)."""
        state = [jnp.copy(value) for value in self.state[3]]
        pairs = jax.jit(self._pairs)
        jax.block_until_ready(pairs(state, sources))
        started = time.perf_counter()
        for _ in range(repeats):
            blurry, _, state = pairs(state, sources)
        jax.block_until_ready(blurry)
        return (time.perf_counter() - started) / repeats

    def write_back(self):
        """Assigns the trained values to the model's (and optimizer's) variables."""
        trainable, non_trainable, optimizer_state, synthesizer_state = self.state
        pairs = (
            (self.model.trainable_variables, trainable),
            (self.model.non_trainable_variables, non_trainable),
            (self.optimizer.variables, optimizer_state),
            (self.synthesizer.non_trainable_variables, synthesizer_state),
        )
        for variables, values in pairs:
            for variable, value in zip(variables, values):
                variable.assign(value)
        return self.model


def _mean_psnr(sharp, image):
    error = jnp.mean(jnp.square(sharp - image.astype("float32")), axis=(1, 2, 3))
    return jnp.mean(-10.0 * jnp.log10(jnp.maximum(error, 1e-10)))


def _memory_analysis(compiled):
    try:
        analysis = compiled.memory_analysis()
    except Exception:  # not every backend reports it
        return None
    if analysis is None:
        return None
    fields = ("argument_size_in_bytes", "output_size_in_bytes", "temp_size_in_bytes",
              "alias_size_in_bytes", "generated_code_size_in_bytes")  # fmt: skip
    return {field: int(getattr(analysis, field)) for field in fields if hasattr(analysis, field)}
