"""`AtomicBackupAndRestore`: a training backup that survives a kill at any moment."""

import contextlib
import json
import os
import shutil

import keras
import numpy as np


def weights_are_finite(model):
    """Whether every weight of `model` is finite (no NaN or inf)."""
    return all(np.isfinite(weight).all() for weight in model.get_weights())


def has_backup(backup_dir):
    """Whether `backup_dir` holds a backup that `AtomicBackupAndRestore` would resume from."""
    return any(
        os.path.isfile(os.path.join(backup_dir, folder, AtomicBackupAndRestore._WEIGHTS))
        for folder in AtomicBackupAndRestore._FOLDERS
    )


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose backup survives a kill at any moment.

    Each backup (weights and epoch) is written into `backup/next/`, then
    renamed into place as `backup/latest/`, the one before it kept as
    `backup/previous/`; folder renames are atomic. Resuming loads `latest`,
    else `previous` (one epoch older) when `latest` is unreadable; if neither
    can be read, it stops with a one-line error that says to delete the
    backup folder. A backup of non-finite weights (a diverged run) is not
    written, so a resumed run restarts from the last good one. A backup of
    an older version of this package (`backup/latest.weights.h5`) is read
    too.
    """

    _WEIGHTS = "latest.weights.h5"
    _METADATA = "training_metadata.json"
    _FOLDERS = ("latest", "previous", "")  # in the order tried; "" is an older version's

    def __init__(self, backup_dir, save_freq="epoch"):
        super().__init__(backup_dir, save_freq=save_freq, delete_checkpoint=True)

    def on_train_begin(self, logs=None):
        self._load_model()

    def _load_model(self):
        errors = []
        for folder in self._FOLDERS:
            folder = os.path.join(self.backup_dir, folder)
            weights = os.path.join(folder, self._WEIGHTS)
            if not os.path.isfile(weights):
                continue
            try:
                with open(os.path.join(folder, self._METADATA), encoding="utf-8") as file:
                    epoch = int(json.load(file)["epoch"])
                if self.model.optimizer is not None and not self.model.optimizer.built:
                    self.model.optimizer.build(self.model.trainable_variables)
                self.model.load_weights(weights)
            except Exception as error:  # h5py, JSON and Keras errors alike
                errors.append(f"{weights}: {' '.join(str(error).split())[:200]}")
                continue
            self.model._initial_epoch = epoch
            return
        if errors:
            raise RuntimeError(
                f"The training backup in '{self.backup_dir}' cannot be read ({errors[0]}); "
                f"delete '{self.backup_dir}' to start this run again from its beginning "
                "(best.keras and log.csv are kept)"
            )

    def on_train_end(self, logs=None):
        if weights_are_finite(self.model):  # a diverged run keeps its last good backup
            super().on_train_end(logs)

    def _save_model(self):
        if not weights_are_finite(self.model):
            return  # a diverged run: keep the last good backup
        staging = os.path.join(self.backup_dir, "next")
        latest = os.path.join(self.backup_dir, "latest")
        previous = os.path.join(self.backup_dir, "previous")
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        self.model.save_weights(os.path.join(staging, self._WEIGHTS))
        with open(os.path.join(staging, self._METADATA), "w", encoding="utf-8") as file:
            json.dump({"epoch": self._current_epoch, "batch": self._last_batch_seen}, file)
        if os.path.isdir(latest):
            shutil.rmtree(previous, ignore_errors=True)
            os.replace(latest, previous)
        os.replace(staging, latest)
        for legacy in (self._WEIGHTS, self._METADATA):  # an older version's backup
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.backup_dir, legacy))
