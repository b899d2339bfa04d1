"""Measure the voice detectors on ../shared/corpus, honestly.

Sections (all by default; pick with flags):

``--loso``     The voice countermeasure, **leave-one-system-out**: for every fake system and every
               speaker-disjoint real fold, the recipe of ``training/train_voice_model.py`` is
               retrained without that system and those speakers, and scores the held-out files.
               File score = mean window logit over VAD-speech windows (4 s, hop 1 s, from 2 s of
               speech on — what the detector emits; files with < 2 s of speech are not scored, and
               their number is reported). EER/AUC per system, per family (VC, TTS) and per real
               source, clean and after an Opus 24 kbps round trip of both classes (both trained
               on), and through random channels of both classes that the models never trained on
               (AAC/MP3/Opus 16-32 kbps, some low-passed: "unseen channels"). Reuses the
               training caches (``.cache/ig-voice``); ``--from FILE`` re-reads a saved run.
``--shipped``  The shipped ``models/voice_cm.onnx`` through the real ``voice_synthetic`` detector
               (16 kHz, 0.1-s chunks, no padding) on every corpus speech file, clean and after
               Opus 24 kbps. **In-sample** for the corpus fakes and reals (the shipped model was
               trained on all of them): a sanity check of the runtime path, not a generalisation
               figure.
``--speaker``  Speaker change: false flags per hour of speech on single-speaker real audio (both
               recordings of each Tortoise reference voice back to back, and each FreeVC-demo real
               file), and the speech time from a splice (voice A's two recordings, then voice B) to
               the flag, over all ordered voice pairs (subsampled with ``--pairs``).

    python bench/measure_voice.py [--loso|--shipped|--speaker] [--out bench/results/voice.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from interview_guard.core.types import NS_PER_S, AudioChunk  # noqa: E402
from interview_guard.detectors.contract import Window  # noqa: E402

RATE = 16000


def _fmt(m: dict | None) -> str:
    if not m or m.get("eer") is None:
        return "   n/a          "
    return f"EER {m['eer'] * 100:5.1f} %  AUC {m['auc']:.3f}  ({m['n_real']} real / {m['n_fake']} fake)"


def print_loso(summary: dict) -> None:
    for title, key in (("per family (held-out systems pooled)", "per_family"), ("per held-out system", "per_system"),
                       ("per real source", "per_real_source"), ("DSP fakes of held-out speakers", "dsp_kinds")):
        print(f"\n  {title}:")
        for name, d in sorted(summary.get(key, {}).items()):
            line = f"    {name:24s} clean {_fmt(d.get('clean'))}   opus24 {_fmt(d.get('opus24'))}"
            if d.get("rand"):
                line += f"   unseen channels {_fmt(d.get('rand'))}"
            print(line)


def run_loso(args) -> dict:
    from interview_guard.training import train_voice_model as T
    from interview_guard.training.voice_data import speech_items

    if args.from_file:
        data = json.loads(Path(args.from_file).read_text())
        summary = T.summarize(data["records"])
        return {"summary": summary, "source": str(args.from_file), "records": len(data["records"])}
    cfg = T.Config()
    items = speech_items()
    tab = T.build_table(items, cfg, workers=args.workers)
    t0 = time.time()
    lo = T.run_loso(tab, items, cfg)
    coverage = _coverage(items, lo["records"])
    out = {"summary": lo["summary"], "models": lo["models"], "seconds": round(time.time() - t0, 1),
           "calibration": lo["calibration"], "coverage": coverage}
    if args.save_records:
        Path(args.save_records).write_text(json.dumps({**out, "records": lo["records"]}, indent=1))
    return out


def _coverage(items, records) -> dict:
    scored = {(r["base"]) for r in records if r["kind"] in ("real", "corpus_fake") and r["variant"] == "clean"}
    out = {}
    for fam in ("real", "vc", "tts"):
        files = [i for i in items if i.family == fam]
        out[fam] = {"files": len(files), "scored": sum(1 for i in files if i.stem in scored),
                    "short_files_lt2s": sum(1 for i in files if i.duration_s < 2.0)}
    return out


def run_shipped(args) -> dict:
    from interview_guard.detectors.voice_synthetic import VoiceSyntheticDetector
    from interview_guard.training.train_voice_model import eer, roc_auc
    from interview_guard.training.voice_data import load_audio, speech_items
    from interview_guard.training.voice_fakes import codec_roundtrip

    det = VoiceSyntheticDetector()
    rows = []
    for it in speech_items():
        x = load_audio(it)
        for variant in ("clean", "opus24"):
            y = x if variant == "clean" else codec_roundtrip(x, "opus24")
            det.reset()
            llrs = []
            for k in range(0, len(y), RATE // 10):
                c = AudioChunk(k * NS_PER_S // RATE, y[k:k + RATE // 10], RATE)
                ev = det.process(Window(t_ns=c.t_ns + c.duration_ns, audio=c))
                if ev is not None and ev.quality > 0:
                    llrs.append(ev.details.get("logit", ev.llr))
            rows.append({"file": it.rel, "family": it.family, "system": it.system, "source": it.source,
                         "variant": variant, "score": float(np.mean(llrs)) if llrs else None})
    out: dict = {"note": "in-sample: the shipped model was trained on these files", "per_family": {}}
    for variant in ("clean", "opus24"):
        real = [r["score"] for r in rows if r["variant"] == variant and r["family"] == "real" and r["score"] is not None]
        for fam in ("vc", "tts"):
            fake = [r["score"] for r in rows if r["variant"] == variant and r["family"] == fam and r["score"] is not None]
            out["per_family"].setdefault(fam, {})[variant] = {
                "eer": round(eer(np.array(real), np.array(fake)), 4), "auc": round(roc_auc(np.array(real), np.array(fake)), 4),
                "n_real": len(real), "n_fake": len(fake)}
    out["unscored_files"] = sorted({r["file"] for r in rows if r["score"] is None})
    return out


def _feed_speaker(det, x: np.ndarray) -> list:
    out = []
    for k in range(0, len(x), RATE // 10):
        c = AudioChunk(k * NS_PER_S // RATE, x[k:k + RATE // 10], RATE)
        ev = det.process(Window(t_ns=c.t_ns + c.duration_ns, audio=c))
        if ev is not None:
            out.append(ev)
    return out


def run_speaker(args) -> dict:
    from interview_guard.detectors.speaker_change import SpeakerChangeDetector
    from interview_guard.perception.vad import CHUNK, speech_flags, speech_probs
    from interview_guard.training.voice_data import load_audio, speech_items

    items = [i for i in speech_items() if i.family == "real"]
    voices: dict[str, np.ndarray] = {}
    for it in sorted(items, key=lambda i: i.rel):
        if it.group.startswith("voice:") or it.group.startswith("spk:") or it.group == "jfk":
            voices[it.group] = np.concatenate([voices.get(it.group, np.zeros(0, np.float32)), load_audio(it)])
    det = SpeakerChangeDetector()
    speech_s = 0.0
    false = []
    for g, x in voices.items():
        det.reset()
        evs = _feed_speaker(det, x)
        speech_s += float(speech_flags(speech_probs(x)).sum()) * CHUNK / RATE
        flags = [e for e in evs if e.code in ("voice_changed", "two_voices")]
        if flags:
            false.append({"voice": g, "codes": [e.code for e in flags]})
    hours = speech_s / 3600
    long_voices = [g for g, x in voices.items() if len(x) >= 20 * RATE]
    rng = np.random.default_rng(0)
    pairs = [(a, b) for a in long_voices for b in long_voices if a != b]
    if args.pairs and len(pairs) > args.pairs:
        pairs = [pairs[i] for i in sorted(rng.choice(len(pairs), args.pairs, replace=False))]
    delays, missed = [], []
    for a, b in pairs:
        xa, xb = voices[a][: 30 * RATE], voices[b][: 25 * RATE]
        x = np.concatenate([xa, xb])
        det.reset()
        evs = _feed_speaker(det, x)
        t_change = len(xa) / RATE
        hit = [e for e in evs if e.code == "voice_changed" and e.t_end_ns / NS_PER_S > t_change]
        early = [e for e in evs if e.code == "voice_changed" and e.t_end_ns / NS_PER_S <= t_change]
        if not hit or early:
            missed.append({"a": a, "b": b, "early": bool(early)})
            continue
        t_flag = hit[0].t_end_ns / NS_PER_S
        sp = speech_flags(speech_probs(x))
        i0, i1 = int(t_change * RATE / CHUNK), int(t_flag * RATE / CHUNK)
        delays.append(float(sp[i0:i1].sum()) * CHUNK / RATE)
    return {"single_speaker_tracks": len(voices), "speech_hours": round(hours, 3),
            "false_flags": len(false), "false_flags_per_hour": round(len(false) / hours, 2) if hours else None,
            "false_flag_tracks": false,
            "splices": len(pairs), "detected": len(delays), "missed_or_early": missed,
            "speech_s_to_flag": {"median": round(float(np.median(delays)), 2) if delays else None,
                                 "p90": round(float(np.percentile(delays, 90)), 2) if delays else None,
                                 "max": round(float(np.max(delays)), 2) if delays else None,
                                 "within_15s": round(float(np.mean(np.array(delays) <= 15.0)), 3) if delays else None}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loso", action="store_true")
    ap.add_argument("--shipped", action="store_true")
    ap.add_argument("--speaker", action="store_true")
    ap.add_argument("--from", dest="from_file", default=None, help="re-summarise a saved LOSO run (voice_cm_loso.json)")
    ap.add_argument("--save-records", default=None)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pairs", type=int, default=60, help="splice pairs to test (0 = all)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "voice.json"))
    a = ap.parse_args()
    if not (a.loso or a.shipped or a.speaker):
        a.loso = a.shipped = a.speaker = True
    res: dict = {}
    if a.loso:
        print("voice countermeasure, leave-one-system-out:")
        res["loso"] = run_loso(a)
        print_loso(res["loso"]["summary"])
        if "coverage" in res["loso"]:
            print(f"  coverage (files with >= 2 s speech are scored): {res['loso']['coverage']}")
    if a.shipped:
        print("\nshipped voice_cm.onnx through the detector (IN-SAMPLE):")
        res["shipped"] = run_shipped(a)
        for fam, d in res["shipped"]["per_family"].items():
            print(f"    {fam:6s} clean {_fmt(d['clean'])}   opus24 {_fmt(d['opus24'])}")
    if a.speaker:
        print("\nspeaker change:")
        res["speaker"] = run_speaker(a)
        print(json.dumps(res["speaker"], indent=1))
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
