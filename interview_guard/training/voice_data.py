"""Corpus speech for the voice countermeasure: items, speaker groups, fake systems, folds, caches.

Items come from ``MANIFEST.tsv`` rows labelled ``audio_real_speech``, ``audio_fake_vc`` and
``audio_fake_tts``; files are read from the corpus (never copied into the repo) and cached as
16 kHz float32 under ``.cache/ig-voice`` (``$IG_VOICE_CACHE``).

* ``group`` (real files): the speaker — a Tortoise reference voice (``tortoise_ref_<voice>_<n>``),
  a VCTK/LibriTTS speaker of the FreeVC demo (``freevcdemo_real_<F|M>_<spk>_…``), all pyannote
  meeting excerpts together (speakers may repeat), JFK. Real folds split *groups*, so a speaker is
  never on both sides.
* ``system`` (fake files), from the file name: VC ``bne-ppg-vc``, ``freevc`` (FreeVC and its -s/-sr
  variants count as one system: same architecture), ``vqmivc``, ``yourtts``; TTS ``tortoise``,
  ``naturalspeech``, ``tacotron2``, ``chattts``. Leave-one-system-out holds out one of these.
* ``source``: the repository the file came from (``freevc-demo``, ``tortoise``, ``pyannote``,
  ``whisper``, ``vexpress``), for per-source reporting.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
LABELS = ("audio_real_speech", "audio_fake_vc", "audio_fake_tts")
FAMILY = {"audio_real_speech": "real", "audio_fake_vc": "vc", "audio_fake_tts": "tts"}
VC_SYSTEMS = ("bne-ppg-vc", "freevc", "vqmivc", "yourtts")
TTS_SYSTEMS = ("tortoise", "naturalspeech", "tacotron2", "chattts")
SYSTEMS = VC_SYSTEMS + TTS_SYSTEMS
N_REAL_FOLDS = 4
FOLD_SALT = "ig-voice-v1"


def corpus_root() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def cache_root() -> Path:
    return Path(os.environ.get("IG_VOICE_CACHE", REPO / ".cache" / "ig-voice"))


@dataclass(frozen=True)
class SpeechItem:
    rel: str
    label: str
    family: str      # real | vc | tts
    system: str      # "" for real files
    group: str       # speaker group (real) / target voice (fake, informational)
    source: str
    duration_s: float

    @property
    def path(self) -> Path:
        return corpus_root() / self.rel

    @property
    def stem(self) -> str:
        return Path(self.rel).stem

    @property
    def is_fake(self) -> bool:
        return self.family != "real"


def system_of(rel: str) -> str:
    """The fake system a corpus file comes from (see module doc); "" if unknown."""
    name = Path(rel).stem
    m = re.match(r"freevcdemo_([a-z0-9-]+?)_(s2s|u2s|u2u)_", name)
    if m:
        s = m.group(1)
        return "freevc" if s.startswith("freevc") else s
    if name.startswith("tortoise_tts_"):
        return "tortoise"
    if name.startswith("tortoise_cmp_"):
        for s in ("naturalspeech", "tacotron2", "tortoise"):
            if name.endswith(s):
                return s
    if "chattts" in name:
        return "chattts"
    return ""


def group_of(rel: str) -> str:
    name = Path(rel).stem
    m = re.match(r"tortoise_(?:ref|tts)_(.+?)_(?:\d+|rolling_stone_review|spacecraft_interview)$", name)
    if m:
        return f"voice:{m.group(1)}"
    m = re.match(r"freevcdemo_real_[FM]_(p\d+|\d+)_", name)
    if m:
        return f"spk:{m.group(1)}"
    if name.startswith("pyannote"):
        return "pyannote"
    if "jfk" in name:
        return "jfk"
    m = re.match(r"freevcdemo_.+?_(?:s2s|u2s|u2u)_.+-[FM]_(p\d+|\d+)_", name)
    if m:
        return f"spk:{m.group(1)}"
    return f"file:{name}"


def source_of(row: dict) -> str:
    repo = row.get("source_repo", "")
    return {"OlaWod/FreeVC-demo": "freevc-demo", "neonbjb/tortoise-tts": "tortoise",
            "pyannote/pyannote-audio": "pyannote", "openai/whisper": "whisper",
            "tencent-ailab/V-Express": "vexpress"}.get(repo, repo.split("/")[-1] or "unknown")


def manifest_rows(root: Path | None = None) -> list[dict]:
    root = root or corpus_root()
    with open(root / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def speech_items(root: Path | None = None) -> list[SpeechItem]:
    out = []
    for r in manifest_rows(root):
        if r["label"] not in LABELS:
            continue
        fam = FAMILY[r["label"]]
        sysname = system_of(r["file"]) if fam != "real" else ""
        if fam != "real" and not sysname:
            raise ValueError(f"no system key for {r['file']}")
        out.append(SpeechItem(rel=r["file"], label=r["label"], family=fam, system=sysname, group=group_of(r["file"]),
                              source=source_of(r), duration_s=float(r.get("duration_s") or 0.0)))
    return out


def real_fold(group: str, k: int = N_REAL_FOLDS) -> int:
    """Fixed fold of a real speaker group (hash), so splits never depend on file order."""
    return zlib.crc32(f"{FOLD_SALT}:{group}".encode()) % k


def balanced_real_folds(items: list[SpeechItem], k: int = N_REAL_FOLDS) -> dict[str, int]:
    """Group → fold, balancing speech seconds per fold within each source (greedy, seeded by
    hash order). Deterministic."""
    reals = [i for i in items if i.family == "real"]
    dur: dict[tuple[str, str], float] = {}
    for it in reals:
        dur[(it.source, it.group)] = dur.get((it.source, it.group), 0.0) + it.duration_s
    fold_of: dict[str, int] = {}
    load = np.zeros(k)
    by_source: dict[str, list[tuple[str, float]]] = {}
    for (src, g), d in dur.items():
        by_source.setdefault(src, []).append((g, d))
    for src in sorted(by_source):
        groups = sorted(by_source[src], key=lambda gd: (-gd[1], zlib.crc32(f"{FOLD_SALT}:{gd[0]}".encode())))
        src_load = np.zeros(k)
        for g, d in groups:
            order = np.lexsort((load, src_load))
            f = int(order[0])
            fold_of[g] = f
            src_load[f] += d
            load[f] += d
    return fold_of


def _cache_file(kind: str, key: str, ext: str = ".npy") -> Path:
    p = cache_root() / kind / (re.sub(r"[^A-Za-z0-9_.+-]", "_", key) + ext)
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def load_audio(item: SpeechItem) -> np.ndarray:
    """16 kHz mono float32 of a corpus file (cached)."""
    p = _cache_file("audio", item.stem)
    if p.is_file():
        return np.load(p)
    from interview_guard.capture.recording import read_audio

    x = read_audio(item.path, 16000).astype(np.float32)
    np.save(p, x)
    return x


def cached(kind: str, key: str, make) -> np.ndarray:
    p = _cache_file(kind, key)
    if p.is_file():
        try:
            return np.load(p)
        except (OSError, ValueError):
            pass
    x = make()
    tmp = p.with_suffix(".tmp-write.npy")
    np.save(tmp, x)
    tmp.replace(p)
    return x


def stable_seed(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:4], "little")
