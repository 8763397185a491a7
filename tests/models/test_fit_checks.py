"""`fit`, `evaluate`, `train_on_batch` and `test_on_batch` refuse bad batches from any source.

Arrays are checked on the host before tracing (`tests/test_reliability.py`);
these tests feed the same problems through tf.data, Python generators,
`keras.utils.PyDataset` and the per-batch calls, on whichever backend runs
them (tf.data feeds JAX too). Each expects a one-line `ValueError` naming the
problem and the fix, and weights that stay finite: a refused first batch must
leave them exactly as they were before `fit`.
"""

import keras
import numpy as np
import pytest

from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur import data
from tests.test_cli import write_pairs

tf = pytest.importorskip("tensorflow")

RNG = np.random.default_rng(0)
BLURRY = RNG.uniform(0.05, 0.95, size=(2, 16, 16, 3)).astype("float32")
SHARP = np.clip(BLURRY + RNG.normal(scale=0.05, size=BLURRY.shape), 0, 1).astype("float32")
NAN_SHARP = SHARP.copy()
NAN_SHARP[1, 5, 7, 2] = np.nan  # a single NaN pixel


def tiny_model():
    """A compiled tiny model whose output differs from its input (the output conv is not zero)."""
    keras.utils.set_random_seed(0)
    model = AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
    conv = model.get_layer("output_conv")
    conv.kernel.assign(np.random.default_rng(0).normal(scale=0.02, size=conv.kernel.shape))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def weights(model):
    return [np.array(keras.ops.convert_to_numpy(weight)) for weight in model.weights]


def refused(call, match):
    """Runs `call`; returns the one-line message of the ValueError it must raise."""
    with pytest.raises(ValueError, match=match) as error:
        call()
    message = str(error.value)
    assert "\n" not in message
    return message


def assert_unchanged(model, before):
    after = weights(model)
    assert all(np.isfinite(weight).all() for weight in after)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)


def test_fit_refuses_a_tf_data_dataset_of_0_255_targets():
    model = tiny_model()
    before = weights(model)
    dataset = tf.data.Dataset.from_tensors((BLURRY, SHARP * 255))
    message = refused(lambda: model.fit(dataset, verbose=0), "sharp targets .* outside")
    assert "step 1 of epoch 1" in message and "divide 8-bit values by 255" in message
    assert_unchanged(model, before)


def test_fit_refuses_nan_targets_from_tf_data_and_keeps_the_weights():
    model = tiny_model()
    before = weights(model)
    dataset = tf.data.Dataset.from_tensors((BLURRY, NAN_SHARP)).repeat(3)
    message = refused(lambda: model.fit(dataset, epochs=2, verbose=0), "NaN or infinite")
    assert "sharp targets (y)" in message and "nan_to_num" in message
    assert_unchanged(model, before)


def test_fit_refuses_nan_targets_from_a_generator_after_good_batches():
    model = tiny_model()
    batches = [(BLURRY, SHARP), (BLURRY, SHARP), (BLURRY, NAN_SHARP), (BLURRY, SHARP)]
    message = refused(
        lambda: model.fit((batch for batch in batches), steps_per_epoch=4, verbose=0),
        "NaN or infinite",
    )
    assert "step 3 of epoch 1" in message
    trained = weights(model)
    assert all(np.isfinite(weight).all() for weight in trained)
    assert model.predict(BLURRY, verbose=0).shape == BLURRY.shape


class _Batches(keras.utils.PyDataset):
    def __init__(self, batches):
        super().__init__()
        self.batches = batches

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        return self.batches[index]


def test_fit_refuses_a_py_dataset_of_0_255_blurry_images():
    model = tiny_model()
    before = weights(model)
    dataset = _Batches([(BLURRY * 255, SHARP), (BLURRY, SHARP)])
    message = refused(lambda: model.fit(dataset, verbose=0), "blurry images .* outside")
    assert "divide 8-bit values by 255" in message
    assert_unchanged(model, before)


def test_train_on_batch_refuses_nan_arrays_and_tensors():
    model = tiny_model()
    before = weights(model)
    refused(lambda: model.train_on_batch(BLURRY, NAN_SHARP), "NaN or infinite")
    # Tensors are not read on the host: the check inside the train step refuses them.
    message = refused(
        lambda: model.train_on_batch(
            keras.ops.convert_to_tensor(BLURRY), keras.ops.convert_to_tensor(NAN_SHARP)
        ),
        "NaN or infinite",
    )
    assert message.startswith("train_on_batch stopped")
    assert_unchanged(model, before)
    assert np.isfinite(model.train_on_batch(BLURRY, SHARP))


def test_evaluate_and_test_on_batch_refuse_nan_and_0_255_batches():
    model = tiny_model()
    refused(
        lambda: model.evaluate(tf.data.Dataset.from_tensors((BLURRY, NAN_SHARP)), verbose=0),
        "Evaluation stopped at step 1: .*NaN or infinite",
    )
    refused(
        lambda: model.test_on_batch(
            keras.ops.convert_to_tensor(BLURRY * 255), keras.ops.convert_to_tensor(SHARP)
        ),
        "test_on_batch stopped: .*blurry images .* outside",
    )
    refused(
        lambda: model.fit(
            tf.data.Dataset.from_tensors((BLURRY, SHARP)),
            validation_data=tf.data.Dataset.from_tensors((BLURRY, NAN_SHARP)),
            verbose=0,
        ),
        "Validation stopped at step 1: .*NaN or infinite",
    )


def test_fit_refuses_integer_empty_and_mismatched_batches_from_generators():
    def one_batch(blurry, sharp):
        yield blurry, sharp

    model = tiny_model()
    refused(
        lambda: model.fit(one_batch(BLURRY, (SHARP * 255).astype("uint8")), verbose=0),
        "divide integer images by 255",
    )
    refused(lambda: model.fit(one_batch(BLURRY[:0], SHARP[:0]), verbose=0), "empty batch")

    def any_size():  # shapes unknown until the step runs
        yield BLURRY, SHARP
        yield BLURRY[:, :12], SHARP

    spec = tf.TensorSpec((None, None, None, 3), "float32")
    dataset = tf.data.Dataset.from_generator(any_size, output_signature=(spec, spec))
    refused(lambda: model.fit(dataset, verbose=0), "different shapes|same shape")
    assert all(np.isfinite(weight).all() for weight in weights(model))
    # Fixed data then trains the same model (TensorFlow traces the step afresh).
    history = model.fit(one_batch(BLURRY, SHARP), verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_the_check_does_not_change_training_on_good_batches():
    """Same weights as Keras's own train step (a plain functional model on the same layers)."""
    model = tiny_model()
    start = model.get_weights()
    batches = tf.data.Dataset.from_tensor_slices((np.concatenate([BLURRY] * 2), np.concatenate([SHARP] * 2))).batch(2)  # fmt: skip
    model.fit(batches, epochs=2, verbose=0)
    checked = model.get_weights()

    model.set_weights(start)
    plain = keras.Model(model.inputs, model.outputs)
    plain.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    plain.fit(batches, epochs=2, verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(start, checked))  # it did train
    for expected, actual in zip(plain.get_weights(), checked):
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pipeline", ["tf", "python"])
def test_the_package_datasets_pass_the_check(tmp_path, pipeline):
    write_pairs(tmp_path / "blurry", tmp_path / "sharp", 4, height=24, width=24)
    pairs = data.folder_pairs(tmp_path / "blurry", tmp_path / "sharp")
    train = data.make_dataset(pairs, batch_size=2, patch_size=16, pipeline=pipeline, seed=1)
    model = tiny_model()
    history = model.fit(train, epochs=1, steps_per_epoch=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
