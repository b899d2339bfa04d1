"""How band-limited channels move the voice countermeasure on genuine speech, and what the
``voice_synthetic`` channel gate (``band_limits``) leaves.

For every corpus speech file with >= 2 s of VAD speech: its first 4 s of speech, clean and through
a channel (8th-order low-pass at 4, 5.5 and 7 kHz; MP3 32 kbps; Opus 24 kbps; the codecs via PyAV),
scored by the shipped ``models/voice_cm.onnx`` (LLR as the detector computes it) and gated as the
detector gates it. Prints, per family (real/vc/tts) and channel: the share the gate pauses, and of
the windows still judged the share with LLR > 1. In-sample for the model (it trained on these
files): this measures the channel effect and the gate, not generalisation.

    OMP_NUM_THREADS=1 .venv/bin/python bench/voice_channel_gate.py
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.detectors.voice_synthetic import VoiceSyntheticConfig, band_limits  # noqa: E402
from interview_guard.perception.vad import speech_mask  # noqa: E402
from interview_guard.perception.voice_cm import VoiceCM  # noqa: E402
from interview_guard.training import voice_data as vd  # noqa: E402
from interview_guard.training import voice_fakes as vf  # noqa: E402

RATE = 16000
CHANNELS = {
    "clean": lambda x: x,
    "lowpass_4k": lambda x: vf.lowpass(x, 4000),
    "lowpass_5.5k": lambda x: vf.lowpass(x, 5500),
    "lowpass_7k": lambda x: vf.lowpass(x, 7000),
    "mp3_32k": lambda x: vf.codec_roundtrip(x, "mp3"),
    "opus_24k": lambda x: vf.codec_roundtrip(x, "opus24"),
}


def main() -> int:
    cfg = VoiceSyntheticConfig()
    cm = VoiceCM()
    res: dict[tuple[str, str], list[tuple[bool, float]]] = defaultdict(list)
    for it in vd.speech_items():
        x = vd.load_audio(it)
        m = speech_mask(x)
        if m.sum() < 2 * RATE:
            continue
        s = x[m][: 8 * RATE]
        for ch, fn in CHANNELS.items():
            w = np.asarray(fn(s), np.float32)[: 4 * RATE]
            drop, top = band_limits(w)
            paused = cfg.line_limit(drop, top) is not None
            res[(it.family, ch)].append((paused, cm.llr(cm.score(w))))
    print(f"{'family':6s} {'channel':13s} {'files':>5s} {'paused':>7s} {'LLR>1 before gate':>18s} "
          f"{'LLR>1 of judged':>16s}")
    for (fam, ch), v in sorted(res.items()):
        paused = np.array([p for p, _ in v])
        llr = np.array([q for _, q in v])
        judged = llr[~paused]
        after = f"{100 * (judged > 1).mean():15.0f}%" if judged.size else f"{'-':>16s}"
        print(f"{fam:6s} {ch:13s} {len(v):5d} {100 * paused.mean():6.0f}% {100 * (llr > 1).mean():17.0f}% {after}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
