"""Call audio end to end in the app: speech played into a PulseAudio null sink (what a call app
does) is captured by the loopback source of a live session and its voice checks show up in the
main window's notes and counters. Offscreen Qt; a private PulseAudio daemon (tests/helpers/pulse.py)."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

pytest.importorskip("PySide6.QtWidgets")

from interview_guard.ui.main_window import MainWindow  # noqa: E402

pytestmark = [
    pytest.mark.gui,
    pytest.mark.corpus,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"),
]

SPEECH = "audio_real_speech/tortoise_ref_geralt_1.flac"
VOICE_CHECKS = {"voice_synthetic", "speaker_change"}


@pytest.fixture
def speech_wav(corpus, tmp_path):
    import soundfile as sf

    from interview_guard.capture.recording import read_audio

    x = read_audio(corpus(SPEECH), 16000)[: 12 * 16000]
    path = tmp_path / "speech.wav"
    sf.write(path, x, 16000, subtype="PCM_16")
    return path


def test_call_audio_reaches_the_notes(qtbot, pulse_server, speech_wav, monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_SERVER", pulse_server.server)
    win = MainWindow(config_dir=tmp_path / "cfg", recordings_dir=tmp_path / "rec", recording=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.audio_spec = "loopback:call"
    try:
        assert win.start_source("demo"), win.last_error
        qtbot.waitUntil(lambda: win.session is not None and win.session.started, timeout=30000)
        assert win.session.audio_source is not None and "call" in win.session.audio_note
        player = pulse_server.play(speech_wav, sink="call")
        qtbot.waitUntil(lambda: bool(VOICE_CHECKS & {e.detector for e in win.evidence_list.evidence_items()}),
                        timeout=40000)
        player.wait(timeout=30)
        st = win.session.stats()
        assert st.audio_s >= 3.0 and st.audio.startswith("loopback")
        qtbot.waitUntil(lambda: "heard" in win.counters.sound.text(), timeout=5000)
        heard = {e.detector for e in win.evidence_list.evidence_items()} & VOICE_CHECKS
        print(f"\ncall audio in the app: {st.audio_s:.1f} s heard, {st.audio_dropped} chunks skipped; "
              f"voice notes from {sorted(heard)}")
    finally:
        win.shutdown()
