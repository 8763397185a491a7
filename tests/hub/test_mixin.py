"""HubMixin (keras_attn_deblur.hub.mixin): the model's sharing methods, and no import circle."""

import inspect
import os
import subprocess
import sys

import pytest

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur.hub import HubMixin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Imports the hub package in a fresh interpreter, without running the
# package's __init__ (the public API, which imports the model on purpose once
# Keras is loaded, to register its classes).
_IMPORT_THE_HUB_ALONE = """
import importlib.util
import sys
import types

spec = importlib.util.find_spec("keras_attn_deblur")
package = types.ModuleType("keras_attn_deblur")
package.__path__ = list(spec.submodule_search_locations)
sys.modules["keras_attn_deblur"] = package
import keras_attn_deblur.hub
print(" ".join(sorted(name for name in sys.modules if name.startswith("keras_attn_deblur."))))
"""


def test_the_hub_imports_without_the_model_module():
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_THE_HUB_ALONE],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = result.stdout.split()
    assert "keras_attn_deblur.hub.mixin" in loaded and "keras_attn_deblur.hub.resolve" in loaded
    assert "keras_attn_deblur.models.attn_deblur_net" not in loaded


def test_the_model_gets_the_hub_methods_from_the_mixin():
    assert issubclass(AttnDeblurNet, HubMixin)
    for name in ("from_preset", "from_pretrained", "save_pretrained", "push_to_hub"):
        assert getattr(AttnDeblurNet, name).__qualname__ == f"HubMixin.{name}"


@pytest.mark.parametrize("method", ["from_pretrained", "save_pretrained", "push_to_hub"])
def test_options_are_keyword_only_and_typed(method):
    parameters = list(inspect.signature(getattr(AttnDeblurNet, method)).parameters.values())
    positional = [p for p in parameters if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert len(positional) == (1 if method == "from_pretrained" else 2)  # (cls bound) handle
    for parameter in parameters:
        if parameter.name != "self":
            assert parameter.annotation is not inspect.Parameter.empty, parameter.name
