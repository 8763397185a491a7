"""The checks before a model is built (keras_attn_deblur.hub.safety): hash, config classes, paths."""

import json

import keras
import pytest

from keras_attn_deblur import AttnDeblurNet
from tests.hub.helpers import REPO
from tests.hub.helpers import tiny_model
from tests.hub.helpers import upload_folder


def test_tampered_weights_are_refused_before_the_model_is_built(hub, tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    weights = bytearray((folder / "model.weights.h5").read_bytes())
    middle = len(weights) // 2
    weights[middle : middle + 16] = bytes(255 - value for value in weights[middle : middle + 16])
    (folder / "model.weights.h5").write_bytes(bytes(weights))
    upload_folder(hub, folder)

    with pytest.raises(ValueError, match="SHA-256 of model.weights.h5 .* tampered"):
        AttnDeblurNet.from_pretrained(REPO)
    with pytest.raises(ValueError, match="SHA-256"):
        AttnDeblurNet.from_pretrained(folder)


def test_truncated_weights_are_refused(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    weights = (folder / "model.weights.h5").read_bytes()
    (folder / "model.weights.h5").write_bytes(weights[: len(weights) // 3])
    # The size check runs before Keras opens the (now unreadable) HDF5 file.
    with pytest.raises(ValueError, match="truncated"):
        AttnDeblurNet.from_pretrained(folder)


def _rewrite_config(folder, edit):
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda config: config["config"].update(
                dtype={
                    "module": "os",
                    "class_name": "system",
                    "config": {"command": "true"},
                    "registered_name": None,
                }
            ),
            "'os.system', outside the packages",
        ),
        (
            lambda config: config.update(module="subprocess", class_name="Popen"),
            "'subprocess.Popen', outside the packages",
        ),
        (
            lambda config: config.update(registered_name="evil_plugin>AttnDeblurNet"),
            "registered object 'evil_plugin>AttnDeblurNet'",
        ),
        (
            lambda config: config["config"].update(
                extra={
                    "module": "keras.layers",
                    "class_name": "Lambda",
                    "config": {},
                    "registered_name": None,
                }
            ),
            "Lambda layer",
        ),
    ],
)
def test_configs_naming_code_outside_keras_are_refused(tmp_path, edit, message):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    _rewrite_config(folder, edit)
    with pytest.raises(ValueError, match=message):
        AttnDeblurNet.from_pretrained(folder)


def test_a_keras_model_with_a_lambda_layer_is_refused(tmp_path):
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Lambda(lambda images: images * 2.0)(inputs))
    keras.saving.save_model(model, tmp_path / "lambda", zipped=False)
    with pytest.warns(UserWarning, match="records no SHA-256"):
        with pytest.raises(ValueError, match="Lambda layer, which runs Python code"):
            AttnDeblurNet.from_pretrained(tmp_path / "lambda")


def test_a_bad_config_is_a_clear_error(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    (folder / "config.json").write_text('{"module": "keras_attn_deblur')
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        AttnDeblurNet.from_pretrained(folder)
    folder = tiny_model().save_pretrained(tmp_path / "other")
    _rewrite_config(folder, lambda config: config["config"].update(filters=[4, 8]))
    with pytest.raises(ValueError, match="could not build the model"):
        AttnDeblurNet.from_pretrained(folder)
    (folder / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        AttnDeblurNet.from_pretrained(folder)


def test_a_folder_of_another_model_class_is_refused(tmp_path):
    inputs = keras.Input((None, None, 3))
    keras.saving.save_model(
        keras.Model(inputs, keras.layers.Conv2D(3, 3, padding="same")(inputs)),
        tmp_path / "conv",
        zipped=False,
    )
    with pytest.warns(UserWarning), pytest.raises(TypeError, match="not an instance of AttnDeblurNet"):
        AttnDeblurNet.from_pretrained(tmp_path / "conv")


def test_a_file_list_escaping_the_folder_is_refused(hub, tmp_path):
    tiny_model().push_to_hub(REPO)
    hub.commit_raw(REPO, {"../evil.txt": b"written outside the snapshot"})

    with pytest.raises(
        ValueError, match="lists the file '../evil.txt', whose path leaves the repository folder"
    ):
        AttnDeblurNet.from_pretrained(REPO)
    # The client alone refuses it too (keras.saving.load_model("hf://...") downloads everything).
    with pytest.raises(ValueError, match="evil.txt"):
        keras.saving.load_model(f"hf://{REPO}")
    assert not list(tmp_path.rglob("evil.txt"))
