"""The example photos shipped with the package, for the demo page and the examples.

A real blurry photo and its sharp frame from the GoPro dataset (CC BY 4.0;
`examples/README.md` beside them says how they were made). Both come from
the validation frames: the bundled weights never saw them in training.
"""

import pathlib

EXAMPLES_DIR = pathlib.Path(__file__).resolve().parent / "examples"
EXAMPLE_BLURRY = EXAMPLES_DIR / "gopro_000241_blurry.png"
EXAMPLE_SHARP = EXAMPLES_DIR / "gopro_000241_sharp.jpg"
