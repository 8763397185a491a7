"""keras-attn-deblur: spatial-attention motion deblurring for Keras 3.

The public API. Importing the package imports neither Keras nor TensorFlow:
each name is imported on first use (PEP 562), so that `attn-deblur --help`
answers at once and the package works on the JAX backend without
TensorFlow installed. The package's Keras classes (layers, losses, metrics,
the model) are registered for `keras.saving.load_model` as soon as Keras is
loaded, whichever comes first: this package or Keras.

TensorFlow's and CUDA's native start-up lines are kept off stderr, here as
on the command line; `KERAS_ATTN_DEBLUR_NATIVE_LOGS=1` shows them
(`_utils/native_logs.py`).
"""

import importlib
import sys

from keras_attn_deblur._utils import import_hooks
from keras_attn_deblur._utils import native_logs
from keras_attn_deblur.version import __version__

# First, before anything imports TensorFlow: the command line keeps native log
# lines off the terminal for the whole process (attn-deblur --debug shows them),
# any other program for TensorFlow's and JAX's start-up.
native_logs.quiet_start(sys.argv)

# Public name -> the module that defines it.
_PUBLIC = {
    "PRESETS": "keras_attn_deblur.models",
    "PSNR": "keras_attn_deblur.metrics",
    "SSIM": "keras_attn_deblur.metrics",
    "AttnDeblurNet": "keras_attn_deblur.models",
    "CharbonnierLoss": "keras_attn_deblur.losses",
    "Deblurrer": "keras_attn_deblur.inference",
    "FrequencyLoss": "keras_attn_deblur.losses",
    "PSNRLoss": "keras_attn_deblur.losses",
    "SpatialAttentionBlock": "keras_attn_deblur.layers",
    "WeightedSumLoss": "keras_attn_deblur.losses",
    "compile_for_deblurring": "keras_attn_deblur.training",
    "deblur": "keras_attn_deblur.inference",
    "deblur_file": "keras_attn_deblur.inference",
    "deblur_folder": "keras_attn_deblur.inference",
    "deblurring_callbacks": "keras_attn_deblur.training",
    "psnr": "keras_attn_deblur.metrics",
    "ssim": "keras_attn_deblur.metrics",
}
# Subpackages and modules, imported on first use as attributes (`kad.data`).
_SUBMODULES = (
    "data", "distribute", "evaluation", "export", "hub", "inference", "io", "jax_training",
    "layers", "losses", "metrics", "models", "training", "visualize",
)  # fmt: skip
# The modules that register Keras classes (`register_keras_serializable`).
_SERIALIZABLE = (
    "keras_attn_deblur.layers",
    "keras_attn_deblur.losses",
    "keras_attn_deblur.metrics",
    "keras_attn_deblur.models.attn_deblur_net",
    "keras_attn_deblur.data.synthetic.pair_synthesizer",
)

__all__ = sorted([*_PUBLIC, "__version__", "inference", "training"])


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_PUBLIC, *_SUBMODULES})


_registered = False


def _register_serializable_classes():
    """Imports the modules that register Keras classes, once Keras is loaded.

    Called once Keras is imported and after every import of a submodule of
    this package: not while one is half imported (its class would not be
    defined yet), nor before Keras is loaded (that would load it).
    """
    global _registered
    if _registered or "keras" not in sys.modules or import_hooks.importing_package(__name__):
        return
    _registered = True
    for module in _SERIALIZABLE:
        importlib.import_module(module)


import_hooks.call_after_package_import(__name__, _register_serializable_classes)
import_hooks.call_after_import("keras", _register_serializable_classes)
