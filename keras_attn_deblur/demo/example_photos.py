"""The example photos shipped with the package, for the demo page and the examples.

A real blurry photo and its sharp frame from the GoPro dataset (CC BY 4.0;
`examples/README.md` beside them says how they were made). Both come from
the validation frames: the bundled weights never saw them in training.
"""

import pathlib

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent / "examples"
"""The folder of the shipped example photos."""
EXAMPLE_BLURRY = EXAMPLES_DIR / "gopro_000241_blurry.png"
"""A real blurry photo: GoPro GOPR0477_11_00 frames 237-245 averaged (CC BY 4.0)."""
EXAMPLE_SHARP = EXAMPLES_DIR / "gopro_000241_sharp.jpg"
"""Its sharp middle frame, 241."""
