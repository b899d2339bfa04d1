"""A tiny stand-in for numba inside the frozen interview-guard bundle (NOT the real numba).

Why: the app imports librosa only for ``librosa.filters.mel`` (a pure-numpy filterbank;
``interview_guard/perception/speaker.py``), but librosa imports numba (and so llvmlite, ~190 MB)
at import time to decorate functions the app never calls. This stub lets those imports succeed:
``jit``/``njit``/``stencil``/``vectorize``/``guvectorize`` return the plain Python function.
Calling a librosa function that needs real numba semantics (``guvectorize``d kernels, stencils)
raises ``NotImplementedError`` with a clear message instead of computing something wrong.
The packaging test compares the bundle's analysis with the source install's (which uses real numba).
"""

from __future__ import annotations

__version__ = "0.0+interview-guard-stub"
IS_STUB = True


def _decorator(kind: str, passthrough: bool):
    def make(*args, **kwargs):
        def wrap(fn):
            if passthrough:
                return fn

            def unavailable(*a, **k):
                raise NotImplementedError(
                    f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__name__', '?')} needs numba.{kind}, "
                    "which this frozen build does not include (see packaging/README.md)")

            unavailable.__name__ = getattr(fn, "__name__", "unavailable")
            unavailable.__wrapped__ = fn
            return unavailable

        if len(args) == 1 and callable(args[0]) and not kwargs:
            return wrap(args[0])
        return wrap

    return make


jit = _decorator("jit", True)
njit = _decorator("njit", True)
generated_jit = _decorator("generated_jit", True)
vectorize = _decorator("vectorize", False)
guvectorize = _decorator("guvectorize", False)
stencil = _decorator("stencil", False)
cfunc = _decorator("cfunc", False)


def prange(*args):
    return range(*args)


class _Type:
    def __init__(self, name: str) -> None:
        self.name = name

    def __getitem__(self, item):
        return self

    def __call__(self, *a, **k):
        return self

    def __repr__(self) -> str:
        return f"numba-stub type {self.name}"


def __getattr__(name: str):
    # numba type objects used in signatures (numba.float32, numba.uint32, ...)
    if name.startswith("__"):
        raise AttributeError(name)
    return _Type(name)
