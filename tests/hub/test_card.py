"""The model card (keras_attn_deblur.hub.card), as save_pretrained writes it."""


import huggingface_hub
import numpy as np

from tests.hub.helpers import METRICS
from tests.hub.helpers import REPO
from tests.hub.helpers import tiny_model


def test_the_card_carries_the_evaluation_it_was_given(tmp_path):
    folder = tiny_model().save_pretrained(
        tmp_path / "out", metrics=METRICS, datasets=("gopro",), repo_id=REPO
    )
    card = huggingface_hub.ModelCard.load(folder / "README.md")
    metadata = huggingface_hub.metadata_load(folder / "README.md")

    assert metadata["library_name"] == "keras"
    assert metadata["pipeline_tag"] == "image-to-image"
    assert metadata["license"] == "apache-2.0"
    assert metadata["datasets"] == ["gopro"]
    assert {"keras", "image-deblurring"} <= set(metadata["tags"])
    (model_index,) = metadata["model-index"]
    (result,) = model_index["results"]
    assert result["task"] == {"type": "image-to-image", "name": "Deblurring"}
    assert result["dataset"] == {"name": "GoPro", "type": "gopro", "split": "test"}
    values = {
        (metric["type"], metric.get("config")): metric["value"] for metric in result["metrics"]
    }
    assert values == {
        ("psnr", None): METRICS["psnr"],
        ("ssim", "gaussian"): METRICS["ssim"],
        ("ssim", "matlab"): METRICS["ssim_matlab"],
    }
    assert {result.metric_value for result in card.data.eval_results} == {
        METRICS["psnr"],
        METRICS["ssim"],
        METRICS["ssim_matlab"],
    }
    body = card.text
    assert "28.12" in body and "25.61" in body and "1,111" in body
    assert f'from_pretrained("{REPO}")' in body
    assert "CC BY 4.0" in body  # GoPro's license
    assert "defocus" in body  # what it was not trained on
    assert "Not evaluated" not in body


def test_a_card_without_metrics_has_no_model_index(tmp_path):
    folder = tiny_model().save_pretrained(tmp_path / "out")
    metadata = huggingface_hub.metadata_load(folder / "README.md")
    assert "model-index" not in metadata
    assert metadata["library_name"] == "keras"
    assert "Not evaluated" in (folder / "README.md").read_text()


def test_several_evaluations_and_numpy_numbers(tmp_path):
    metrics = [
        {"dataset": "GoPro", "split": "test", "psnr": np.float32(28.5)},
        {"dataset": "RealBlur-J", "split": "test", "psnr": 27.0, "ssim_matlab": 0.83},
    ]
    folder = tiny_model().save_pretrained(tmp_path / "out", metrics=metrics)
    (model_index,) = huggingface_hub.metadata_load(folder / "README.md")["model-index"]
    assert [result["dataset"]["type"] for result in model_index["results"]] == [
        "gopro",
        "realblur-j",
    ]
