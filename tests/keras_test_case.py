"""The one place that imports Keras' private test harness.

`keras.src.testing.TestCase.run_layer_test` checks serialization, symbolic
and eager calls, a training step and mixed precision for a layer.
"""

from keras.src.testing import TestCase  # noqa: F401  (re-exported)
