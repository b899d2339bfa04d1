"""Silence chatty native libraries (MediaPipe/TFLite glog lines) while they initialise.

MediaPipe writes INFO/WARNING lines straight to file descriptor 2 when its graphs start;
environment variables do not stop them. ``quiet_native_stderr()`` points fd 2 at /dev/null
for the duration of a block (set ``IG_VERBOSE=1`` to keep them).
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_native_stderr():
    if os.environ.get("IG_VERBOSE"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
