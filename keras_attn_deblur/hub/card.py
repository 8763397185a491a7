"""The model card of a saved `AttnDeblurNet`, rendered from `hub_card/`.

`render_model_card` fills `hub_card/template.md` (a Jinja template, through
`huggingface_hub.ModelCard.from_template`) with the defaults of
`hub_card/defaults.yaml`, facts read off the model, and the results of an
evaluation run. The YAML front matter is a `huggingface_hub.ModelCardData`:
`library_name: keras`, `pipeline_tag: image-to-image`, license, tags,
datasets and, when there are results, a `model-index`.

Every number on a card comes from the model (parameter count, multiply-adds)
or from `metrics`, the output of an evaluation run; none is typed by hand.
Without `metrics` the card says "Not evaluated" and has no `model-index`.

The `metrics` schema: one dict per evaluated (dataset, split), or a list of
them. Keys (anything else is an error, so a typo cannot drop a number):

- `dataset`: str, required. Name of the evaluation set, e.g. `"GoPro"`.
- `split`: str, required. E.g. `"test"`.
- `psnr`: float, required. Mean over images of each restored image's PSNR
  in dB (`keras_attn_deblur.psnr`, `max_val=1.0` on `[0, 1]` images).
- `ssim`: float, optional. Mean SSIM, `variant="gaussian"` (per-channel
  2-D SSIM, as `tf.image.ssim` and scikit-image compute it).
- `ssim_matlab`: float, optional. Mean SSIM, `variant="matlab"` (MATLAB's
  `ssim` on the H x W x 3 array, the number most GoPro papers report).
- `input_psnr`, `input_ssim`, `input_ssim_matlab`: float, optional. The same
  measures of the blurry inputs, the baseline the model improves on (shown
  in the card's table, not in `model-index`).
- `num_images`: int, optional. How many pairs were scored.
- `dataset_type`: str, optional. The dataset's Hub id or type for
  `model-index`; defaults to the lower-cased `dataset` (`"gopro"`).
- `dataset_config`: str, optional. E.g. `"linear"` for GoPro's `blur/`.
- `protocol`: str, optional. One line on how the numbers were measured
  (crops, quantisation, border handling).

In `model-index` each (dataset, split) gives an `image-to-image` task named
"Deblurring" with the metrics `psnr`, and `ssim` with `config: gaussian`
and/or `config: matlab` (the metric names say the variant too).
"""

import copy
import importlib.resources
import importlib.util
import math
import numbers
import re

import keras

from keras_attn_deblur._utils.validation import check_positive_int
from keras_attn_deblur.models.presets import PRESETS
from keras_attn_deblur.models.presets import block_counts
from keras_attn_deblur.version import __version__

# Every generated card carries this line, so `save_pretrained` can tell its
# own cards (which it may rewrite) from a README.md a person wrote (which it
# keeps). Only the prefix is matched, so the wording may change.
CARD_MARKER_PREFIX = "<!-- keras_attn_deblur: generated model card."
CARD_MARKER = (
    CARD_MARKER_PREFIX + " save_pretrained() rewrites this file while this line "
    "is here; delete the line to keep your edits. -->"
)

_REQUIRED_METRICS = ("dataset", "split", "psnr")
_STRING_METRICS = ("dataset", "split", "dataset_type", "dataset_config", "protocol")
_FLOAT_METRICS = (
    "psnr",
    "ssim",
    "ssim_matlab",
    "input_psnr",
    "input_ssim",
    "input_ssim_matlab",
)
_INTEGER_METRICS = ("num_images",)
METRIC_KEYS = _STRING_METRICS + _FLOAT_METRICS + _INTEGER_METRICS

# (metrics key, model-index metric type, metric name, metric config)
_MODEL_INDEX_METRICS = (
    ("psnr", "psnr", "PSNR (dB)", None),
    ("ssim", "ssim", "SSIM (gaussian: per-channel 2-D)", "gaussian"),
    ("ssim_matlab", "ssim", "SSIM (matlab: 3-D Gaussian on RGB)", "matlab"),
)


def load_card_defaults():
    """Returns the parsed `hub_card/defaults.yaml` (license, tags, texts)."""
    import yaml  # a dependency of huggingface_hub

    text = _card_file("defaults.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def validate_metrics(metrics):
    """Checks `metrics` against the schema and returns it as a list of dicts.

    Args:
        metrics: dict, list of dicts or `None`. See the module docstring.

    Returns:
        A list (empty for `None`) of dicts holding every key of the schema,
        `None` where not given, floats as Python floats and `dataset_type`
        filled in.
    """
    if metrics is None:
        return []
    entries = [metrics] if isinstance(metrics, dict) else metrics
    if not isinstance(entries, (list, tuple)) or not all(
        isinstance(entry, dict) for entry in entries
    ):
        raise ValueError(
            "`metrics` must be a dict of evaluation results (or a list of "
            f"them), with keys {METRIC_KEYS}. Received: metrics={metrics!r}"
        )
    return [_validate_metrics_entry(entry) for entry in entries]


def _validate_metrics_entry(entry):
    unknown = sorted(set(entry) - set(METRIC_KEYS))
    if unknown:
        raise ValueError(
            f"Unknown keys {unknown} in `metrics`; the known keys are "
            f"{METRIC_KEYS} (see keras_attn_deblur.hub.card). Received: metrics={entry!r}"
        )
    missing = [key for key in _REQUIRED_METRICS if entry.get(key) is None]
    if missing:
        raise ValueError(
            f"`metrics` needs {list(_REQUIRED_METRICS)}; missing {missing}. "
            f"Received: metrics={entry!r}"
        )
    result = {key: None for key in METRIC_KEYS}
    for key, value in entry.items():
        if value is None:
            continue
        if key in _STRING_METRICS:
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    f"`metrics[{key!r}]` must be a non-empty string. Received: {value!r}"
                )
            result[key] = value.strip()
        elif key in _INTEGER_METRICS:
            result[key] = check_positive_int(f"metrics[{key!r}]", value)
        else:
            if (
                not isinstance(value, numbers.Real)
                or isinstance(value, bool)
                or not math.isfinite(float(value))
            ):
                raise ValueError(f"`metrics[{key!r}]` must be a finite number. Received: {value!r}")
            value = float(value)
            if "ssim" in key and not -1.0 <= value <= 1.0:
                raise ValueError(
                    f"`metrics[{key!r}]` is an SSIM and must lie in [-1, 1]. Received: {value!r}"
                )
            result[key] = value
    if result["dataset_type"] is None:
        result["dataset_type"] = re.sub(r"[^a-z0-9]+", "-", result["dataset"].lower()).strip("-")
    return result


def describe_model(model):
    """The facts a card states about `model`, read off the model itself.

    Returns:
        A dict: `preset` (the name in `PRESETS` whose configuration the model
        has, or `None`), `filters`, `blocks_per_stage`, `kernel_size`,
        `attention_reduction`, `upsampling`, `global_residual`, `dtype`,
        `parameters` and `multiply_adds_per_pixel` (formatted with commas).
    """
    config = model.get_config()
    architecture = {key: config[key] for key in PRESETS["patent"]}
    architecture["filters"] = tuple(architecture["filters"])
    preset = None
    for name, preset_config in PRESETS.items():
        if _same_architecture(architecture, preset_config):
            preset = name
            break
    return {
        "preset": preset,
        **architecture,
        "dtype": model.dtype_policy.name,
        "parameters": f"{model.count_params():,}",
        "multiply_adds_per_pixel": f"{round(model.multiply_adds_per_pixel()):,}",
    }


def _same_architecture(architecture, preset_config):
    for key, expected in preset_config.items():
        value = architecture[key]
        if key == "blocks_per_stage":
            value = block_counts(value)
            expected = block_counts(expected)
        elif key == "filters":
            value, expected = tuple(value), tuple(expected)
        if value != expected:
            return False
    return True


def is_generated_card(text):
    """Whether a README.md text is a card this module generated."""
    return CARD_MARKER_PREFIX in text


def render_model_card(
    model,
    *,
    metrics=None,
    repo_id=None,
    model_name=None,
    license=None,
    tags=None,
    datasets=None,
    base_model=None,
    training=None,
):
    """Renders the model card of `model` from `hub_card/`.

    Args:
        model: `AttnDeblurNet`. The model the card describes.
        metrics: dict or list of dicts. Results of an evaluation run, in the
            schema of the module docstring. Defaults to `None`: the card
            says "Not evaluated" and has no `model-index`.
        repo_id: str. The Hub repo the card will live in, used in the usage
            snippet and as the default name. Defaults to `None`.
        model_name: str. The card's title and the `model-index` name.
            Defaults to the repo's name, or "AttnDeblurNet (<preset>)".
        license: str. A Hub license id. Defaults to `defaults.yaml`'s
            (`"apache-2.0"`, the code's license; set the weights' license
            when the training data ask for another one).
        tags: tuple of str. Tags added to the defaults. Defaults to `None`.
        datasets: tuple of str. The training data: keys of `defaults.yaml`
            (`"gopro"`, `"gopro_gamma"`, `"synthetic"`) or other names or Hub
            dataset ids, listed as given. Defaults to `None` (not recorded).
        base_model: str. The Hub id this model was fine-tuned from.
            Defaults to `None`.
        training: str. Markdown for the card's "Training" section: the
            recipe, the budget (steps, hardware, hours) and the command that
            reproduces the run. Defaults to `None` (no such section).

    Returns:
        A `huggingface_hub.ModelCard`; `str(card)` is the README.md text.

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur.hub.card import render_model_card

    card = render_model_card(
        AttnDeblurNet.from_preset("lite"),
        metrics={"dataset": "GoPro", "split": "test", "psnr": 30.1, "ssim_matlab": 0.93},
        datasets=("gopro",),
    )
    print(card.data.to_dict()["model-index"])
    ```
    """
    from huggingface_hub import EvalResult
    from huggingface_hub import ModelCard
    from huggingface_hub import ModelCardData

    if importlib.util.find_spec("jinja2") is None:  # ModelCard.from_template needs it
        raise ImportError(
            "Rendering a model card needs Jinja2: `pip install jinja2` (a "
            "dependency of keras-attn-deblur)."
        )

    defaults = load_card_defaults()
    evaluations = validate_metrics(metrics)
    datasets = _as_names("datasets", datasets)
    tags = _as_names("tags", tags)
    architecture = describe_model(model)
    if training is not None and (not isinstance(training, str) or not training.strip()):
        raise ValueError(
            "`training` must be a non-empty markdown string or None. "
            f"Received: training={training!r}"
        )
    if model_name is None:
        if repo_id is not None:
            model_name = repo_id.split("/")[-1]
        elif architecture["preset"] is not None:
            model_name = f"AttnDeblurNet ({architecture['preset']})"
        else:
            model_name = "AttnDeblurNet"

    eval_results = []
    for entry in evaluations:
        common = {
            "task_type": "image-to-image",
            "task_name": "Deblurring",
            "dataset_type": entry["dataset_type"],
            "dataset_name": entry["dataset"],
            "dataset_split": entry["split"],
            "dataset_config": entry["dataset_config"],
        }
        for key, metric_type, metric_name, metric_config in _MODEL_INDEX_METRICS:
            if entry[key] is not None:
                eval_results.append(
                    EvalResult(
                        metric_type=metric_type,
                        metric_name=metric_name,
                        metric_config=metric_config,
                        metric_value=entry[key],
                        **common,
                    )
                )

    card_data = ModelCardData(
        library_name="keras",
        pipeline_tag="image-to-image",
        license=license or defaults["license"],
        tags=list(dict.fromkeys(list(defaults["tags"]) + tags)),
        datasets=datasets or None,
        base_model=base_model,
        metrics=["psnr", "ssim"] if eval_results else None,
        model_name=model_name if eval_results else None,
        eval_results=eval_results or None,
    )

    known = defaults["datasets"]
    training_data = []
    for name in datasets:
        entry = known.get(name)
        if entry is None:
            training_data.append(
                {
                    "name": name,
                    "url": None,
                    "license": defaults["unknown_dataset_license"],
                    "blur": None,
                }
            )
        else:
            training_data.append(copy.deepcopy(entry))
    citation_keys = ["design", "package"]
    citation_keys += [item["citation"] for item in training_data if item.get("citation")]
    if any(entry["dataset_type"].startswith("gopro") for entry in evaluations):
        citation_keys.append("nah2017")
    if any(entry["ssim"] is not None or entry["ssim_matlab"] is not None for entry in evaluations):
        citation_keys.append("wang2004")
    citations = [defaults["citations"][key] for key in dict.fromkeys(citation_keys)]

    return ModelCard.from_template(
        card_data,
        template_str=_card_file("template.md").read_text(encoding="utf-8"),
        marker=CARD_MARKER,
        model_name=model_name,
        repo_id=repo_id,
        usage_source=repo_id or "path/to/this/folder",
        homepage=defaults["homepage"],
        architecture=architecture,
        package_version=__version__,
        keras_version=keras.version(),
        evaluations=[_formatted(entry) for entry in evaluations],
        training_data=training_data,
        training=training.strip() if training else None,
        trained_on=[item["blur"] for item in training_data if item.get("blur")],
        not_trained_on=defaults["not_trained_on"],
        citations=citations,
    )


def _as_names(argument, values):
    if values is None:
        return []
    if isinstance(values, str):
        values = (values,)
    values = list(values)
    if not all(isinstance(value, str) and value for value in values):
        raise ValueError(
            f"`{argument}` must be a tuple of non-empty strings. Received: {argument}={values!r}"
        )
    return values


def _formatted(entry):
    """The card's table row: numbers rounded for reading, "-" where absent."""
    row = dict(entry)
    for key in _FLOAT_METRICS:
        value = entry[key]
        if value is None:
            row[key] = "-"
        else:
            row[key] = f"{value:.2f}" if "psnr" in key else f"{value:.4f}"
    row["num_images"] = "-" if entry["num_images"] is None else f"{entry['num_images']:,}"
    return row


def _card_file(name):
    """A file of the packaged `hub_card/` folder (works from a wheel too)."""
    return importlib.resources.files("keras_attn_deblur").joinpath("hub_card", name)
