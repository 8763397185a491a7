"""What `precision="auto"` runs a model in on this machine, and why.

```python
from keras_attn_deblur.inference.precision import choose_precision

choose_precision(model)  # ("bfloat16", "this CPU has AVX-512 BF16")
```
"""

import os

from keras_attn_deblur._utils import machine
from keras_attn_deblur.inference import int8


def choose_precision(model, int8_model=None):
    """What `precision="auto"` runs `model` in on this machine: `(precision, reason)`.

    The fastest precision that does not go below the model's own: bfloat16
    pays only where the hardware computes it natively (about 4x with AMX);
    elsewhere oneDNN and XLA emulate it with float32 arithmetic and
    conversions, and it is no faster than float32 (within 10% either way on
    an AVX2-only AMD EPYC, TensorFlow and JAX, measured in docs/results.md) while
    it rounds every activation to 8 bits of mantissa.

    - A model computing in float32 (or float64) runs as it is (`None`): it
      is never lowered to bfloat16 behind its user's back.
    - A model computing in bfloat16 or float16 (the bundled weights are
      `mixed_bfloat16`) on the CPU: `"bfloat16"` where the CPU has AMX
      (Intel Xeon from Sapphire Rapids: about 4x float32); else `"int8"`
      where the CPU has int8 dot-product units (AVX-512 VNNI, AVX-VNNI,
      AMX-INT8), ONNX Runtime is installed and the model has an int8 build
      (`int8_model`, or the bundled weights' own), which passed the
      fidelity gate when it was built (on a 2-core AMD EPYC with AVX-512
      BF16 and VNNI: 2.5x float32 and 1.4x bfloat16, measured in
      docs/results.md); else `"bfloat16"` where the CPU has AVX-512 BF16 (Cooper
      Lake, AMD Zen 4 and later); `"float32"` elsewhere (AVX2 only, Arm).
    - On a GPU: the model's own (`None`) where it computes bfloat16
      natively (compute capability 8.0, Ampere, and later) or the model is
      float16; `"float32"` for a bfloat16 model on an older GPU. On a TPU:
      `"bfloat16"`.

    Args:
        model: `keras.Model`. The network.
        int8_model: str, path or `None`. Its int8 build, if not the bundled
            one. Defaults to `None`.

    Returns:
        `(precision, reason)`: a `precision` value of `Deblurrer` (`None`,
        `"float32"`, `"bfloat16"` or `"int8"`) and why, in words.
    """
    computes = model.dtype_policy.compute_dtype
    device = machine.accelerator()
    units = machine.bfloat16_units() if device is None else ()
    if computes not in ("bfloat16", "float16"):
        hint = f"; precision='bfloat16' may be faster on this CPU's {units[0]}" if units else ""
        return None, f"the model computes in {computes}{hint}"
    if device is None:
        if "AMX" in units:
            return "bfloat16", f"this CPU has {' and '.join(units)}"
        int8_reason = _int8_choice(model, int8_model)
        if int8_reason is not None:
            return "int8", int8_reason
        if units:
            return "bfloat16", f"this CPU has {' and '.join(units)}"
        return "float32", (
            f"this CPU ({machine.cpu_info()[0]}) has no AMX or AVX-512 BF16, "
            "so bfloat16 would be emulated, no faster than float32 and less precise"
        )
    kind, native_bfloat16 = device
    if kind == "TPU":
        return "bfloat16", "a TPU computes bfloat16 natively"
    if native_bfloat16 or computes == "float16":
        return None, f"the model's {computes}, which the {kind} computes natively"
    return "float32", f"the {kind} has no bfloat16 units (compute capability below 8.0)"


def _int8_choice(model, int8_model):
    """Why `"auto"` runs the int8 build of `model` on this CPU, or `None` when it does not."""
    units = int8.int8_units()
    if not units:
        return None
    try:
        build = int8.find_int8_build(model, int8_model)
    except ImportError:
        return None
    if build is None:
        return None
    return (
        f"this CPU has {' and '.join(units)} and no AMX, and the weights have an int8 build "
        f"that passed the fidelity gate ('{os.path.basename(build)}'), faster there than "
        "bfloat16 and float32"
    )
