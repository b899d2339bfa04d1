"""One registry of detectors: built-ins plus third-party entry points.

Built-ins register themselves with ``@register``. Packages can add detectors through the
entry-point group ``interview_guard.detectors`` (each entry point names a Detector class).
``create_all()`` returns fresh instances, so each session owns its state.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Callable, Iterable

from interview_guard.detectors.contract import Detector

_FACTORIES: dict[str, Callable[[], Detector]] = {}

_NOT_DETECTORS = {"contract", "registry"}


def builtin_modules() -> list[str]:
    """Every module in this package except the contract and registry: importing one registers
    its detectors. A new detector is a new module here; nothing else to edit. The frozen build
    collects the same list (packaging/ uses this function)."""
    import pkgutil

    import interview_guard.detectors as pkg

    return sorted(f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)
                  if not m.name.startswith("_") and m.name not in _NOT_DETECTORS)


def register(cls: type[Detector]) -> type[Detector]:
    if not cls.id:
        raise ValueError(f"{cls.__name__} has no id")
    if cls.id in _FACTORIES and _FACTORIES[cls.id] is not cls:
        raise ValueError(f"detector id '{cls.id}' registered twice")
    _FACTORIES[cls.id] = cls
    return cls


def _load() -> None:
    for mod in builtin_modules():
        importlib.import_module(mod)
    try:
        eps = entry_points(group="interview_guard.detectors")
    except TypeError:  # pragma: no cover - old importlib.metadata
        eps = []
    for ep in eps:
        cls = ep.load()
        if cls.id not in _FACTORIES:
            register(cls)


def available() -> list[str]:
    _load()
    return sorted(_FACTORIES)


def detector_class(detector_id: str) -> type[Detector]:
    """The registered class (its attributes, without building it); KeyError when unknown."""
    _load()
    return _FACTORIES[detector_id]


def create(detector_id: str) -> Detector:
    _load()
    return _FACTORIES[detector_id]()


def create_all(only: Iterable[str] | None = None) -> list[Detector]:
    _load()
    ids = sorted(_FACTORIES) if only is None else list(only)
    return [_FACTORIES[i]() for i in ids]
