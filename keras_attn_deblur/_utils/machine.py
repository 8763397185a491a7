"""This machine in words, for benchmark tables and training budgets, and what it runs fast."""

import os
import platform

# Where Linux describes the CPU (tests point this at a file of their own).
CPUINFO_PATH = "/proc/cpuinfo"
# CPU flags of the units that compute in bfloat16 natively, and their names.
_BFLOAT16_UNITS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"))


def cpu_info():
    """(model name, set of flags) of the CPU, from /proc/cpuinfo where there is one."""
    name, flags = None, set()
    try:
        with open(CPUINFO_PATH, encoding="utf-8") as file:
            for line in file:
                key, _, value = (part.strip() for part in line.partition(":"))
                if key == "model name" and name is None:
                    name = value.replace("(R)", "").replace("(TM)", "")
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return name or platform.processor() or platform.machine(), flags


def cpu_cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def describe_cpu():
    """E.g. '2 CPU cores (Intel Xeon Processor, AVX-512 BF16, no AMX)': the units that
    decide whether bfloat16 pays (~4x with AMX, none with AVX2 only)."""
    name, flags = cpu_info()
    bf16 = "AVX-512 BF16" if "avx512_bf16" in flags else "no AVX-512 BF16"
    amx = "AMX" if "amx_tile" in flags else "no AMX"
    return f"{cpu_cores()} CPU cores ({name}, {bf16}, {amx})"


def bfloat16_units():
    """The names of the CPU's units that compute in bfloat16 natively, e.g. `("AMX",)`.

    Empty where there are none (AVX2 only, or no /proc/cpuinfo): there
    oneDNN and XLA emulate bfloat16 with float32 arithmetic plus
    conversions, no faster than float32 itself.
    """
    _, flags = cpu_info()
    return tuple(name for flag, name in _BFLOAT16_UNITS if flag in flags)


def accelerator():
    """The accelerator Keras computes on, or `None` on the CPU.

    Returns:
        `None`, or `(kind, bfloat16)`: `kind` `"GPU"` or `"TPU"` (with the
        device name where the backend gives one) and whether it computes in
        bfloat16 natively (TPUs; NVIDIA GPUs of compute capability 8.0,
        Ampere, and later).
    """
    import keras

    backend = keras.config.backend()
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform == "tpu":
            return "TPU", True
        if device.platform == "gpu":
            capability = getattr(device, "compute_capability", None)
            return f"GPU ({device.device_kind})", _is_ampere_or_later(capability)
        return None
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_physical_devices("TPU"):
            return "TPU", True
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            details = tf.config.experimental.get_device_details(gpus[0])
            name = details.get("device_name", "GPU")
            return f"GPU ({name})", _is_ampere_or_later(details.get("compute_capability"))
        return None
    if backend == "torch":
        import torch

        if torch.cuda.is_available():
            capability = torch.cuda.get_device_capability(0)
            return f"GPU ({torch.cuda.get_device_name(0)})", _is_ampere_or_later(capability)
    return None


def _is_ampere_or_later(capability):
    """Whether a CUDA compute capability (`(8, 0)` or `"8.0"`) has bfloat16 tensor cores."""
    if capability is None:
        return False
    if isinstance(capability, str):
        capability = tuple(int(part) for part in capability.split(".")[:2])
    return tuple(capability) >= (8, 0)
