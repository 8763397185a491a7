import os
import subprocess
import sys

import keras_attn_deblur

# Runs in a fresh interpreter where `import tensorflow` fails, like a machine
# without TensorFlow (the lent GPU machines have JAX only).
_WITHOUT_TENSORFLOW = """
import sys
sys.modules["tensorflow"] = None
import numpy as np
import keras_attn_deblur as kad
from keras_attn_deblur import data
model = kad.compile_for_deblurring(
    kad.AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3), loss="mse")
images = np.random.default_rng(0).random((2, 12, 13, 3)).astype("float32")
model.fit(images, images, epochs=1, verbose=0)
print(model.predict(images, verbose=0).shape, kad.__version__)
"""


def test_public_api():
    expected = {
        "AttnDeblurNet", "SpatialAttentionBlock", "PSNR", "SSIM", "psnr", "ssim",
        "CharbonnierLoss", "PSNRLoss", "FrequencyLoss", "WeightedSumLoss",
        "compile_for_deblurring", "deblurring_callbacks", "training", "PRESETS", "__version__",
    }
    assert expected <= set(keras_attn_deblur.__all__)
    for name in keras_attn_deblur.__all__:
        assert getattr(keras_attn_deblur, name) is not None


def test_imports_and_trains_on_jax_without_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TENSORFLOW],
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f"(2, 12, 13, 3) {keras_attn_deblur.__version__}"
