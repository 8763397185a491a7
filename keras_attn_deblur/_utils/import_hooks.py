"""Code run around a module's first import, as wrapt's post-import hooks do.

Two users: `native_logs` runs TensorFlow's and JAX's first import inside its
stderr filter, and the package's `__init__` registers its Keras classes once
Keras is loaded. A finder, first on `sys.meta_path`, asks the other finders
for the module's spec and hands it back with the loader wrapped; the wrapper
puts the module's own loader back before running the module, so that the
module sees nothing different.

```
wrap_first_import("tensorflow", quiet_start)   # `with quiet_start(): <import>`
call_after_import("keras", register)           # register() once keras is imported
call_after_package_import("keras_attn_deblur", register)
                                               # after each outermost import of a submodule
```
"""

import contextlib
import importlib.abc
import sys
import threading


class _WrappedLoader:
    """A module's own loader, its `exec_module` run inside `around()` and then `after()`.

    Everything else (`get_code` for `python -m`, `get_source`, resources)
    is the module's own loader's.
    """

    def __init__(self, loader, around, after=None):
        self.loader = loader
        self.around = around
        self.after = after

    def __getattr__(self, name):
        if name == "loader":  # not set yet (a copy being made): not the module's loader's
            raise AttributeError(name)
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self.loader
        with self.around():
            self.loader.exec_module(module)
        if self.after is not None:
            self.after()


class _Hooks(importlib.abc.MetaPathFinder):
    """The one finder of this module: hooks by module name and by package."""

    def __init__(self):
        self.around = {}  # module name -> context manager factories, first import only
        self.after = {}  # module name -> callables, first import only
        self.packages = {}  # package name -> callables after each outermost submodule import
        self.depth = threading.local()  # per thread: submodules of a package being imported

    def find_spec(self, name, path=None, target=None):
        package = next((p for p in self.packages if name.startswith(p + ".")), None)
        if package is None and name not in self.around and name not in self.after:
            return None
        spec = self._spec_from_other_finders(name, path, target)
        if spec is None or not hasattr(spec.loader, "exec_module"):
            return spec
        if package is not None:
            spec.loader = _WrappedLoader(spec.loader, lambda: self._counting(package))
            return spec
        arounds, afters = self.around.pop(name, []), self.after.pop(name, [])
        spec.loader = _WrappedLoader(spec.loader, lambda: _nested(arounds), lambda: _call(afters))
        return spec

    def _spec_from_other_finders(self, name, path, target):
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None:
                return spec
        return None

    @contextlib.contextmanager
    def _counting(self, package):
        depth = getattr(self.depth, package, 0)
        setattr(self.depth, package, depth + 1)
        try:
            yield
        finally:
            setattr(self.depth, package, depth)
        if depth == 0:
            _call(self.packages[package])

    def importing(self, package):
        """Whether this thread is importing a submodule of `package` right now."""
        return getattr(self.depth, package, 0) > 0


def _call(callbacks):
    for callback in callbacks:
        callback()


@contextlib.contextmanager
def _nested(context_factories):
    with contextlib.ExitStack() as stack:
        for factory in context_factories:
            stack.enter_context(factory())
        yield


_HOOKS = _Hooks()
_INSTALL_LOCK = threading.Lock()


def _install():
    with _INSTALL_LOCK:
        if _HOOKS not in sys.meta_path:
            sys.meta_path.insert(0, _HOOKS)


def wrap_first_import(name, around):
    """Runs the first import of module `name` inside `with around():`.

    Nothing happens when the module is imported already.
    """
    if name in sys.modules:
        return
    _install()
    _HOOKS.around.setdefault(name, []).append(around)


def call_after_import(name, callback):
    """Calls `callback()` once module `name` is imported: now, if it is already."""
    if name in sys.modules:
        callback()
        return
    _install()
    _HOOKS.after.setdefault(name, []).append(callback)


def call_after_package_import(package, callback):
    """Calls `callback()` after every outermost import of a submodule of `package`.

    "Outermost": when submodule `a` imports submodule `b`, `callback` runs
    once, after `a`, when the package is whole again.
    """
    _install()
    _HOOKS.packages.setdefault(package, []).append(callback)


def importing_package(package):
    """Whether a submodule of `package` is being imported in this thread."""
    return _HOOKS.importing(package)
