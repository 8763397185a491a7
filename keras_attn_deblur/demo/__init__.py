"""The demo: a Gradio page to try a model on your own photos, locally or as a Hub Space.

```python
from keras_attn_deblur import demo

app = demo.build_app("patent")  # a model handle, a keras.Model or a Deblurrer
app.launch()                    # http://127.0.0.1:7860, only this machine
```

`attn-deblur demo` does the same from the command line, and
`attn-deblur push-space ORG/NAME --model ORG/MODEL` publishes the page as a
Hugging Face Space (`demo.push_space`). Gradio is an optional dependency:
`pip install "keras-attn-deblur[demo]"`. Importing this package does not
import Gradio; `build_app` does, and says what to install when it is
missing. Gradio's analytics are switched off (`GRADIO_ANALYTICS_ENABLED`)
before Gradio is first imported: the page fetches nothing from the internet.
"""

import os

from keras_attn_deblur.demo.example_photos import EXAMPLE_BLURRY
from keras_attn_deblur.demo.example_photos import EXAMPLE_SHARP
from keras_attn_deblur.demo.example_photos import EXAMPLES_DIR
from keras_attn_deblur.demo.space import push_space
from keras_attn_deblur.demo.space import write_space

INSTALL_HINT = 'pip install "keras-attn-deblur[demo]"'

__all__ = [
    "EXAMPLES_DIR", "EXAMPLE_BLURRY", "EXAMPLE_SHARP", "build_app", "push_space", "write_space",
]  # fmt: skip


def import_gradio():
    """Imports Gradio with its analytics off; an `ImportError` says what to install."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    try:
        import gradio
    except ImportError as error:
        raise ImportError(
            f"The demo needs Gradio, which is not installed ({error}). Install it with: "
            f"{INSTALL_HINT}"
        ) from None
    return gradio


def build_app(model, **options):
    """The demo page of `model`, a `gr.Blocks` to `launch()`; see `demo.app.DeblurDemo`.

    Args:
        model: str, `keras.Model` or `Deblurrer`. The model: a handle
            `AttnDeblurNet.from_pretrained` takes (a preset with bundled
            weights such as `"patent"`, a save_pretrained folder, a `.keras`
            file, a Hub repo id), a model, or a `Deblurrer` whose options
            become the page's defaults.
        **options: the keyword arguments of `DeblurDemo` (`max_megapixels`,
            `examples`, `title`).

    Returns:
        A `DeblurDemo` (a `gr.Blocks`).

    Raises:
        ImportError: Gradio is not installed (naming the extra to install).
    """
    import_gradio()
    from keras_attn_deblur.demo.app import DeblurDemo

    return DeblurDemo(model, **options)
