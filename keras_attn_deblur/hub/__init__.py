"""Sharing models: saved folders, the Hub, bundled weights and model cards.

The model's methods (`AttnDeblurNet.from_pretrained`, `.save_pretrained`,
`.push_to_hub`, `.from_preset`) come from `HubMixin`; the modules:

- `layout`: the saved folder's files, the Hub-id rule, bundled names and
  their folder `layout.BUNDLED_WEIGHTS_DIR` (read there on every call, so
  patching it points every loader elsewhere).
- `safety`: the checks made before loading or publishing (hash, config
  classes, finite weights, files inside the folder).
- `download`: `snapshot_download` with one-line errors.
- `resolve`: the one loader for every handle (name, folder, `.keras`, Hub id).
- `save`: `save_pretrained`. `upload`: `push_to_hub`, `push_folder`.
- `card`: the model card. `mixin`: `HubMixin`.

This package never imports the model module: the mixin passes the class.
"""

from keras_attn_deblur.hub.layout import CARD_FILE
from keras_attn_deblur.hub.layout import CONFIG_FILE
from keras_attn_deblur.hub.layout import INPUT_RANGE
from keras_attn_deblur.hub.layout import METADATA_FILE
from keras_attn_deblur.hub.layout import METADATA_KEY
from keras_attn_deblur.hub.layout import REPO_FILES
from keras_attn_deblur.hub.layout import WEIGHTS_FILE
from keras_attn_deblur.hub.mixin import HubMixin
from keras_attn_deblur.hub.resolve import UntrainedWeightsWarning
from keras_attn_deblur.hub.resolve import from_pretrained
from keras_attn_deblur.hub.safety import check_finite_weights
from keras_attn_deblur.hub.safety import read_weight_arrays
from keras_attn_deblur.hub.save import save_pretrained
from keras_attn_deblur.hub.upload import push_folder
from keras_attn_deblur.hub.upload import push_to_hub

__all__ = [
    "CARD_FILE",
    "CONFIG_FILE",
    "INPUT_RANGE",
    "METADATA_FILE",
    "METADATA_KEY",
    "REPO_FILES",
    "WEIGHTS_FILE",
    "HubMixin",
    "UntrainedWeightsWarning",
    "check_finite_weights",
    "from_pretrained",
    "push_folder",
    "push_to_hub",
    "read_weight_arrays",
    "save_pretrained",
]
