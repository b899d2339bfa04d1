"""Shared pytest fixtures.

Capture fixtures run *real* servers, never mocks:

* ``xvfb_display`` (session): a private ``Xvfb`` on a free display number; yields ``":NN"``.
  It does **not** change ``$DISPLAY`` for the session: a test that wants the default display
  does ``monkeypatch.setenv("DISPLAY", xvfb_display)``, others pass ``display=`` explicitly.
* ``pulse_server`` (session): a private PulseAudio daemon with a null sink ``call`` set as the
  default sink; yields a ``helpers.pulse.PulseServer`` (``.server`` is the ``PULSE_SERVER``
  string, ``.pactl()``, ``.play()``, ``.add_null_sink()``). See tests/helpers/pulse.py for the
  recipe that works as root.
* ``corpus`` (session): a function ``corpus(relpath) -> Path`` into the shared media corpus
  (``$IG_CORPUS``, default ``../shared/corpus`` next to the repo).

Missing tools or corpus files skip the test with a reason, except under ``CI=true`` where they
fail: CI must never go green by skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
if str(REPO_ROOT) not in sys.path:  # tests/ is a package: helpers import as `tests.helpers`
    sys.path.insert(0, str(REPO_ROOT))

from tests.helpers.pulse import PulseError, PulseServer  # noqa: E402
from tests.helpers.xvfb import XvfbError, XvfbServer  # noqa: E402


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def skip_or_fail(reason: str):
    """Skip locally; fail under CI=true (a missing tool or file there is a broken CI image)."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: missing prerequisites fail instead of skipping)", pytrace=False)
    pytest.skip(reason)


def corpus_root() -> Path:
    p = Path(os.environ.get("IG_CORPUS", "../shared/corpus")).expanduser()
    return p if p.is_absolute() else (REPO_ROOT / p).resolve()


@pytest.fixture(scope="session")
def corpus():
    """``corpus("video_real/x.mp4") -> Path``; skips (fails under CI) when the file is missing."""

    def get(rel: str) -> Path:
        p = corpus_root() / rel
        if not p.is_file():
            skip_or_fail(f"corpus file {rel} not found under {corpus_root()} (set IG_CORPUS)")
        return p

    return get


@pytest.fixture(scope="session")
def xvfb_display():
    """A private Xvfb (1920x1080x24, no TCP) for the whole session; yields its display name."""
    if shutil.which("Xvfb") is None:
        skip_or_fail("Xvfb is not installed (apt install xvfb)")
    try:
        server = XvfbServer(1920, 1080, 24).start()
    except XvfbError as e:
        skip_or_fail(f"cannot start Xvfb: {e}")
    try:
        yield server.display
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pulse_server():
    """A private PulseAudio daemon with a default null sink ``call``, for the whole session."""
    if shutil.which("pulseaudio") is None or shutil.which("pactl") is None or shutil.which("paplay") is None:
        skip_or_fail("pulseaudio/pactl/paplay are not installed (apt install pulseaudio pulseaudio-utils)")
    try:
        server = PulseServer(sinks=("call",), default_sink="call").start()
    except PulseError as e:
        skip_or_fail(f"cannot start a private PulseAudio daemon: {e}")
    try:
        yield server
    finally:
        server.stop()
