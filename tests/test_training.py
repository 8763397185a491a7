import csv
import importlib.util
import math
import os

import keras
import numpy as np
import pytest

import keras_attn_deblur as kad
from keras_attn_deblur import training

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples")


def _tiny_model(**kwargs):
    return kad.AttnDeblurNet(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3, **kwargs)


def _load_example(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compile_builds_the_recipe():
    model = training.compile_for_deblurring(
        "lite", learning_rate=1e-3, total_steps=1000, final_learning_rate_ratio=0.01
    )
    assert isinstance(model, kad.AttnDeblurNet)
    assert model.get_config()["filters"] == (16, 32, 64)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert isinstance(model.loss, kad.CharbonnierLoss)
    schedule = model.optimizer._learning_rate
    # Cosine decay, by hand: lr(t) = lr0 * ((1 - a) * 0.5 * (1 + cos(pi t / T)) + a).
    for step in (0, 250, 500, 1000):
        expected = 1e-3 * (0.99 * 0.5 * (1 + math.cos(math.pi * step / 1000)) + 0.01)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-5)


def test_compile_warms_up_then_decays():
    model = training.compile_for_deblurring(
        "lite", learning_rate=1e-3, total_steps=1000, warmup_steps=100
    )
    schedule = model.optimizer._learning_rate
    # By hand: linear from 0 to the peak over 100 steps, then the cosine over the other 900.
    for step in (0, 50, 100):
        assert float(schedule(step)) == pytest.approx(1e-3 * step / 100, rel=1e-5, abs=1e-12)
    for step in (100, 550, 1000):
        expected = 1e-3 * (0.99 * 0.5 * (1 + math.cos(math.pi * (step - 100) / 900)) + 0.01)
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-5)
    # Without total_steps: the warm-up, then the peak for good.
    constant = training.compile_for_deblurring("lite", learning_rate=1e-3, warmup_steps=10)
    rates = [float(constant.optimizer._learning_rate(step)) for step in (5, 10, 11, 10**6)]
    assert rates == pytest.approx([5e-4, 1e-3, 1e-3, 1e-3], rel=1e-5)


def test_final_ratio_one_holds_the_peak_after_the_warm_up():
    model = training.compile_for_deblurring(
        "lite", learning_rate=3e-5, total_steps=1000, warmup_steps=50, final_learning_rate_ratio=1.0
    )
    rates = [float(model.optimizer._learning_rate(step)) for step in (25, 50, 51, 500, 1000)]
    assert rates == pytest.approx([1.5e-5, 3e-5, 3e-5, 3e-5, 3e-5], rel=1e-5)


def test_compile_options():
    model = training.compile_for_deblurring(
        _tiny_model(), optimizer="adamw", weight_decay=1e-3, loss="mse",
        frequency_weight=0.1, ssim_variants=("gaussian", "matlab"),
    )
    assert isinstance(model.optimizer, keras.optimizers.AdamW)
    assert model.optimizer.weight_decay == pytest.approx(1e-3)
    assert isinstance(model.loss, kad.WeightedSumLoss)
    blurry = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    logs = model.evaluate(blurry, blurry, return_dict=True, verbose=0)
    assert {"loss", "psnr", "ssim", "ssim_matlab"} <= set(logs)


def test_mixed_precision_rebuild_keeps_weights_and_scales_float16_loss():
    model = _tiny_model()
    images = np.random.default_rng(0).random((1, 16, 12, 3)).astype("float32")
    # Give conv 6 non-zero weights so that the output depends on every layer.
    output_conv = model.get_layer("output_conv")
    output_conv.set_weights([np.full_like(w, 0.01) for w in output_conv.get_weights()])
    reference = model.predict(images, verbose=0)
    bf16 = training.compile_for_deblurring(model, mixed_precision="bfloat16")
    assert bf16.dtype_policy.name == "mixed_bfloat16"
    assert bf16.get_layer("enc1_attn1").compute_dtype == "bfloat16"
    np.testing.assert_allclose(bf16.predict(images, verbose=0), reference, atol=0.05)
    fp16 = training.compile_for_deblurring(model, mixed_precision="float16")
    assert isinstance(fp16.optimizer, keras.optimizers.LossScaleOptimizer)


def test_bfloat16_training_step_reports_float32_metrics():
    model = training.compile_for_deblurring(_tiny_model(), mixed_precision="bfloat16")
    rng = np.random.default_rng(0)
    sharp = rng.random((4, 16, 16, 3)).astype("float32")
    history = model.fit(sharp * 0.9, sharp, batch_size=2, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert all(v.dtype == "float32" for m in model.metrics for v in m.variables)
    assert keras.backend.standardize_dtype(model(sharp).dtype) == "float32"


def test_bfloat16_model_learns_and_its_metrics_match_a_float32_reference():
    from skimage.metrics import peak_signal_noise_ratio
    from skimage.metrics import structural_similarity

    keras.utils.set_random_seed(0)
    model = training.compile_for_deblurring(
        _tiny_model(), mixed_precision="bfloat16", learning_rate=2e-3, loss="mse"
    )
    assert model.get_layer("enc1_attn1").compute_dtype == "bfloat16"
    sharp = np.random.default_rng(1).random((4, 32, 32, 3)).astype("float32")
    blurry = 0.7 * sharp + 0.1  # an easy degradation, learnt in a few steps
    history = model.fit(blurry, sharp, batch_size=4, epochs=6, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.9 * losses[0], losses

    for metric in model.metrics:
        assert all(variable.dtype == "float32" for variable in metric.variables), metric.name
    logs = model.evaluate(blurry, sharp, batch_size=4, return_dict=True, verbose=0)
    restored = np.asarray(model.predict(blurry, verbose=0), dtype="float32")
    # Independent float32/float64 references on the model's (float32) output.
    expected_psnr = np.mean([peak_signal_noise_ratio(s, r, data_range=1.0)
                             for s, r in zip(sharp, restored)])  # fmt: skip
    expected_ssim = np.mean([
        structural_similarity(s, r, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                              data_range=1.0, channel_axis=-1)
        for s, r in zip(sharp, restored)
    ])  # fmt: skip
    # rel=1e-5 is ~2e-4 dB: scoring in bfloat16 (8 bits of mantissa) misses it.
    assert logs["psnr"] == pytest.approx(expected_psnr, rel=1e-5)
    assert logs["ssim"] == pytest.approx(expected_ssim, abs=1e-4)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"mixed_precision": "int8"}, "mixed_precision='int8'"),
        ({"optimizer": "sgd"}, "optimizer='sgd'"),
        ({"loss": "huber"}, "loss='huber'"),
        ({"total_steps": 0}, "total_steps=0"),
        ({"warmup_steps": -1}, "warmup_steps=-1"),
        ({"total_steps": 10, "warmup_steps": 10}, "warmup_steps=10"),
        ({"frequency_weight": -1.0}, "frequency_weight=-1.0"),
        ({"ema_momentum": 1.0}, "ema_momentum=1.0"),
        ({"ema_momentum": 0}, "ema_momentum=0"),
        ({"final_learning_rate_ratio": 1.5}, "final_learning_rate_ratio=1.5"),
    ],
)
def test_compile_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.compile_for_deblurring(_tiny_model(), **kwargs)


class _Interrupt(keras.callbacks.Callback):
    """Kills the run at the start of epoch `epoch`, like a crash or Ctrl-C."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("interrupted")


def test_callbacks_resume_a_killed_run(tmp_path):
    rng = np.random.default_rng(0)
    sharp = rng.random((8, 16, 16, 3)).astype("float32")
    blurry = sharp * 0.8
    run = tmp_path / "run"

    def fit(extra_callbacks):
        model = training.compile_for_deblurring(_tiny_model(), learning_rate=1e-3, loss="mse")
        return model.fit(
            blurry, sharp, batch_size=4, epochs=4, validation_data=(blurry, sharp),
            callbacks=training.deblurring_callbacks(run) + extra_callbacks, verbose=0,
        )

    with pytest.raises(RuntimeError, match="interrupted"):
        fit([_Interrupt(epoch=2)])
    assert (run / "best.keras").exists()
    history = fit([])
    assert history.epoch == [2, 3]  # resumed after the two finished epochs
    with open(run / "log.csv") as log:
        epochs = [int(row["epoch"]) for row in csv.DictReader(log)]
    assert epochs == [0, 1, 2, 3]
    assert not (run / "backup").exists() or not os.listdir(run / "backup")  # cleaned up when done
    best = keras.saving.load_model(run / "best.keras")
    assert isinstance(best, kad.AttnDeblurNet)


class _RecordWeights(keras.callbacks.Callback):
    """The raw trainable weights after every optimizer step."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([keras.ops.convert_to_numpy(v) for v in self.model.trainable_variables])


def _ema_fit(run, start, epochs=3, extra_callbacks=(), ema_momentum=0.8):
    rng = np.random.default_rng(0)
    sharp = rng.random((8, 16, 16, 3)).astype("float32")
    blurry = sharp * 0.8
    model = _tiny_model()
    model.set_weights(start)
    model = training.compile_for_deblurring(
        model, learning_rate=3e-3, loss="mse", ema_momentum=ema_momentum, jit_compile=False
    )
    history = model.fit(
        blurry, sharp, batch_size=4, epochs=epochs, validation_data=(blurry, sharp), shuffle=False,
        callbacks=training.deblurring_callbacks(run, ema=ema_momentum is not None)
        + list(extra_callbacks),
        verbose=0,
    )
    return model, history, (blurry, sharp)


def test_ema_validates_checkpoints_and_ends_with_the_average_of_the_weights(tmp_path):
    start = _tiny_model().get_weights()
    record = _RecordWeights()
    # The raw trajectory: a run without the average (the average never feeds back).
    _, plain, _ = _ema_fit(tmp_path / "plain", start, extra_callbacks=[record], ema_momentum=None)
    model, history, (blurry, sharp) = _ema_fit(tmp_path / "ema", start)
    # By hand (Keras's rule): the average starts at the weights after step 1, then
    # average = 0.8 * average + 0.2 * weights after every step.
    average = record.steps[0]
    averages = [average]
    for weights in record.steps[1:]:
        average = [0.8 * a + 0.2 * w for a, w in zip(average, weights)]
        averages.append(average)
    trained = [keras.ops.convert_to_numpy(v) for v in model.trainable_variables]
    for got, expected in zip(trained, averages[-1]):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    assert not all(np.allclose(a, b) for a, b in zip(averages[-1], record.steps[-1]))
    # Validation after each epoch (2 steps) scored the average of that moment.
    reference = _tiny_model()
    reference.compile(loss="mse", metrics=[kad.PSNR()])
    for epoch, val_psnr in enumerate(history.history["val_psnr"]):
        reference.set_weights(start)
        for variable, value in zip(reference.trainable_variables, averages[2 * epoch + 1]):
            variable.assign(value)
        logs = reference.evaluate(blurry, sharp, batch_size=4, return_dict=True, verbose=0)
        assert val_psnr == pytest.approx(logs["psnr"], abs=1e-3)
    # best.keras holds the average of its epoch, not the raw weights.
    best_epoch = int(np.argmax(history.history["val_psnr"]))
    best = keras.saving.load_model(tmp_path / "ema" / "best.keras")
    for got, expected in zip(best.trainable_variables, averages[2 * best_epoch + 1]):
        np.testing.assert_allclose(keras.ops.convert_to_numpy(got), expected, rtol=1e-4, atol=1e-6)


def test_ema_run_resumed_after_a_kill_ends_as_an_uninterrupted_one(tmp_path):
    start = _tiny_model().get_weights()
    whole, _, _ = _ema_fit(tmp_path / "whole", start, epochs=4)
    with pytest.raises(RuntimeError, match="interrupted"):
        _ema_fit(tmp_path / "killed", start, epochs=4, extra_callbacks=[_Interrupt(epoch=2)])
    resumed, history, _ = _ema_fit(tmp_path / "killed", start, epochs=4)
    assert history.epoch == [2, 3]
    for got, expected in zip(resumed.get_weights(), whole.get_weights()):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("logged_best, replaced", [(99.0, False), (1.0, True)])
def test_a_resumed_run_keeps_a_better_best_keras(tmp_path, logged_best, replaced):
    # A run folder as an earlier session left it: best.keras and the log of its epochs.
    _tiny_model().save(tmp_path / "best.keras")
    before = (tmp_path / "best.keras").read_bytes()
    (tmp_path / "log.csv").write_text(
        f"epoch,loss,psnr,val_loss,val_psnr\n0,0.1,10.0,0.1,{logged_best - 1}\n"
        f"1,0.1,10.0,0.1,{logged_best}\n"
    )
    sharp = np.random.default_rng(0).random((4, 16, 16, 3)).astype("float32")
    model = training.compile_for_deblurring(_tiny_model(), loss="mse")
    history = model.fit(
        sharp * 0.8, sharp, batch_size=4, epochs=1, validation_data=(sharp * 0.8, sharp),
        callbacks=training.deblurring_callbacks(tmp_path, backup=False), verbose=0,
    )
    assert 1.0 < history.history["val_psnr"][0] < 99.0
    assert ((tmp_path / "best.keras").read_bytes() != before) is replaced
    keras.saving.load_model(tmp_path / "best.keras")  # whole, whichever it is
    assert sorted(os.listdir(tmp_path)) == ["best.keras", "log.csv"]  # no temporary left


def test_callbacks_monitor_mode(tmp_path):
    by_type = {type(c).__name__: c for c in training.deblurring_callbacks(tmp_path, monitor="val_loss")}
    assert set(by_type) == {"TerminateOnNaN", "AtomicBackupAndRestore", "_FiniteModelCheckpoint",
                            "CSVLogger"}  # fmt: skip
    assert isinstance(by_type["AtomicBackupAndRestore"], keras.callbacks.BackupAndRestore)
    checkpoint = by_type["_FiniteModelCheckpoint"]  # never writes non-finite weights
    assert isinstance(checkpoint, keras.callbacks.ModelCheckpoint)
    assert checkpoint.monitor == "val_loss"
    assert checkpoint.monitor_op is np.less or checkpoint.mode == "min"


@pytest.mark.slow
def test_short_fit_raises_validation_psnr_above_the_blurry_input():
    """480 steps on generated pairs: restored PSNR >= blurry PSNR + 1 dB."""
    example = _load_example("train_minimal")
    train_blurry, train_sharp = example.make_pairs(256, 48, seed=0)
    val_blurry, val_sharp = example.make_pairs(32, 48, seed=1)
    keras.utils.set_random_seed(0)
    model = kad.AttnDeblurNet(filters=(16, 32, 32), blocks_per_stage=1, kernel_size=3)
    model = training.compile_for_deblurring(model, learning_rate=2e-3, total_steps=480, loss="mse")
    history = model.fit(
        train_blurry, train_sharp, batch_size=8, epochs=15,
        validation_data=(val_blurry, val_sharp), verbose=0,
    )
    # Independent check of the gain with scikit-image's PSNR.
    from skimage.metrics import peak_signal_noise_ratio

    restored = np.clip(model.predict(val_blurry, verbose=0), 0, 1)
    blurry_psnr = np.mean([peak_signal_noise_ratio(s, b, data_range=1.0) for s, b in zip(val_sharp, val_blurry)])
    restored_psnr = np.mean([peak_signal_noise_ratio(s, r, data_range=1.0) for s, r in zip(val_sharp, restored)])
    assert restored_psnr > blurry_psnr + 1.0, (blurry_psnr, restored_psnr)
    assert history.history["val_psnr"][-1] > blurry_psnr + 1.0


# === training.run: the options are checked before anything trains ===


@pytest.mark.parametrize(
    "options, message",
    [
        ({}, "exactly one source of training data"),
        ({"photos": "a", "pairs": ("b", "c")}, "(received: `pairs`, `photos`)"),
        ({"photos": "a", "val_photos": "v", "no_val": True}, "`val_photos` and `no_val`"),
        ({"photos": "a", "warmup_steps": 2}, "`warmup_steps` 2 must be fewer than the 1 "),
    ],
)
def test_run_rejects_contradicting_options(tmp_path, options, message):
    # Each message names the options, which the command line shows as its flags.
    with pytest.raises(training.RunOptionsError) as raised:
        training.run(tmp_path / "run", steps=1, epochs=1, **options)
    assert message in str(raised.value)
    assert not (tmp_path / "run").exists()


def test_a_finished_run_is_not_trained_again(tmp_path, capsys):
    assert training.finished_model(tmp_path) is None
    (tmp_path / "final.keras").write_bytes(b"")
    assert training.finished_model(tmp_path) == os.path.join(tmp_path, "final.keras")
    assert training.run(tmp_path, photos="anything") is None
    assert "has finished" in capsys.readouterr().out
