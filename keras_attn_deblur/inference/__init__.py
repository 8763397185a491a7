"""Deblurring real photos: any size in bounded memory, bf16, flip ensemble, files, folders.

```python
from keras_attn_deblur import AttnDeblurNet, Deblurrer
from keras_attn_deblur.inference import deblur, deblur_folder

model = AttnDeblurNet.from_pretrained("org/attn-deblur")
restored = deblur(model, "IMG_0042.jpg")                 # a PIL image, same size and mode
deblurrer = Deblurrer(model, precision="bfloat16")       # one set of options, checked once
restored = deblurrer(array)                              # uint8 in, uint8 out
summary = deblur_folder(deblurrer, "phone_photos/", "restored/")
print(summary)  # 12 restored, 3 skipped (exist), 1 failed: a.png: is empty (0 bytes) ...
```

- `tiling`: where the tiles of a large photo go and the memory arithmetic
  (`TilePlan`, `plan_tiles`).
- `deblurrer`: `Deblurrer`, the options and the network, restoring one
  image; `deblur(model, image, **options)`.
- `batch`: `deblur_file` and `deblur_folder`, keeping format and metadata.
- `progress`: the progress line of folder runs, evaluations and the tiles
  of a large photo.
"""

from keras_attn_deblur._utils.paths import IMAGE_EXTENSIONS
from keras_attn_deblur.inference.batch import FolderSummary
from keras_attn_deblur.inference.batch import deblur_file
from keras_attn_deblur.inference.batch import deblur_folder
from keras_attn_deblur.inference.deblurrer import Deblurrer
from keras_attn_deblur.inference.deblurrer import deblur
from keras_attn_deblur.inference.tiling import DEFAULT_MEMORY_BUDGET_MB
from keras_attn_deblur.inference.tiling import DEFAULT_TILE_OVERLAP
from keras_attn_deblur.inference.tiling import TilePlan
from keras_attn_deblur.inference.tiling import plan_tiles

__all__ = [
    "DEFAULT_MEMORY_BUDGET_MB",
    "DEFAULT_TILE_OVERLAP",
    "IMAGE_EXTENSIONS",
    "Deblurrer",
    "FolderSummary",
    "TilePlan",
    "deblur",
    "deblur_file",
    "deblur_folder",
    "plan_tiles",
]
