"""The documentation site: it builds strictly, its API reference covers every public name, and
its Python examples run.

- `mkdocs build --strict` (MkDocs + Material + mkdocstrings) builds the site from `docs/`
  with no warning: a docstring that does not render fails here.
- Every name in `keras_attn_deblur.__all__` and in each documented module's `__all__` is an
  object of the built site's inventory (`objects.inv`, what mkdocstrings renders).
- Every ```python block of the guides runs, page by page in one namespace, after the
  prelude (`PRELUDE`: tiny generated images, in a temporary folder that holds the shipped
  example photo as `blurry.png` / `sharp.jpg`) and the page's own hidden setup (an HTML
  comment `<!-- docs-test-setup ... -->`, not rendered), unless the line before its fence
  is `<!-- not run: REASON -->`, which must give a reason.
- The site fetches nothing from other hosts: no web fonts, no scripts or styles from a CDN.
"""

import importlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
import types
import zlib

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
EXAMPLES = os.path.join(ROOT, "keras_attn_deblur", "demo", "examples")
SETUP = re.compile(r"<!--\s*docs-test-setup\n(.*?)-->", re.S)
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.*?)\s*-->")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)[^\n]*$")

# The site and the examples do not depend on the backend: they run once, in the pass of
# the default backend (TensorFlow), which is what a user of the guides has.
default_backend_only = pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="backend-independent: runs once, in the TensorFlow pass",
)
needs_mkdocs = pytest.mark.skipif(
    shutil.which("mkdocs", path=os.path.dirname(sys.executable)) is None
    and importlib.util.find_spec("mkdocs") is None,
    reason='the docs extra is not installed: pip install -e ".[docs]"',
)

# Run before each page's blocks, in a temporary working folder holding blurry.png and
# sharp.jpg (the shipped GoPro example pair). Names the guides use for "your data".
PRELUDE = """
import numpy as np
import keras
from keras_attn_deblur import AttnDeblurNet

rng = np.random.default_rng(0)
sharp = rng.uniform(size=(4, 32, 32, 3)).astype("float32")
blurry = np.clip(sharp + 0.05 * rng.normal(size=sharp.shape), 0, 1).astype("float32")
val_blurry, val_sharp = blurry[:2], sharp[:2]
tiny = dict(filters=(4, 8, 8), blocks_per_stage=1, kernel_size=3)
"""


def markdown_pages():
    pages = []
    for folder, _, names in os.walk(DOCS):
        pages += [os.path.join(folder, name) for name in names if name.endswith(".md")]
    return sorted(pages)


def code_blocks(path):
    """`(line, language, code, not_run_reason)` of every fenced block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, index = [], 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, start = len(match["indent"]), index
        end = index + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        code = textwrap.dedent("\n".join(line[indent:] for line in lines[start + 1 : end]))
        before = lines[start - 1].strip() if start else ""
        reason = NOT_RUN.fullmatch(before)
        blocks.append((start + 1, match["lang"], code, reason[1] if reason else None))
        index = end + 1
    return blocks


def guide_pages():
    return [page for page in markdown_pages() if os.sep + "api" + os.sep not in page]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    output = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert not warnings, "\n".join(warnings)
    return output


def inventory(site):
    """The object names of the site's `objects.inv` (Sphinx inventory version 2)."""
    with open(site / "objects.inv", "rb") as file:
        for _ in range(4):
            file.readline()
        text = zlib.decompress(file.read()).decode("utf-8")
    return {line.split(" ", 1)[0] for line in text.splitlines() if line.strip()}


def documented_modules():
    """The modules that have an API page: `::: keras_attn_deblur...` of a module."""
    modules = []
    for page in markdown_pages():
        for target in re.findall(r"^::: (keras_attn_deblur[\w.]*)$", open(page).read(), re.M):
            try:
                modules.append(importlib.import_module(target))
            except ImportError:
                pass  # a class or function, not a module
    return modules


@default_backend_only
@needs_mkdocs
def test_the_site_builds_strictly_and_fetches_nothing(site):
    assert (site / "index.html").is_file() and (site / "api" / "models" / "index.html").is_file()
    for folder, _, names in os.walk(site):
        for name in names:
            if name.endswith(".html"):
                html = open(os.path.join(folder, name), encoding="utf-8").read()
                assert "fonts.googleapis.com" not in html and "fonts.gstatic.com" not in html
                external = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)
                assert not external, (name, external)


@default_backend_only
@needs_mkdocs
def test_every_public_name_is_in_the_api_reference(site):
    import keras_attn_deblur

    objects = inventory(site)
    modules = documented_modules()
    names = {module.__name__ for module in modules}
    # The package and every subpackage with an `__all__` have a page.
    for subpackage in ("data", "hub", "inference", "layers", "models", "training", "demo", "io"):
        assert f"keras_attn_deblur.{subpackage}" in names, subpackage
    missing = []
    for module in [keras_attn_deblur, *modules]:
        for name in getattr(module, "__all__", []):
            if name == "__version__":
                continue
            value = getattr(module, name)
            candidates = {f"{module.__name__}.{name}"}
            if isinstance(value, types.ModuleType):
                candidates.add(value.__name__)
            defined = getattr(value, "__module__", None)
            if defined and hasattr(value, "__qualname__"):
                candidates.add(f"{defined}.{value.__qualname__}")
            if module is keras_attn_deblur:  # a top-level name: where the package imports it
                candidates.add(f"{keras_attn_deblur._PUBLIC.get(name)}.{name}")
            if not candidates & objects:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, f"not in the API reference: {missing}"


def test_every_guide_block_is_run_or_says_why_not():
    for page in guide_pages():
        for line, language, code, reason in code_blocks(page):
            if reason is not None:
                assert len(reason) >= 10, f"{page}:{line}: 'not run:' needs a reason"
            if language == "python":
                compile(code, f"{page}:{line}", "exec")  # every block is valid Python


def _python_pages():
    pages = []
    for page in guide_pages():
        blocks = [block for block in code_blocks(page) if block[1] == "python" and not block[3]]
        if blocks:
            pages.append(pytest.param(page, blocks, id=os.path.relpath(page, DOCS)))
    return pages


@default_backend_only
@pytest.mark.slow
@pytest.mark.parametrize("page,blocks", _python_pages())
def test_guide_examples_run(page, blocks, tmp_path):
    shutil.copyfile(os.path.join(EXAMPLES, "gopro_000241_blurry.png"), tmp_path / "blurry.png")
    shutil.copyfile(os.path.join(EXAMPLES, "gopro_000241_sharp.jpg"), tmp_path / "sharp.jpg")
    script = [PRELUDE, *SETUP.findall(open(page, encoding="utf-8").read())]
    for line, _, code, _ in blocks:
        script.append(f"print('--- block at line {line}', flush=True)\n{code}")
    (tmp_path / "page.py").write_text("\n".join(script))
    result = subprocess.run([sys.executable, "page.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=1200)  # fmt: skip
    assert result.returncode == 0, (
        f"{os.path.relpath(page, ROOT)}: " + result.stdout[-1500:] + result.stderr[-3000:]
    )


README_SETUP = """
from PIL import Image
Image.open("blurry.png").crop((0, 0, 160, 96)).save("blurry.png")  # a corner: fast on 2 cores
for side in ("blurry", "sharp"):
    os.makedirs(f"pairs/{side}")
for index in range(4):
    photo = Image.fromarray((rng.uniform(size=(64, 64, 3)) * 255).astype("uint8"))
    photo.save(f"pairs/sharp/{index}.png")
    photo.save(f"pairs/blurry/{index}.png")
"""


@default_backend_only
@pytest.mark.slow
def test_the_readme_api_taste_runs(tmp_path):
    """The README's one Python block, on a corner of the example photo and four tiny pairs."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"^```python\n(.*?)^```", readme, re.S | re.M)
    assert len(blocks) == 1
    shutil.copyfile(os.path.join(EXAMPLES, "gopro_000241_blurry.png"), tmp_path / "blurry.png")
    (tmp_path / "taste.py").write_text("import os\n" + PRELUDE + README_SETUP + blocks[0])
    result = subprocess.run([sys.executable, "taste.py"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=1200)  # fmt: skip
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-3000:]
    assert (tmp_path / "restored.png").is_file() and (tmp_path / "my-model").is_dir()
    assert (tmp_path / "runs" / "mine").is_dir()


@default_backend_only
@needs_mkdocs
def test_screenshots_of_a_guide_and_an_api_page(site, tmp_path):
    """`release/docs_screenshots.py` in headless Chromium: both pages load from the
    loopback server with no request to another host, and the PNGs show a rendered page."""
    sys.path.insert(0, os.path.join(ROOT, "release"))
    import docs_screenshots

    if docs_screenshots.browser_path() is None:
        pytest.skip("no Chromium to drive: install Debian's 'chromium' package")
    pytest.importorskip("playwright")
    written = docs_screenshots.take(docs_screenshots.PAGES, str(site), str(tmp_path))
    assert [os.path.basename(path) for path in written] == ["site_guide.png", "site_api.png"]
    import numpy as np
    from PIL import Image

    for path in written:
        with Image.open(path) as image:
            assert image.size == (1280, 900)
            pixels = np.asarray(image.convert("L"), "float32")
        assert pixels.std() > 20  # text and a header bar, not a blank or error page
    with pytest.raises(RuntimeError, match="is not in the built site"):
        docs_screenshots.take({"x.png": "no/such/page/"}, str(site), str(tmp_path))
