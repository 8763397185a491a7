"""The package's shape: imports go down its layers, no circles, short modules, a thin CLI.

Every `import` statement of the package is read with `ast`, those inside
functions included (a lazy import is still a dependency), so these tests
fail on the change that adds an upward import, not on a later one.
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "keras_attn_deblur"

# The layers, lowest first; see docs/guides/architecture.md. A module may import its
# own layer and the layers below it. The Hub code sits below the model class:
# `AttnDeblurNet` inherits `hub.mixin.HubMixin`, and the hub receives the class
# as an argument instead of importing it (as keras-hub's preset loaders do).
LAYERS = (
    ("_utils", "version"),
    ("layers", "losses", "metrics"),
    ("models.presets", "models.precision", "models.input_checks"),
    ("hub",),
    ("models",),
    ("io",),
    ("data",),
    ("inference",),
    ("distribute", "evaluation", "training", "jax_training"),
    ("export", "quantization", "visualize", "demo"),
    ("cli",),
    ("__main__",),
)
MAX_LINES = 600


def _module_name(path):
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name, path):
    """The package modules that module `name` imports (relative to the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                module = f"keras_attn_deblur.{module}".rstrip(".")
            else:
                module = node.module or ""
            targets = [f"{module}.{alias.name}" for alias in node.names] + [module]
        else:
            continue
        for target in targets:
            if not target.startswith("keras_attn_deblur."):
                continue
            target = target[len("keras_attn_deblur.") :]
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
                break  # `from x import y`: the submodule y if it is one, else x
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items() if name}


def _layer(name):
    best = None
    for index, group in enumerate(LAYERS):
        for prefix in group:
            if name == prefix or name.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    if best is None:
        raise AssertionError(f"module '{name}' is in no layer of LAYERS: add it there")
    return best[0]


def test_every_module_belongs_to_a_layer():
    for name in GRAPH:
        _layer(name)


def test_imports_only_go_down_the_layers():
    upward = [
        f"{name} -> {target}"
        for name, targets in GRAPH.items()
        for target in sorted(targets)
        if _layer(target) > _layer(name)
    ]
    assert upward == []


def test_there_is_no_import_circle():
    # Depth-first search over every module, package re-exports included.
    state, cycles = {}, []

    def visit(name, stack):
        state[name] = "open"
        for target in sorted(GRAPH.get(name, ())):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, stack + [target])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert cycles == []


def test_no_module_is_longer_than_the_limit():
    long = {
        name: count
        for name, path in MODULES.items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


@pytest.mark.parametrize("folder", ["keras_attn_deblur", "release", "examples", "benchmarks"])
def test_only_the_entry_points_import_the_command_line(folder):
    importers = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("keras_attn_deblur/cli/") or relative.endswith("__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            modules = []
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(m == "keras_attn_deblur.cli" or m.startswith("keras_attn_deblur.cli.")
                   for m in modules):  # fmt: skip
                importers.append(relative)
    assert importers == []


def test_the_check_sees_a_known_edge():
    # The scan itself works: the model imports its presets and the Hub mixin.
    assert {"models.presets", "hub.mixin"} <= GRAPH["models.attn_deblur_net"]
    assert "inference.deblurrer" in GRAPH["evaluation"] or "inference" in GRAPH["evaluation"]
