"""Restoring image files and folders of them, keeping format, bit depth and metadata.

```python
from keras_attn_deblur import AttnDeblurNet
from keras_attn_deblur.inference import deblur_file, deblur_folder

model = AttnDeblurNet.from_pretrained("org/attn-deblur")
deblur_file(model, "IMG_0042.jpg", "restored/IMG_0042.jpg", precision="bfloat16")
summary = deblur_folder(model, "phone_photos/", "restored/")
print(summary)  # 12 restored, 3 skipped (exist), 1 failed: a.png: is empty (0 bytes) ...
```

Each file is read with `io.decode.load_image_samples`, restored by one
`Deblurrer` for the whole run, and written with `io.encode.write_image`
(atomically: a killed run never leaves a half-written image under a final
name).
"""

import dataclasses
import os
import sys
import tempfile
import time

from keras_attn_deblur._utils.errors import one_line
from keras_attn_deblur._utils.paths import is_image_name
from keras_attn_deblur.inference.deblurrer import Deblurrer
from keras_attn_deblur.inference.deblurrer import as_deblurrer
from keras_attn_deblur.inference.progress import ProgressLine
from keras_attn_deblur.io.decode import load_image_samples
from keras_attn_deblur.io.encode import format_for
from keras_attn_deblur.io.encode import write_image


def deblur_file(model, input_path, output_path, *, overwrite=False, **options):
    """Restores one image file and writes it atomically, keeping format and metadata.

    The output format follows `output_path`'s extension (PNG, JPEG, TIFF,
    WebP, BMP, ...). Bit depth and channels are kept (a 16-bit PNG stays
    16-bit, gray stays gray, alpha is kept), and so are the ICC profile,
    the dpi and the EXIF block where the format stores them (EXIF
    orientation reset to 1, since the pixels are written upright). JPEG is
    written at quality 95 with the original's chroma subsampling, WebP at
    quality 95 (lossy), TIFF with the original's lossless compression. The
    file is written to a temporary name in the output folder and renamed
    into place, so an interrupted run never leaves a partial image under
    `output_path`.

    Args:
        model: `keras.Model` or `Deblurrer`. The network (a `Deblurrer`
            brings its own options).
        input_path: str or path-like. The blurry image file.
        output_path: str or path-like. Where to write the restored image;
            missing folders are created.
        overwrite: bool. Replace an existing `output_path`. Defaults to
            `False`.
        **options: Options of `Deblurrer` (`tile_size`, `precision`,
            `ensemble`, ...).

    Returns:
        `output_path`, as a str.

    Raises:
        ImageReadError: the input cannot be read.
        FileExistsError: `output_path` exists and `overwrite` is `False`.
        ValueError: `output_path` is the input file, or its extension names
            no format Pillow writes.
        OSError: the output cannot be written (one line, naming it).
    """
    deblurrer = as_deblurrer(model, options)
    input_path, output_path = os.fspath(input_path), os.fspath(output_path)
    if _same_path(input_path, output_path):
        raise ValueError(
            f"Refusing to overwrite the input image '{input_path}'. Choose another output path."
        )
    if os.path.exists(output_path) and not overwrite:
        raise FileExistsError(
            f"Output image '{output_path}' exists. Pass overwrite=True (--overwrite) to replace it."
        )
    folder = os.path.dirname(os.path.abspath(output_path))
    _prepare_output_folder(folder)
    _restore_file(deblurrer, input_path, output_path)
    return output_path


def _restore_file(deblurrer, input_path, output_path):
    format_for(output_path)  # an unknown extension fails before the image is read
    samples, mode, info = load_image_samples(input_path)
    restored = deblurrer.restore_samples(samples, name=os.path.basename(input_path))
    write_image(output_path, restored, mode, info)


def _same_path(first, second):
    if os.path.exists(first) and os.path.exists(second):
        return os.path.samefile(first, second)
    return os.path.realpath(first) == os.path.realpath(second)


def _prepare_output_folder(folder):
    """Creates `folder` if needed and checks that files can be written in it."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(
            f"Output folder '{folder}' is a file, not a folder. Choose another output folder."
        )
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(
            f"Cannot write to the output folder '{folder}' ({error.strerror or error}). "
            "Make it writable or choose another output folder."
        ) from error


# === Folders ===


@dataclasses.dataclass
class FolderSummary:
    """What `deblur_folder` did.

    Args:
        processed: int. Images restored and written.
        skipped: int. Images whose output existed (without `overwrite`).
        failed: list of `(input_path, message)`. Images that could not be
            restored or written; the run went on past them.
        seconds: float. Wall time of the run.
        input_dir: str. The input folder, for relative names in `str()`.
    """

    processed: int = 0
    skipped: int = 0
    failed: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    input_dir: str = ""

    def __str__(self):
        line = (
            f"{self.processed} restored, {self.skipped} skipped (exist), "
            f"{len(self.failed)} failed"
        )
        if self.failed:
            details = "; ".join(
                f"{os.path.relpath(path, self.input_dir or '.')}: "
                f"{message.removeprefix(f'Image file {path!r} ')}"
                for path, message in self.failed
            )
            line += f": {details}"
        return f"{line} ({self.seconds:.1f} s)"


def deblur_folder(
    model,
    input_dir,
    output_dir,
    *,
    overwrite=False,
    suffix=None,
    recursive=False,
    progress=True,
    **options,
):
    """Restores every image in a folder into another folder.

    Images are the files with an extension in `IMAGE_EXTENSIONS` (hidden
    files are ignored, see `_utils.paths.is_image_name`); with
    `recursive=True` subfolders are walked too and mirrored under `output_dir` (which is never walked itself). Each output
    keeps its input's name (plus `suffix` before the extension), format, bit
    depth, channels, ICC profile and EXIF (see `deblur_file`), and is
    written atomically: a killed run never leaves a half-written image under
    a final name.

    Before any image is read, the output folder is created if missing and
    checked to be writable; an output folder that is the input folder is
    refused, so no input is ever overwritten. A file that cannot be read
    or restored is recorded in `failed` and the run goes on.

    Args:
        model: `keras.Model` or `Deblurrer`. The network (a `Deblurrer`
            brings its own options).
        input_dir: str or path-like. The folder of blurry images.
        output_dir: str or path-like. Where to write the restored images.
        overwrite: bool. Restore images whose output exists again. Defaults
            to `False` (skip them, so an interrupted run resumes).
        suffix: str or `None`. Added to each output's name before the
            extension, e.g. `"_sharp"`. Defaults to `None`.
        recursive: bool. Include subfolders. Defaults to `False`.
        progress: bool. Print a progress line per image and the summary
            line to stderr, and the progress of the tiles of an image that
            takes more than a few seconds (`Deblurrer(progress=True)`;
            a `Deblurrer` passed as `model` keeps its own). Defaults to
            `True`.
        **options: Options of `Deblurrer` (`tile_size`, `tile_overlap`,
            `precision`, `ensemble`, `memory_budget_mb`, `batch_size`).

    Returns:
        A `FolderSummary`; `str(summary)` is the summary line, e.g.
        `"12 restored, 3 skipped (exist), 1 failed: a.png: ... (81.2 s)"`.

    Raises:
        NotADirectoryError: `input_dir` is not a folder, or `output_dir` is
            a file.
        ValueError: `output_dir` is `input_dir`.
        PermissionError: `output_dir` cannot be created or written.

    Example:
    ```python
    from keras_attn_deblur import AttnDeblurNet
    from keras_attn_deblur.inference import deblur_folder

    model = AttnDeblurNet.from_pretrained("org/attn-deblur")
    summary = deblur_folder(model, "phone_photos/", "restored/", precision="bfloat16")
    ```
    """
    started = time.perf_counter()
    input_dir, output_dir = os.fspath(input_dir), os.fspath(output_dir)
    if not os.path.isdir(input_dir):
        raise NotADirectoryError(
            f"Input folder '{input_dir}' "
            f"{'is a file, not a folder' if os.path.exists(input_dir) else 'does not exist'}. "
            "Pass a folder of images."
        )
    if _same_path(input_dir, output_dir):
        raise ValueError(
            f"Output folder '{output_dir}' is the input folder; restored images would "
            "overwrite or mix with the inputs. Choose another output folder."
        )
    if not isinstance(model, Deblurrer):
        options = {"progress": progress, **options}
    deblurrer = as_deblurrer(model, options)
    _prepare_output_folder(output_dir)
    jobs = _folder_jobs(input_dir, output_dir, suffix or "", recursive)
    inputs = {os.path.realpath(input_path) for input_path, _ in jobs}
    for input_path, output_path in jobs:
        if os.path.realpath(output_path) in inputs:
            raise ValueError(
                f"Output image '{output_path}' would overwrite an input image. "
                "Choose another output folder or suffix."
            )
    summary = FolderSummary(input_dir=input_dir)
    bar = ProgressLine(len(jobs), "deblur", enabled=progress)
    for input_path, output_path in jobs:
        name = os.path.relpath(input_path, input_dir)
        if os.path.exists(output_path) and not overwrite:
            summary.skipped += 1
            status = "skipped (exists)"
        else:
            try:
                os.makedirs(os.path.dirname(output_path), exist_ok=True)
                _restore_file(deblurrer, input_path, output_path)
                summary.processed += 1
                status = "restored"
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the batch
                summary.failed.append((input_path, one_line(error)))
                status = "FAILED"
        bar.update(name, status)
    summary.seconds = time.perf_counter() - started
    bar.close()
    if progress:
        print(summary, file=sys.stderr)
    return summary


def _folder_jobs(input_dir, output_dir, suffix, recursive):
    """Sorted `(input_path, output_path)` pairs of the images under `input_dir`."""
    output_real = os.path.realpath(output_dir)
    jobs = []
    for folder, subfolders, files in os.walk(input_dir):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if recursive
            and not name.startswith(".")
            and os.path.realpath(os.path.join(folder, name)) != output_real
        )
        relative = os.path.relpath(folder, input_dir)
        for name in sorted(files):
            if not is_image_name(name):
                continue
            stem, extension = os.path.splitext(name)
            output_path = os.path.normpath(
                os.path.join(output_dir, relative, f"{stem}{suffix}{extension}")
            )
            jobs.append((os.path.join(folder, name), output_path))
    return jobs
