"""``interview-guard doctor``: what works on this machine, and how to fix what doesn't.

Each check prints ``ok``, ``warn`` or ``FAIL`` with one line of detail and, when not ok, a
``fix:`` hint. Exit code 0 unless a check the app cannot run without failed (models, core
imports).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path


def _line(status: str, name: str, detail: str, fix: str | None = None) -> None:
    print(f"{status:<5} {name}: {detail}")
    if fix and status != "ok":
        print(f"      fix: {fix}")


def _qt_check() -> tuple[str, str, str | None]:
    spec = importlib.util.find_spec("PySide6")
    if spec is None:
        return "FAIL", "PySide6 is not installed", "run scripts/run again (it installs the venv)"
    qpa = os.environ.get("QT_QPA_PLATFORM", "")
    plugins = Path(spec.submodule_search_locations[0]) / "Qt" / "plugins" / "platforms"
    xcb = plugins / "libqxcb.so"
    if sys.platform.startswith("linux") and xcb.exists() and not qpa.startswith("offscreen"):
        try:
            out = subprocess.run(["ldd", str(xcb)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        missing = sorted({ln.split()[0] for ln in out.splitlines() if "not found" in ln})
        if missing:
            return ("warn", f"Qt's xcb plugin lacks {', '.join(missing)}",
                    "sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxkbcommon-x11-0 "
                    "libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1")
    other_cv2 = [d for d in ("opencv_python", "opencv_contrib_python")
                 if importlib.util.find_spec("cv2") and _dist_installed(d)]
    if other_cv2:
        return ("warn", f"a GUI build of OpenCV is installed ({', '.join(other_cv2)}); it bundles Qt and breaks PySide6",
                "reinstall with scripts/run (only opencv-python-headless must be present)")
    return "ok", f"PySide6 present; platform plugin {'offscreen' if qpa.startswith('offscreen') else (qpa or 'default')}", None


def _dist_installed(name: str) -> bool:
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        distribution(name)
        return True
    except PackageNotFoundError:
        return False


def _display_check() -> tuple[str, str, str | None]:
    if sys.platform in ("win32", "darwin"):
        return "ok", f"{sys.platform} desktop", None
    disp = os.environ.get("DISPLAY")
    if not disp:
        if os.environ.get("WAYLAND_DISPLAY"):
            return ("warn", "Wayland without $DISPLAY: window capture needs XWayland windows",
                    "run the call app under XWayland, or capture a screen region")
        return ("warn", "no display ($DISPLAY is not set): the GUI and window capture are unavailable; "
                "`analyze` still works", "run on a desktop session, or `xvfb-run interview-guard gui`")
    try:
        from interview_guard.capture.x11_windows import list_windows, candidate_call_windows

        wins = list_windows()
        calls = candidate_call_windows()
        names = ", ".join(w.title for w in calls[:3]) or "none"
        return "ok", f"X display {disp}: {len(wins)} windows, call windows: {names}", None
    except Exception as e:  # noqa: BLE001 - report any failure as a hint
        return "warn", f"X display {disp} not usable ({e})", "check $DISPLAY and xhost permissions"


def _audio_check() -> list[tuple[str, str, str, str | None]]:
    out = []
    try:
        import sounddevice as sd  # noqa: F401
    except OSError as e:
        return [("FAIL", "audio", f"PortAudio library missing ({e})", "sudo apt-get install libportaudio2")]
    try:
        from interview_guard.capture.audio_devices import list_audio_devices, loopback_available

        devs = list_audio_devices()
        inputs = [d for d in devs if getattr(d, "max_input_channels", 0) > 0] if devs and not isinstance(devs[0], dict) \
            else [d for d in devs if d.get("max_input_channels", 0) > 0]
        out.append(("ok" if inputs else "warn", "audio devices", f"{len(devs)} devices, {len(inputs)} with input",
                    "start PulseAudio/PipeWire (`pulseaudio --start`) or plug in a microphone"))
        ok, detail = loopback_available()
        out.append(("ok" if ok else "warn", "call-audio loopback", detail,
                    "use PulseAudio/PipeWire: the call's output sink needs a monitor source "
                    "(`pactl list short sources | grep monitor`)"))
    except Exception as e:  # noqa: BLE001
        out.append(("warn", "audio", f"could not list audio devices ({e})", "start PulseAudio or PipeWire"))
    return out


def run_doctor() -> int:
    hard_fail = False
    frozen = getattr(sys, "frozen", False)
    _line("ok", "interview-guard", f"{_version()} on Python {platform.python_version()} "
          f"({'frozen bundle' if frozen else 'source install'}, {sys.executable})")
    for mod in ("numpy", "cv2", "mediapipe", "av", "onnxruntime"):
        if importlib.util.find_spec(mod) is None:
            _line("FAIL", mod, "not importable", "run scripts/run to (re)create the venv")
            hard_fail = True
    status, detail, fix = _qt_check()
    _line(status, "Qt", detail, fix)
    status, detail, fix = _display_check()
    _line(status, "display", detail, fix)
    for status, name, detail, fix in _audio_check():
        _line(status, name, detail, fix)
        hard_fail = hard_fail or False
    try:
        from interview_guard.perception.model_store import ModelStore

        store = ModelStore()
        where = "$IG_MODELS_DIR" if os.environ.get("IG_MODELS_DIR") else (
            "inside the frozen bundle" if frozen else "in the source tree")
        _line("ok", "models folder", f"{store.dir} ({where}; {len(store.rows)} models in its manifest.json)")
        for mid, path, err in store.verify_all():
            if err:
                _line("FAIL", f"model {mid}", err, "git checkout -- models/  (or reinstall)")
                hard_fail = True
            else:
                _line("ok", f"model {mid}", f"{path} sha256 verified")
    except Exception as e:  # noqa: BLE001
        _line("FAIL", "models", str(e), "git checkout -- models/  (or reinstall)")
        hard_fail = True
    # permissions: the output folder and numba's cache (librosa JIT) must be writable
    from interview_guard.cli.main import default_out_dir

    out = default_out_dir("x").parent
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out):
            pass
        _line("ok", "output folder", f"{out} is writable")
    except OSError as e:
        _line("warn", "output folder", f"{out} is not writable ({e.strerror})", "pass --out DIR to analyze/live")
    return 1 if hard_fail else 0


def _version() -> str:
    from interview_guard import __version__

    return __version__
