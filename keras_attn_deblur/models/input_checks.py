"""Checks of the images given to `AttnDeblurNet`: one-line errors, on every input path.

Arrays are checked on the host before any tracing; every batch of any source
(tf.data, generators, `PyDataset`, `train_on_batch`) is checked again inside
the train and test steps (below), where a bad batch is kept out of the weights.
"""

import contextlib
import threading

import keras
import numpy as np
from keras import ops

_FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")


def validate_array_pair(images, targets):
    """Checks the inputs of fit/evaluate/predict: arrays fully, tf.data specs by shape.

    NumPy arrays are also checked for values (NaN or infinite pixels, a 0-255
    scale), in chunks, which costs one pass over the data; tensors and
    generators are checked by shape and dtype only.
    """
    spec = getattr(images, "element_spec", None)
    if spec is not None:
        _validate_dataset_spec(spec)
        return
    if not hasattr(images, "shape") or not hasattr(images, "dtype"):
        return
    validate_images(images)
    if images.shape[0] == 0:
        raise ValueError(
            "AttnDeblurNet received an empty batch (0 images). Received: "
            f"shape={tuple(images.shape)}"
        )
    _validate_values(images, "blurry images (x)")
    if targets is None or not hasattr(targets, "shape"):
        return
    if tuple(targets.shape) != tuple(images.shape):
        raise ValueError(
            "Blurry and sharp images must have the same shape. Received: "
            f"x.shape={tuple(images.shape)}, y.shape={tuple(targets.shape)}"
        )
    _validate_target_dtype(targets, "")
    _validate_values(targets, "sharp targets (y)")


# Values outside this range are not [0, 1] images with a little noise: a 0-255 scale.
_VALUE_RANGE = (-0.5, 1.5)


def _validate_values(array, what, chunk=64):
    """NaN/inf or a 0-255 scale in a NumPy array give a one-line ValueError."""
    if not isinstance(array, np.ndarray):
        return
    low, high = np.inf, -np.inf
    for start in range(0, array.shape[0], chunk):
        part = array[start : start + chunk]
        bad = int(np.size(part) - np.count_nonzero(np.isfinite(part)))
        if bad:
            raise ValueError(
                f"The {what} hold NaN or infinite values (first in image {start} or after); "
                "AttnDeblurNet needs finite [0, 1] pixels: fix or drop those images "
                "(numpy.nan_to_num)."
            )
        low, high = min(low, float(part.min())), max(high, float(part.max()))
    if low < _VALUE_RANGE[0] or high > _VALUE_RANGE[1]:
        raise ValueError(
            f"The {what} range from {low:g} to {high:g}, but AttnDeblurNet expects [0, 1]: "
            "divide 8-bit values by 255 (16-bit by 65535)."
        )


def _validate_dataset_spec(spec):
    """A tf.data dataset of (blurry, sharp): shapes that must match, float dtypes."""
    if not isinstance(spec, tuple) or len(spec) < 2:
        return
    blurry, sharp = spec[0], spec[1]
    if not (hasattr(blurry, "shape") and hasattr(sharp, "shape")):
        return
    for name, item in (("blurry", blurry), ("sharp", sharp)):
        dtype = keras.backend.standardize_dtype(item.dtype)
        if dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"The dataset yields {name} images of dtype {dtype}; AttnDeblurNet needs "
                "float images in [0, 1]: map them with tf.cast(x, 'float32') / 255."
            )
    try:
        blurry_shape, sharp_shape = blurry.shape.as_list(), sharp.shape.as_list()
    except (AttributeError, ValueError):  # unknown rank
        return
    if _shapes_differ(blurry_shape, sharp_shape):
        raise ValueError(
            "The dataset yields blurry and sharp images of different shapes: "
            f"{tuple(blurry_shape)} and {tuple(sharp_shape)}; crop or resize the pairs "
            "together (keras_attn_deblur.data.make_dataset does)."
        )


def validate_images(images):
    """Raises `ValueError` unless `images` is a float (batch, H, W, 3) array.

    Dimensions unknown at trace time (None) are not checked.
    """
    if isinstance(images, (list, tuple, dict)):
        raise ValueError(
            "AttnDeblurNet takes a single image batch of shape (batch, height, "
            f"width, 3). Received: a {type(images).__name__}"
        )
    try:
        shape = tuple(images.shape)
    except (TypeError, ValueError):  # a TensorFlow tensor of unknown rank
        shape = None
    dtype = keras.backend.standardize_dtype(images.dtype)
    if shape is not None and (len(shape) != 4 or shape[-1] not in (3, None)):
        raise ValueError(
            "AttnDeblurNet expects RGB images of shape (batch, height, width, 3); "
            f"add a batch axis or convert grayscale/RGBA to RGB. Received: shape={shape}"
        )
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "AttnDeblurNet expects float images in [0, 1]; divide integer images "
            f"by 255 (8-bit) or 65535 (16-bit). Received: dtype={dtype}"
        )
    if shape is not None and any(size == 0 for size in shape[1:3]):
        raise ValueError(
            "AttnDeblurNet needs images at least 1 pixel high and wide. "
            f"Received: shape={shape}"
        )


# === Every batch, whatever its source: checks inside the train and test steps ===
#
# `fit` and `evaluate` read arrays above on the host, once. Data that streams in
# (tf.data, generators, `PyDataset`, `train_on_batch`) is checked in the step
# itself, in keras.ops, at the cost of two passes over the batch: the step
# returns one flag per problem under `BATCH_CHECK_KEY`, a train step leaves a bad
# batch out of the weights (its loss is multiplied by 0 after its pixels are
# zeroed, so the gradient is exactly 0, not NaN), and `BatchCheck` raises the
# one-line error on the host right after that step.

BATCH_CHECK_KEY = "_attn_deblur_batch_check"

# One flag per problem, in the order of `batch_problems`; the first raised wins.
_BATCH_PROBLEMS = (
    "holds no images (an empty batch): make the dataset or generator yield at least "
    "one image per batch",
    "holds blurry and sharp images of different shapes: crop or resize the pairs together "
    "(keras_attn_deblur.data.make_dataset does)",
    "holds blurry images (x) with NaN or infinite values; AttnDeblurNet needs finite "
    "[0, 1] pixels: fix or drop those images in the data (numpy.nan_to_num)",
    "holds blurry images (x) outside [-0.5, 1.5], so not [0, 1] images: divide 8-bit "
    "values by 255 (16-bit by 65535) in the data",
    "holds sharp targets (y) with NaN or infinite values; AttnDeblurNet needs finite "
    "[0, 1] pixels: fix or drop those images in the data (numpy.nan_to_num)",
    "holds sharp targets (y) outside [-0.5, 1.5], so not [0, 1] images: divide 8-bit "
    "values by 255 (16-bit by 65535) in the data",
)


def _validate_target_dtype(targets, where):
    dtype = keras.backend.standardize_dtype(targets.dtype)
    if dtype not in _FLOAT_DTYPES:
        raise ValueError(
            "The sharp targets (y) must be float images in [0, 1]; divide integer images "
            f"by 255 (8-bit) or 65535 (16-bit){where}. Received: y.dtype={dtype}"
        )


def validate_batch_pair(blurry, sharp):
    """Checks a batch's dtypes and known shapes while the step is traced (host, once)."""
    validate_images(blurry)
    if sharp is None:
        return
    if not (hasattr(sharp, "shape") and hasattr(sharp, "dtype")):
        raise ValueError(
            "AttnDeblurNet trains on (blurry, sharp) batches of images; the sharp "
            f"targets (y) are a {type(sharp).__name__}"
        )
    _validate_target_dtype(sharp, " in the data")
    blurry_shape, sharp_shape = tuple(blurry.shape), tuple(sharp.shape)
    if _shapes_differ(blurry_shape, sharp_shape):
        raise ValueError(
            "Blurry and sharp images must have the same shape; crop or resize the pairs "
            f"together. Received: x.shape={blurry_shape}, y.shape={sharp_shape}"
        )


def batch_problems(blurry, sharp):
    """The flags of one batch, and `sharp` made safe to pass to the loss.

    Returns `(problems, sharp)`: one float32 flag (0 or 1) per entry of
    `_BATCH_PROBLEMS`, in keras.ops; `sharp` is replaced by zeros shaped like
    `blurry` when their shapes, unknown until the step runs (a tf.data
    dataset of images of any size), differ. A NaN compares false both ways,
    so it also raises the range flag; the message names the first flag.
    """
    low, high = _VALUE_RANGE

    def value_flags(images):
        if images is None:
            return [False, False]
        non_finite = ops.logical_not(ops.all(ops.isfinite(images)))
        in_range = ops.logical_and(ops.greater_equal(images, low), ops.less_equal(images, high))
        return [non_finite, ops.logical_not(ops.all(in_range))]

    empty = ops.equal(ops.shape(blurry)[0], 0)
    different = False
    if sharp is not None and None in tuple(blurry.shape) + tuple(sharp.shape):
        different = ops.logical_not(
            ops.all(ops.stack([ops.equal(a, b) for a, b in zip(ops.shape(blurry), ops.shape(sharp))]))
        )
        values = sharp
        sharp = ops.cond(different, lambda: ops.zeros_like(blurry), lambda: values)
    flags = [empty, different] + value_flags(blurry) + value_flags(sharp)
    return ops.stack([ops.cast(flag, "float32") for flag in flags]), sharp


def left_out(problems, images):
    """`images`, or zeros where `problems` flag the batch: a bad batch cannot reach the weights."""
    if images is None:
        return None
    usable = ops.logical_not(ops.any(ops.greater(problems, 0)))
    return ops.where(usable, images, ops.zeros_like(images))


def non_empty(images):
    """`images`, or one black image in place of an empty batch.

    Some TensorFlow convolution kernels fail on a batch of 0 images before
    the flag of `batch_problems` can be read; the one image stands in, its
    loss is zeroed like any flagged batch's, and the step is refused after.
    """
    if images is None:
        return None
    batch = images.shape[0]
    if batch is not None:  # known while tracing (JAX, or a dataset of fixed batches)
        return ops.zeros((1,) + tuple(images.shape[1:]), images.dtype) if batch == 0 else images
    shape = ops.shape(images)
    one_image = ops.zeros((1,) + tuple(shape[1:]), images.dtype)
    return ops.cond(ops.equal(shape[0], 0), lambda: one_image, lambda: images)


_STEP = threading.local()


@contextlib.contextmanager
def step_problems(problems):
    """Lets `loss_weight` see the batch flags while a train step is traced."""
    previous = getattr(_STEP, "problems", None)
    _STEP.problems = problems
    try:
        yield
    finally:
        _STEP.problems = previous


def loss_weight(dtype):
    """0 if the batch of the train step being traced is flagged, else 1; None outside one."""
    problems = getattr(_STEP, "problems", None)
    if problems is None:
        return None
    return ops.cast(ops.logical_not(ops.any(ops.greater(problems, 0))), dtype)


def batch_problem_message(problems, where):
    """The one-line error for the flags of a finished step, or None if there are none."""
    if problems is None:
        return None
    flagged = np.flatnonzero(np.asarray(problems, dtype="float32") > 0)
    if flagged.size == 0:
        return None
    return f"{where} {_BATCH_PROBLEMS[int(flagged[0])]}."


class BatchFlags:
    """Takes the check's flags out of a Keras train/test function's logs, for `BatchCheck`.

    Keras never sees the flags: `fit`'s epoch logs, `evaluate`'s results and
    the progress bar keep their usual keys. The flags stay on the device until
    `take()` reads them.
    """

    def __init__(self):
        self.latest = None

    def wrap(self, function):
        if function is None or getattr(function, "takes_batch_flags", False):
            return function

        def run(*args, **kwargs):
            result = function(*args, **kwargs)
            logs = result[0] if isinstance(result, tuple) else result  # JAX: (logs, state)
            if isinstance(logs, dict):
                self.latest = logs.pop(BATCH_CHECK_KEY, None)
            return result

        run.takes_batch_flags = True
        return run

    def take(self):
        problems, self.latest = self.latest, None
        return problems


class BatchCheck(keras.callbacks.Callback):
    """Raises the one-line error of a flagged batch right after its step.

    Put first in the callbacks, so that no other callback sees the step. Not
    async-safe on purpose: the error must come before the next step runs.
    """

    def __init__(self, flags):
        super().__init__()
        self._flags = flags
        self._epoch = 0
        self._training = False

    def on_train_begin(self, logs=None):
        self._training = True

    def on_train_end(self, logs=None):
        self._training = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._check(f"Training stopped at step {batch + 1} of epoch {self._epoch + 1}: the batch")

    def on_test_batch_end(self, batch, logs=None):
        stage = "Validation" if self._training else "Evaluation"
        self._check(f"{stage} stopped at step {batch + 1}: the batch")

    def _check(self, where):
        message = batch_problem_message(self._flags.take(), where)
        if message is not None:
            self.model  # on JAX, reading `model` writes the trained state back into it
            raise ValueError(message)


def with_batch_check(callbacks, flags):
    """`callbacks` with a `BatchCheck` first; a `CallbackList` (fit's own, for validation) as is."""
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks
    if callbacks is None:
        callbacks = []
    elif not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    return [BatchCheck(flags), *callbacks]


class CheckedSteps:
    """Mixin for a `keras.Model` trained on (blurry, sharp) batches: checks each batch in its steps.

    Whatever feeds the step (arrays, tf.data, a generator, a `PyDataset`,
    `train_on_batch`), a batch whose dtypes or known shapes are wrong fails
    when the step is traced; one that holds NaN or infinite pixels, values
    outside [-0.5, 1.5], no images, or blurry and sharp images of different
    shapes is left out of the weights inside the step, and `fit`,
    `evaluate`, `train_on_batch` and `test_on_batch` raise its one-line
    error right after that step. On good batches, training is unchanged.
    List it before `keras.Model` among the bases.
    """

    @property
    def _batch_flags(self):
        flags = self.__dict__.get("_checked_steps_flags")
        if flags is None:
            flags = self.__dict__["_checked_steps_flags"] = BatchFlags()
        return flags

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            *args, **kwargs):  # fmt: skip
        callbacks = with_batch_check(callbacks, self._batch_flags)
        return super().fit(x, y, batch_size, epochs, verbose, callbacks, *args, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, *args, **kwargs):  # fmt: skip
        callbacks = with_batch_check(callbacks, self._batch_flags)
        return super().evaluate(
            x, y, batch_size, verbose, sample_weight, steps, callbacks, *args, **kwargs
        )

    def train_on_batch(self, *args, **kwargs):
        logs = super().train_on_batch(*args, **kwargs)
        self._raise_batch_problem("train_on_batch stopped: the batch")
        return logs

    def test_on_batch(self, *args, **kwargs):
        logs = super().test_on_batch(*args, **kwargs)
        self._raise_batch_problem("test_on_batch stopped: the batch")
        return logs

    def _raise_batch_problem(self, where):
        message = batch_problem_message(self._batch_flags.take(), where)
        if message is not None:
            raise ValueError(message)

    # The steps take `data` last: `train_step(data)` on TensorFlow,
    # `train_step(state, data)` on JAX.
    def train_step(self, *args):
        *state, data = args
        blurry, sharp, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        self._validate_traced_batch(blurry, sharp, "train_function")
        problems, sharp = batch_problems(blurry, sharp)
        blurry, sharp = non_empty(blurry), non_empty(sharp)
        data = keras.utils.pack_x_y_sample_weight(
            left_out(problems, blurry), left_out(problems, sharp), sample_weight
        )
        with step_problems(problems):
            result = super().train_step(*state, data)
        (result[0] if state else result)[BATCH_CHECK_KEY] = problems
        return result

    def test_step(self, *args):
        *state, data = args
        blurry, sharp, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        self._validate_traced_batch(blurry, sharp, "test_function")
        problems, sharp = batch_problems(blurry, sharp)
        blurry, sharp = non_empty(blurry), non_empty(sharp)
        data = keras.utils.pack_x_y_sample_weight(blurry, sharp, sample_weight)
        result = super().test_step(*state, data)
        (result[0] if state else result)[BATCH_CHECK_KEY] = problems
        return result

    def _validate_traced_batch(self, blurry, sharp, function_name):
        try:
            validate_batch_pair(blurry, sharp)
        except ValueError:
            # TensorFlow cannot trace a function again after its first trace failed.
            setattr(self, function_name, None)
            raise

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        validate_batch_pair(x, y)  # JAX's `fit` builds the loss before it traces a step
        loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
        weight = loss_weight(loss.dtype)  # 0 for a batch that the train step left out
        return loss if weight is None else loss * weight

    def make_train_function(self, force=False):
        super().make_train_function(force)
        self.train_function = self._batch_flags.wrap(self.train_function)
        return self.train_function

    def make_test_function(self, force=False):
        super().make_test_function(force)
        self.test_function = self._batch_flags.wrap(self.test_function)
        return self.test_function


def _shapes_differ(first, second):
    """Whether two shapes (None for an unknown dimension) cannot be the same."""
    return len(first) != len(second) or any(
        a is not None and b is not None and a != b for a, b in zip(first, second)
    )
