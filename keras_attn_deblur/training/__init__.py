"""The training recipe: compile a model, the callbacks of a real run, and a whole run.

```python
from keras_attn_deblur import training

model = training.compile_for_deblurring(
    "patent", learning_rate=2e-4, total_steps=100_000, mixed_precision="bfloat16"
)
model.fit(
    train_ds,
    validation_data=val_ds,
    epochs=100,
    steps_per_epoch=1000,
    callbacks=training.deblurring_callbacks("runs/gopro"),
)
```

Kill the run at any point and start the same command again: `BackupAndRestore`
resumes from the last completed epoch (or step interval), the CSV log is
appended to, and `runs/gopro/best.keras` keeps the model with the best
validation PSNR.

Several GPUs: `compile_for_deblurring(..., distribute="data_parallel")`, or
build, compile and fit inside `distribute.distribution_scope(...)` (see
`keras_attn_deblur.distribute`).

A whole run in one call, as `attn-deblur train` does it (data, validation,
recipe, callbacks, resume, final evaluation and a `save_pretrained` folder):

```python
training.run("runs/gopro", gopro="/datasets/GOPRO_Large", steps=300_000, epochs=300)
```
"""

from keras_attn_deblur.training.atomic_backup_and_restore import AtomicBackupAndRestore
from keras_attn_deblur.training.atomic_backup_and_restore import weights_are_finite
from keras_attn_deblur.training.recipe import compile_for_deblurring
from keras_attn_deblur.training.recipe import deblurring_callbacks
from keras_attn_deblur.training.runner import FINAL_MODEL
from keras_attn_deblur.training.runner import RunOptionsError
from keras_attn_deblur.training.runner import TrainingDivergedError
from keras_attn_deblur.training.runner import finished_model
from keras_attn_deblur.training.runner import run

__all__ = [
    "FINAL_MODEL",
    "AtomicBackupAndRestore",
    "RunOptionsError",
    "TrainingDivergedError",
    "compile_for_deblurring",
    "deblurring_callbacks",
    "finished_model",
    "run",
    "weights_are_finite",
]
