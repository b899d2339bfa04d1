"""Source specs → sources: parsing, the demo clip's location, platform stubs, error paths."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from interview_guard.capture import factory
from interview_guard.capture.factory import (
    Spec,
    demo_path,
    open_audio_source,
    open_video_source,
    parse_audio_spec,
    parse_video_spec,
)
from interview_guard.capture.recording import RecordingAudioSource, RecordingVideoSource
from interview_guard.core.errors import ConfigError, IGError, SourceError
from interview_guard.core.types import AudioChunk, SourceEventKind, VideoFrame

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec, expected", [
    ("window:Zoom Meeting", Spec("window", "Zoom Meeting")),
    ("window: Meet - abc-defg-hij ", Spec("window", "Meet - abc-defg-hij")),
    ("Window:teams", Spec("window", "teams")),
    ("window", Spec("window", "")),
    ("screen", Spec("screen", "")),
    ("screen:2", Spec("screen", "2")),
    ("screen:monitor1", Spec("screen", "1")),
    ("screen:10, 20 ,1280,720", Spec("screen", "10,20,1280,720")),
    ("screen:-1920,0,1920,1080", Spec("screen", "-1920,0,1920,1080")),
    ("camera", Spec("camera", "0")),
    ("camera:3", Spec("camera", "3")),
    ("file:/tmp/x.mp4", Spec("file", "/tmp/x.mp4")),
    ("file:C:\\calls\\x.mp4", Spec("file", "C:\\calls\\x.mp4")),
    ("demo", Spec("demo", "")),
])
def test_parse_video_spec(spec, expected):
    assert parse_video_spec(spec) == expected


@pytest.mark.parametrize("spec, expected", [
    ("loopback", Spec("loopback", "")),
    ("loopback:call", Spec("loopback", "call")),
    ("loopback:alsa_output.pci-0000_00_1f.3.analog-stereo", Spec("loopback", "alsa_output.pci-0000_00_1f.3.analog-stereo")),
    ("mic", Spec("mic", "")),
    ("mic:2", Spec("mic", "2")),
    ("mic:USB Headset", Spec("mic", "USB Headset")),
    ("file:/tmp/a.wav", Spec("file", "/tmp/a.wav")),
    ("none", Spec("none", "")),
    ("NONE", Spec("none", "")),
    ("demo", Spec("demo", "")),
])
def test_parse_audio_spec(spec, expected):
    assert parse_audio_spec(spec) == expected


@pytest.mark.parametrize("spec, fragment", [
    ("", "empty video source"),
    ("webcam:0", "unknown video source 'webcam:0'"),
    ("screen:1,2,3", "bad screen region"),
    ("screen:a,b,c,d", "bad screen region"),
    ("camera:front", "bad camera index"),
    ("camera:-1", "bad camera index"),
    ("file:", "file: needs a path"),
    ("demo:x", "demo takes no argument"),
])
def test_bad_video_specs(spec, fragment):
    with pytest.raises(ConfigError) as ei:
        parse_video_spec(spec)
    assert fragment in str(ei.value)
    assert ei.value.hint  # says what is valid


@pytest.mark.parametrize("spec, fragment", [
    ("speakers", "unknown audio source 'speakers'"),
    ("none:x", "none takes no argument"),
    ("file:", "file: needs a path"),
])
def test_bad_audio_specs(spec, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_audio_spec(spec)
    with pytest.raises(IGError):
        open_audio_source(spec)


def test_demo_path_is_in_repo_assets():
    assert demo_path() == REPO_ROOT / "assets" / "demo_interview.mp4"
    assert factory.ASSETS_DIR == REPO_ROOT / "assets"


def test_demo_opens_or_says_it_is_missing():
    if demo_path().is_file():
        src = open_video_source("demo")
        try:
            assert isinstance(src, RecordingVideoSource) and src.name == "demo"
            assert isinstance(next(iter(src)), VideoFrame)
        finally:
            src.close()
    else:
        with pytest.raises(SourceError, match="the demo clip is missing") as ei:
            open_video_source("demo")
        assert str(demo_path()) in str(ei.value)


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """A 10-frame 64x48 mp4 with a 1 s sine audio track, written with PyAV."""
    import av

    path = tmp_path_factory.mktemp("clips") / "tiny.mp4"
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=10)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        aus = c.add_stream("aac", rate=16000)
        aus.layout = "mono"
        for i in range(10):
            img = np.full((48, 64, 3), i * 20, np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        t = np.arange(16000) / 16000
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
        for k in range(0, 16000, 1024):
            fr = av.AudioFrame.from_ndarray(samples[:, k:k + 1024], format="flt", layout="mono")
            fr.sample_rate = 16000
            fr.pts = k
            fr.time_base = Fraction(1, 16000)
            for p in aus.encode(fr):
                c.mux(p)
        for p in aus.encode():
            c.mux(p)
    return path


def test_file_specs_open_recordings(tiny_clip):
    for spec in (f"file:{tiny_clip}", str(tiny_clip)):  # a bare existing path works too
        src = open_video_source(spec, clock=object(), fps=5)  # live-only options are ignored for files
        items = list(src)
        frames = [i for i in items if isinstance(i, VideoFrame)]
        assert len(frames) == 10 and frames[0].image.shape == (48, 64, 3)
        assert items[-1].kind is SourceEventKind.ENDED
    a = open_audio_source(f"file:{tiny_clip}", block_s=0.25)
    assert isinstance(a, RecordingAudioSource)
    chunks = [c for c in a if isinstance(c, AudioChunk)]
    assert chunks and chunks[0].sample_rate == 16000 and len(chunks[0].samples) == 4000
    assert open_audio_source("none") is None


def test_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(IGError, match="does not exist"):
        open_video_source(f"file:{tmp_path / 'nope.mp4'}")


def test_camera_that_does_not_exist():
    with pytest.raises(SourceError) as ei:
        open_video_source("camera:57")
    msg = str(ei.value)
    assert "no camera 57" in msg or "camera 57 cannot be opened" in msg
    assert ei.value.hint


def test_window_spec_without_display(monkeypatch):
    if sys.platform != "linux":
        pytest.skip("X11 path")
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(SourceError, match=r"no X display \(\$DISPLAY is not set\)"):
        open_video_source("window:Zoom Meeting")
    with pytest.raises(SourceError, match=r"no X display"):
        open_video_source("screen")


def test_window_and_screen_specs_on_xvfb(xvfb_display):
    with pytest.raises(SourceError, match="no open window has a title containing 'Zoom Meeting'"):
        open_video_source("window:Zoom Meeting", display=xvfb_display)
    src = open_video_source("screen:0,0,320,240", display=xvfb_display, fps=20)
    assert src.name == "screen:0,0,320,240"
    first = next(iter(src))
    src.close()
    assert isinstance(first, VideoFrame) and first.image.shape == (240, 320, 3)
    whole = open_video_source("screen", display=xvfb_display)
    assert whole.region == (0, 0, 1920, 1080)
    with pytest.raises(SourceError, match="no monitor 4"):
        open_video_source("screen:4", display=xvfb_display)


@pytest.mark.skipif(sys.platform == "win32", reason="checks the non-Windows stub")
def test_windows_backends_refuse_elsewhere():
    from interview_guard.capture import platform_windows as pw

    with pytest.raises(SourceError, match="only available on Windows"):
        pw.WindowsWindowVideoSource("Zoom Meeting")
    with pytest.raises(SourceError, match="only available on Windows"):
        pw.WasapiLoopbackAudioSource()
    with pytest.raises(SourceError, match="only available on Windows"):
        pw.list_windows()
    assert not pw.loopback_status()


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the non-macOS stub")
def test_macos_backends_refuse_elsewhere():
    from interview_guard.capture import platform_macos as pm

    with pytest.raises(SourceError, match="only available on macOS"):
        pm.MacWindowVideoSource("Zoom Meeting")
    with pytest.raises(SourceError, match="only available on macOS"):
        pm.MacLoopbackAudioSource()
    with pytest.raises(SourceError, match="only available on macOS"):
        pm.list_windows()
    assert not pm.loopback_status()
