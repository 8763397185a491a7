"""JAX-only: a jitted training step that makes its own batch on the accelerator.

`SynthesisTrainer` fuses `PairSynthesizer` (frame averaging and synthetic
motion blur in `keras.ops`) with the forward pass, the loss, the gradients
and the optimizer update into one compiled XLA program. The sources (video
frames, photo crops, a kernel bank) stay in device memory; the host only
dispatches steps, so it cannot be the bottleneck. This is the training loop
of a lent accelerator (`release/device_train.sh`), written the way Keras's
"training loop from scratch in JAX" guide writes one: `stateless_call` and
`stateless_apply` on lists of arrays, the state donated to each step.

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
```
"""

import time

import jax
import jax.numpy as jnp
import keras
import numpy as np


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
        self.state = (
            [variable.value for variable in model.trainable_variables],
            [variable.value for variable in model.non_trainable_variables],
            [variable.value for variable in optimizer.variables],
            [variable.value for variable in synthesizer.non_trainable_variables],
        )
        self._step = jax.jit(self._train_step, donate_argnums=(0,))
        self._compiled = None
        self.compile_seconds = None
        self.memory = None

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
        """Compiles the step ahead of time; returns XLA's memory analysis (bytes) or `None`."""
        started = time.perf_counter()
        lowered = self._step.lower(self.state, np.float32(0.0), sources)
        self._compiled = lowered.compile()
        self.compile_seconds = time.perf_counter() - started
        self.memory = _memory_analysis(self._compiled)
        return self.memory

    def step(self, sources, learning_rate):
        """One training step (asynchronous: the returned metrics are device arrays)."""
        if self._compiled is None:
            self.compile(sources)
        self.state, metrics = self._compiled(self.state, np.float32(learning_rate), sources)
        return metrics

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
