"""`HubMixin`: the model's sharing methods, as huggingface_hub's `ModelHubMixin`.

A model class inherits it to get `from_preset`, `from_pretrained`,
`save_pretrained` and `push_to_hub`. The mixin calls the loader, saver and
uploader of this package with the class it is called on (`cls`), so the hub
package never imports a model module (keras-hub's `Backbone.from_preset`
and its preset loaders work the same way).
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

from keras_attn_deblur.hub import resolve
from keras_attn_deblur.hub import save
from keras_attn_deblur.hub import upload

PathLike = str | os.PathLike
Metrics = dict | list | None


class HubMixin:
    """Sharing methods for a Keras model class whose config round-trips."""

    @classmethod
    def from_preset(cls, preset: str, **overrides: Any) -> HubMixin:
        """Builds an untrained model from a named configuration in `PRESETS`.

        Args:
            preset: str. One of `"patent"` (the SPEC network) or `"lite"`.
            **overrides: Constructor arguments that override the preset's.

        Example:
        ```python
        from keras_attn_deblur import AttnDeblurNet

        lite = AttnDeblurNet.from_preset("lite")
        wide = AttnDeblurNet.from_preset("lite", kernel_size=3)
        ```
        """
        return cls(**resolve.preset_config(preset, **overrides))

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: PathLike,
        *,
        allow_untrained: bool = False,
        revision: str | None = None,
        cache_dir: PathLike | None = None,
        token: str | bool | None = None,
        endpoint: str | None = None,
        local_files_only: bool = False,
        force_download: bool = False,
    ) -> HubMixin:
        """Loads a model from any handle: a name, a folder, a `.keras` file or a Hub repo.

        `name_or_path` is, in this order: `"hf://org/name"`; a `.keras` file; a
        folder written by `save_pretrained`; a bundled name or a preset
        name (`"patent"`, `"lite"`); a Hub repo id `"org/name"`. A folder's
        weights' SHA-256 and its config's classes are checked before the
        model is built (see `keras_attn_deblur.hub.resolve`); a model whose
        weights are not all finite (a diverged training run) is refused with
        a `ValueError` naming the file, folder or repo.

        Args:
            name_or_path: str or path. What to load, see above.
            allow_untrained: bool. For a preset without bundled weights,
                return the untrained architecture with an
                `UntrainedWeightsWarning` instead of raising
                `FileNotFoundError`. Defaults to `False`.
            revision: str. Hub branch, tag or commit. Defaults to `None`,
                the default branch. Only for Hub repos.
            cache_dir: str or path. Hub cache folder. Defaults to `None`
                (`HF_HUB_CACHE`, `$HF_HOME/hub`).
            token: str or bool. Hub token; `False` sends none. Defaults to
                `None` (`HF_TOKEN` or the saved login).
            endpoint: str. Hub address. Defaults to `None` (`HF_ENDPOINT`,
                or https://huggingface.co).
            local_files_only: bool. Use the cache only, never the network.
                Defaults to `False`.
            force_download: bool. Download again even if cached. Defaults
                to `False`.

        Returns:
            An uncompiled model; compile it (`compile_for_deblurring`) to
            fine-tune it.

        Example:
        ```python
        from keras_attn_deblur import AttnDeblurNet

        model = AttnDeblurNet.from_pretrained("patent")            # bundled weights
        model = AttnDeblurNet.from_pretrained("org/attn-deblur")   # a Hub repo
        model = AttnDeblurNet.from_pretrained("out/attn-deblur")   # a folder
        model = AttnDeblurNet.from_pretrained("runs/gopro/best.keras")
        ```
        """
        return resolve.from_pretrained(
            cls,
            name_or_path,
            allow_untrained=allow_untrained,
            revision=revision,
            cache_dir=cache_dir,
            token=token,
            endpoint=endpoint,
            local_files_only=local_files_only,
            force_download=force_download,
        )

    def save_pretrained(
        self,
        directory: PathLike,
        *,
        metrics: Metrics = None,
        overwrite_card: bool = False,
        repo_id: str | None = None,
        model_name: str | None = None,
        license: str | None = None,
        tags: tuple[str, ...] | None = None,
        datasets: tuple[str, ...] | None = None,
        base_model: str | None = None,
        training: str | None = None,
        weights_dtype: str = "float32",
    ) -> pathlib.Path:
        """Writes a folder: config.json, metadata.json, model.weights.h5, README.md.

        The folder is Keras's own format (`keras.saving.load_model` reads
        it) plus a generated model card; see `keras_attn_deblur.hub.layout`.

        Args:
            directory: str or path. The folder; created if needed.
            metrics: dict or list of dicts. Results of an evaluation run for
                the card and metadata.json, in the schema of
                `keras_attn_deblur.hub.card`. Defaults to `None` (the card
                says "Not evaluated").
            overwrite_card: bool. Replace a README.md that was not generated
                by this package. Defaults to `False`: such a README.md is kept.
            repo_id: str. The model card's field (with `model_name`,
                `license`, `tags`, `datasets`, `base_model` and `training`),
                see `keras_attn_deblur.hub.card.render_model_card`.
            model_name: str. The card's title.
            license: str. The card's license.
            tags: list of str. The card's tags.
            datasets: list of str. The card's datasets.
            base_model: str. The card's base model.
            training: str. The card's training paragraph.
            weights_dtype: `"float32"` or `"float16"`. `"float16"` halves the
                weights file; loading casts the weights back to float32.
                Defaults to `"float32"`.

        Returns:
            The folder, a `pathlib.Path`.

        Example:
        ```python
        from keras_attn_deblur import AttnDeblurNet

        model = AttnDeblurNet.from_preset("lite")
        folder = model.save_pretrained("out/attn-deblur", datasets=("gopro",))
        model = AttnDeblurNet.from_pretrained(folder)
        ```
        """
        return save.save_pretrained(
            self,
            directory,
            metrics=metrics,
            overwrite_card=overwrite_card,
            weights_dtype=weights_dtype,
            training=training,
            repo_id=repo_id,
            model_name=model_name,
            license=license,
            tags=tags,
            datasets=datasets,
            base_model=base_model,
        )

    def push_to_hub(
        self,
        repo_id: str,
        *,
        private: bool = False,
        token: str | None = None,
        revision: str | None = None,
        commit_message: str | None = None,
        create_pr: bool = False,
        endpoint: str | None = None,
        metrics: Metrics = None,
        overwrite_card: bool = False,
        model_name: str | None = None,
        license: str | None = None,
        tags: tuple[str, ...] | None = None,
        datasets: tuple[str, ...] | None = None,
        base_model: str | None = None,
    ) -> Any:
        """Publishes the model to a Hub repo in one commit.

        Writes the `save_pretrained` folder to a temporary directory (a
        model with non-finite weights is refused there, before the Hub is
        contacted), creates the repo if needed (`create_repo(exist_ok=True)`)
        and uploads the folder with one `upload_folder` commit. A README.md on the Hub that was not
        generated by this package is kept unless `overwrite_card=True`.

        Args:
            repo_id: str. `"namespace/name"` (or `"hf://namespace/name"`).
            private: bool. Create the repo private (an existing repo keeps
                its visibility). Defaults to `False`.
            token: str. A token with write access. Defaults to `None`
                (`HF_TOKEN` or the saved login).
            revision: str. Branch to commit to, created if missing.
                Defaults to `None`, the default branch.
            commit_message: str. Defaults to "Upload <name> with
                keras-attn-deblur <version>".
            create_pr: bool. Open a pull request instead of committing to
                the default branch. Defaults to `False`.
            endpoint: str. Hub address. Defaults to `None` (`HF_ENDPOINT`).
            metrics: see `save_pretrained`, as are `overwrite_card`,
                `model_name`, `license`, `tags`, `datasets` and `base_model`.
            overwrite_card: see `save_pretrained`.
            model_name: see `save_pretrained`.
            license: see `save_pretrained`.
            tags: see `save_pretrained`.
            datasets: see `save_pretrained`.
            base_model: see `save_pretrained`.

        Returns:
            The `huggingface_hub.CommitInfo` of the commit (`.oid`,
            `.commit_url`, `.pr_url`).

        Example:
        ```python
        model.push_to_hub("my-org/attn-deblur", metrics=results, datasets=("gopro",))
        ```
        """
        return upload.push_to_hub(
            self,
            repo_id,
            model_name=model_name,
            license=license,
            tags=tags,
            datasets=datasets,
            base_model=base_model,
            metrics=metrics,
            overwrite_card=overwrite_card,
            private=private,
            token=token,
            revision=revision,
            commit_message=commit_message,
            create_pr=create_pr,
            endpoint=endpoint,
        )
