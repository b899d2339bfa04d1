"""Clip-level scores per detector, computed by the real pipeline and cached on disk.

How a clip becomes a score
--------------------------
* **Video / image** clips are decoded with ``RecordingVideoSource`` at ``sample_fps`` (an image
  is a one-frame clip). Each frame goes through the Analyzer's perception and every selected
  video detector (same ``Window`` as ``Analyzer.on_frame``). A fresh perceiver is made per clip,
  so MediaPipe's face tracking never carries over between clips and results do not depend on
  clip order or on which worker scored a clip. Detectors are created once per worker and
  ``reset()`` per clip (the contract says reset gives the same outputs as new).
  ``av`` detectors also get the clip's audio track, interleaved by time.
* **Audio** clips are decoded with ``RecordingAudioSource`` (16 kHz mono, channel mean, 0.1 s
  chunks as in live capture), **no padding or repetition**: the detectors own their windowing
  and must abstain on too little speech. Only detectors of modality ``audio``/``av`` run.
* Per detector, the clip score is the **mean llr** over its ``risk`` evidence with
  ``quality > 0``; ``trimmed`` is the 20 %-trimmed mean (robust to a few wild frames) and
  ``median`` the median. A detector that gave no such evidence on the clip has **no score**
  (NaN): the report counts this as lost coverage and never imputes it.
* **Calibrated** per-detector values: every risk Evidence also goes through the product's
  calibration table (``fusion.Calibration``, ``models/calibration.json`` or ``$IG_CALIBRATION``):
  the same map, quality gate and clipping the live fusion applies. ``cal_mean`` / ``cal_trimmed``
  / ``cal_median`` aggregate those calibrated LLRs; ``cal_weight`` is the detector's correlation
  weight in the fusion.
* **Fused** score (``ClipScore.fused``) = Σ over the detectors that scored of ``cal_weight ·
  cal_mean``: the clip-level evidence the live fusion accumulates (NaN when no detector scored).
  ``ClipScore.fused_naive`` is the plain sum of the raw mean llrs, reported beside it so the
  effect of the calibration can be seen. The calibration is fitted on the development corpus:
  on that corpus the fused figures are in-sample.
* ``face_size_median``: median face height in px (chin to forehead) over frames with a face;
  used for the face-size confound.

A detector that raises is disabled for the rest of that clip (its score is NaN and the error is
recorded); a clip that cannot be decoded is marked ``failed`` with the reason. Nothing here
raises on a bad clip.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from interview_guard.evaluation.manifest import ManifestRow

SCORING_VERSION = "2"
AUDIO_RATE = 16000
AUDIO_CHUNK_S = 0.1
TRIM = 0.2


@dataclass(frozen=True)
class ScoringConfig:
    detector_ids: tuple[str, ...]          # risk detectors to run (video and audio)
    sample_fps: float = 5.0
    max_width: int = 0
    audio_rate: int = AUDIO_RATE
    audio_chunk_s: float = AUDIO_CHUNK_S
    calibration_path: str = ""             # "" = the default table (models/calibration.json, $IG_CALIBRATION)


@dataclass
class ClipScore:
    """One clip's result. ``detectors[id]`` = {"mean", "trimmed", "median", "n", "n_abstain"} or
    absent when the detector does not apply to the clip's modality. NaN = no score."""

    key: str
    label: str
    modality: str
    status: str                      # "ok" | "failed"
    error: str | None = None
    frames: int = 0
    frames_with_face: int = 0
    face_size_median: float = math.nan
    media_duration_s: float = math.nan
    detectors: dict[str, dict] = field(default_factory=dict)
    detector_errors: dict[str, str] = field(default_factory=dict)
    wall_s: float = 0.0
    cached: bool = False

    def score(self, det_id: str, variant: str = "mean") -> float:
        d = self.detectors.get(det_id)
        if not d:
            return math.nan
        v = d.get(variant)
        return math.nan if v is None else float(v)

    def fused(self, det_ids: Iterable[str], variant: str = "mean") -> float:
        """Σ cal_weight · calibrated ``variant`` over the detectors that scored (NaN if none)."""
        vals = []
        for i in det_ids:
            v = self.score(i, f"cal_{variant}")
            if math.isfinite(v):
                vals.append(float(self.detectors[i].get("cal_weight", 1.0)) * v)
        return float(sum(vals)) if vals else math.nan

    def fused_naive(self, det_ids: Iterable[str], variant: str = "mean") -> float:
        """Plain sum of the raw ``variant`` llrs over the detectors that scored (NaN if none)."""
        vals = [self.score(i, variant) for i in det_ids]
        vals = [v for v in vals if math.isfinite(v)]
        return float(sum(vals)) if vals else math.nan

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("cached", None)
        return _nan_to_none(d)

    @classmethod
    def from_json(cls, d: dict) -> "ClipScore":
        d = dict(d)
        for k in ("face_size_median", "media_duration_s"):
            d[k] = math.nan if d.get(k) is None else float(d[k])
        dets = {}
        for k, v in (d.get("detectors") or {}).items():
            dets[k] = {kk: (math.nan if vv is None else vv) for kk, vv in v.items()}
        d["detectors"] = dets
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


def _nan_to_none(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: _nan_to_none(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_nan_to_none(v) for v in x]
    return x


# --- aggregation ---------------------------------------------------------------------------------

def trimmed_mean(x: np.ndarray, proportion: float = TRIM) -> float:
    x = np.sort(np.asarray(x, dtype=np.float64))
    if len(x) == 0:
        return math.nan
    k = int(proportion * len(x))
    core = x[k:len(x) - k] if len(x) - 2 * k > 0 else x
    return float(core.mean())


def _stats(x: list[float], prefix: str = "") -> dict[str, float]:
    a = np.asarray(x, dtype=np.float64)
    return {f"{prefix}mean": float(a.mean()) if len(a) else math.nan,
            f"{prefix}trimmed": trimmed_mean(a) if len(a) else math.nan,
            f"{prefix}median": float(np.median(a)) if len(a) else math.nan}


def aggregate(evidence: Iterable, det_ids: Iterable[str], *,
              calibrate: Callable[[object], float | None] | None = None,
              weights: dict[str, float] | None = None) -> dict[str, dict]:
    """Per detector: mean / trimmed / median llr over its risk evidence with quality > 0; with
    ``calibrate`` (Evidence → calibrated LLR, None = abstains) also ``cal_mean`` / ``cal_trimmed`` /
    ``cal_median`` / ``cal_n`` over the calibrated values and ``cal_weight`` from ``weights``."""
    ids = list(det_ids)
    llrs: dict[str, list[float]] = {i: [] for i in ids}
    cal: dict[str, list[float]] = {i: [] for i in ids}
    abst: dict[str, int] = {i: 0 for i in ids}
    for e in evidence:
        if e.detector not in llrs:
            continue
        if e.kind != "risk" or not (e.quality > 0) or not math.isfinite(e.llr):
            abst[e.detector] += 1
            continue
        llrs[e.detector].append(float(e.llr))
        if calibrate is not None:
            c = calibrate(e)
            if c is not None and math.isfinite(c):
                cal[e.detector].append(float(c))
    out = {}
    for i in ids:
        out[i] = {**_stats(llrs[i]), "n": len(llrs[i]), "n_abstain": int(abst[i])}
        if calibrate is not None:
            out[i].update(_stats(cal[i], "cal_"), cal_n=len(cal[i]), cal_weight=float((weights or {}).get(i, 1.0)))
    return out


# --- one worker's scorer --------------------------------------------------------------------------

class ClipScorer:
    """Scores clips one at a time; owns its detectors (and a perceiver per video clip)."""

    def __init__(self, config: ScoringConfig) -> None:
        from interview_guard.detectors import registry

        self.config = config
        self.detectors = registry.create_all(only=config.detector_ids)
        self.video_dets = [d for d in self.detectors if d.modality in ("video", "av")]
        self.audio_dets = [d for d in self.detectors if d.modality == "audio"]  # for audio-only clips
        self.av_dets = [d for d in self.detectors if d.modality == "av"]
        self.needs_hands = any("hands" in d.needs for d in self.video_dets)
        from interview_guard.fusion.calibration import Calibration

        self.calibration = Calibration.load(config.calibration_path or None)
        self._versions = {d.id: str(d.version) for d in self.detectors}
        group = {d.id: self.calibration.group(d.id, d.modality) for d in self.detectors}
        in_group = Counter(group.values())
        self._weights = {i: self.calibration.weight(i, self._versions[i], n_in_group=in_group[g])
                         for i, g in group.items()}

    def _aggregate(self, evidence: list, det_ids: list[str]) -> dict[str, dict]:
        return aggregate(evidence, det_ids, weights=self._weights,
                         calibrate=lambda e: self.calibration.calibrate(e, self._versions.get(e.detector)))

    def score(self, row: ManifestRow) -> ClipScore:
        t0 = time.perf_counter()
        modality = row.modality
        try:
            if modality in ("video", "image"):
                cs = self._score_video(row)
            elif modality == "audio":
                cs = self._score_audio(row)
            else:
                cs = ClipScore(row.key, row.label, modality, "failed", f"unknown modality for {row.file}")
        except Exception as e:  # noqa: BLE001 - one bad clip must never stop the evaluation
            cs = ClipScore(row.key, row.label, modality, "failed", _one_line(e))
        cs.wall_s = round(time.perf_counter() - t0, 3)
        return cs

    # video ------------------------------------------------------------------------------------
    def _score_video(self, row: ManifestRow) -> ClipScore:
        from interview_guard.capture.recording import RecordingVideoSource
        from interview_guard.core.types import SourceEvent, SourceEventKind, VideoFrame
        from interview_guard.detectors.contract import Window
        from interview_guard.perception.landmarks import PerceptionConfig, Perceiver

        cfg = self.config
        src = RecordingVideoSource(row.path, sample_fps=cfg.sample_fps if row.modality == "video" else 0.0,
                                   max_width=cfg.max_width)
        audio = self._read_av_audio(row) if self.av_dets else []
        for d in self.detectors:
            d.reset()
        perceiver = Perceiver(None, PerceptionConfig(hands_every=3 if self.needs_hands else 0))
        dets = list(self.video_dets)
        errors: dict[str, str] = {}
        evidence = []
        sizes: list[float] = []
        frames = 0
        error: str | None = None
        ai = 0

        def feed(det_list, win):
            for d in list(det_list):
                if d.id in errors:
                    continue
                try:
                    ev = d.process(win)
                except Exception as e:  # noqa: BLE001
                    errors[d.id] = _one_line(e)
                    continue
                if ev is not None:
                    evidence.append(ev)

        try:
            for item in src:
                if isinstance(item, SourceEvent):
                    if item.kind is SourceEventKind.ERROR:
                        error = item.message
                    break
                assert isinstance(item, VideoFrame)
                while ai < len(audio) and audio[ai].t_ns + audio[ai].duration_ns <= item.t_ns:
                    c = audio[ai]
                    feed(self.av_dets, Window(t_ns=c.t_ns + c.duration_ns, audio=c))
                    ai += 1
                obs = perceiver.observe(item)
                frames += 1
                if obs.face is not None:
                    sizes.append(obs.face.size_px)
                feed(dets, Window(t_ns=item.t_ns, observation=obs))
            for c in audio[ai:]:
                feed(self.av_dets, Window(t_ns=c.t_ns + c.duration_ns, audio=c))
        finally:
            src.close()
            perceiver.close()
        dur = (src.duration_s if src.duration_s else math.nan) if row.modality == "video" else math.nan
        if frames == 0:
            return ClipScore(row.key, row.label, row.modality, "failed",
                             error or f"{row.path.name}: no frame could be decoded", media_duration_s=dur)
        agg = self._aggregate(evidence, [d.id for d in self.video_dets])
        for i in errors:
            agg[i] = {"mean": math.nan, "trimmed": math.nan, "median": math.nan, "n": 0, "n_abstain": 0}
        return ClipScore(row.key, row.label, row.modality, "ok", error, frames=frames, frames_with_face=len(sizes),
                         face_size_median=float(np.median(sizes)) if sizes else math.nan, media_duration_s=dur,
                         detectors=agg, detector_errors=errors)

    def _read_av_audio(self, row: ManifestRow) -> list:
        from interview_guard.capture.recording import RecordingAudioSource
        from interview_guard.core.errors import InputError
        from interview_guard.core.types import AudioChunk

        try:
            src = RecordingAudioSource(row.path, sample_rate=self.config.audio_rate,
                                       chunk_s=self.config.audio_chunk_s)
            return [c for c in src if isinstance(c, AudioChunk)]
        except InputError:
            return []  # no audio track: av detectors see video only
        except Exception:  # noqa: BLE001 - a broken audio track must not lose the video scores
            return []

    # audio ------------------------------------------------------------------------------------
    def _score_audio(self, row: ManifestRow) -> ClipScore:
        from interview_guard.capture.recording import RecordingAudioSource
        from interview_guard.core.types import AudioChunk, SourceEvent, SourceEventKind
        from interview_guard.detectors.contract import Window

        cfg = self.config
        src = RecordingAudioSource(row.path, sample_rate=cfg.audio_rate, chunk_s=cfg.audio_chunk_s)
        for d in self.audio_dets:
            d.reset()
        errors: dict[str, str] = {}
        evidence = []
        n_samples = 0
        error = None
        try:
            for item in src:
                if isinstance(item, SourceEvent):
                    if item.kind is SourceEventKind.ERROR:
                        error = item.message
                    break
                assert isinstance(item, AudioChunk)
                n_samples += len(item.samples)
                win = Window(t_ns=item.t_ns + item.duration_ns, audio=item)  # as Analyzer.on_audio
                for d in self.audio_dets:
                    if d.id in errors:
                        continue
                    try:
                        ev = d.process(win)
                    except Exception as e:  # noqa: BLE001
                        errors[d.id] = _one_line(e)
                        continue
                    if ev is not None:
                        evidence.append(ev)
        finally:
            src.close()
        if n_samples == 0:
            return ClipScore(row.key, row.label, "audio", "failed", error or f"{row.path.name}: no audio decoded")
        agg = self._aggregate(evidence, [d.id for d in self.audio_dets])
        for i in errors:
            agg[i] = {"mean": math.nan, "trimmed": math.nan, "median": math.nan, "n": 0, "n_abstain": 0}
        return ClipScore(row.key, row.label, "audio", "ok", error, frames=0,
                         media_duration_s=n_samples / cfg.audio_rate, detectors=agg, detector_errors=errors)


def _one_line(e: BaseException) -> str:
    s = str(e).strip().splitlines()[0] if str(e).strip() else ""
    return f"{type(e).__name__}: {s}"[:300] if s else type(e).__name__


# --- cache ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DetectorMeta:
    id: str
    version: str
    modality: str
    kind: str
    description: str = ""


_META: dict[str, DetectorMeta] = {}


def detector_meta(det_id: str) -> DetectorMeta:
    """id, version, modality, kind of a registered detector (instantiated once per process).

    Raises whatever the detector's constructor raises (e.g. a missing model file)."""
    if det_id not in _META:
        from interview_guard.detectors import registry

        d = registry.create(det_id)
        _META[det_id] = DetectorMeta(d.id, str(d.version), d.modality, d.kind, getattr(d, "description", ""))
    return _META[det_id]


def _version_of(det_id: str) -> str:
    return detector_meta(det_id).version


_MODELS_FP: list[str] = []


def _models_fingerprint() -> str:
    """sha256 of models/manifest.json (it lists every model file's sha256); '' if unreadable."""
    if not _MODELS_FP:
        try:
            from interview_guard.perception.model_store import default_models_dir

            _MODELS_FP.append(hashlib.sha256((default_models_dir() / "manifest.json").read_bytes()).hexdigest())
        except Exception:  # noqa: BLE001
            _MODELS_FP.append("")
    return _MODELS_FP[0]


_CAL_FP: dict[str, str] = {}


def _calibration_fingerprint(path: str = "") -> str:
    """sha256 of the calibration table the scores are calibrated with ('' if there is none);
    read once per process, like the models fingerprint."""
    if path not in _CAL_FP:
        from interview_guard.fusion.calibration import default_calibration_path

        try:
            _CAL_FP[path] = hashlib.sha256(Path(path or default_calibration_path()).read_bytes()).hexdigest()
        except OSError:
            _CAL_FP[path] = ""
    return _CAL_FP[path]


_CODE_FP: list[str] = []


def _code_fingerprint() -> str:
    """sha256 over the source of the detectors, perception and recording decoder ('' when frozen).

    Detector versions are the contract, but during development a detector is often edited without
    a version bump; a stale cached score would then silently hide the change.
    """
    if not _CODE_FP:
        pkg = Path(__file__).resolve().parents[1]
        h = hashlib.sha256()
        files = sorted([*(pkg / "detectors").glob("*.py"), *(pkg / "perception").glob("*.py"),
                        pkg / "capture" / "recording.py"])
        for f in files:
            try:
                h.update(f.name.encode() + b"\0" + f.read_bytes())
            except OSError:
                continue
        _CODE_FP.append(h.hexdigest())
    return _CODE_FP[0]


def cache_key(row: ManifestRow, config: ScoringConfig, modality_dets: list[str]) -> str | None:
    """sha256 over (path, size, mtime, detector ids+versions, sampling, model manifest, detector and
    perception source); None if the file is missing."""
    try:
        st = os.stat(row.path)
    except OSError:
        return None
    payload = {
        "v": SCORING_VERSION,
        "path": str(Path(row.path).absolute()),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "modality": row.modality,
        "detectors": [[i, _version_of(i)] for i in sorted(modality_dets)],
        "sample_fps": config.sample_fps if row.modality == "video" else 0.0,
        "max_width": config.max_width,
        "audio": [config.audio_rate, config.audio_chunk_s],
        "models": _models_fingerprint(),  # a retrained model without a version bump still invalidates
        "calibration": _calibration_fingerprint(config.calibration_path),  # so does a re-fitted calibration
        "code": _code_fingerprint(),      # so does an edited detector or perception module
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class ScoreCache:
    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder else None
        if self.folder:
            self.folder.mkdir(parents=True, exist_ok=True)

    def get(self, key: str | None) -> ClipScore | None:
        if not self.folder or not key:
            return None
        p = self.folder / f"{key}.json"
        try:
            cs = ClipScore.from_json(json.loads(p.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            return None
        cs.cached = True
        return cs

    def put(self, key: str | None, cs: ClipScore) -> None:
        if not self.folder or not key or cs.status != "ok" or cs.detector_errors:
            return  # failures and detector crashes are not cached: a fix should be measured on the next run
        p = self.folder / f"{key}.json"
        tmp = p.with_name(f"{p.name}.tmp-{os.getpid()}")
        try:
            tmp.write_text(json.dumps(cs.to_json(), sort_keys=True))
            os.replace(tmp, p)
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass


# --- running many clips -------------------------------------------------------------------------------

_WORKER: ClipScorer | None = None


def _worker_init(config: ScoringConfig) -> None:
    global _WORKER
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001
        pass
    _WORKER = ClipScorer(config)


def _worker_score(row: ManifestRow) -> ClipScore:
    assert _WORKER is not None
    return _WORKER.score(row)


ProgressFn = Callable[[int, int, ManifestRow, ClipScore], None]


def modality_detectors(config: ScoringConfig, modality: str) -> list[str]:
    """The configured detectors that run on clips of this modality."""
    out = []
    for i in config.detector_ids:
        m = detector_meta(i).modality
        if modality in ("video", "image") and m in ("video", "av"):
            out.append(i)
        elif modality == "audio" and m == "audio":  # av detectors need a picture too
            out.append(i)
    return out


def score_clips(rows: list[ManifestRow], config: ScoringConfig, *, workers: int = 1,
                cache: ScoreCache | None = None, progress: ProgressFn | None = None) -> dict[str, ClipScore]:
    """Score every row (cached ones are read back); returns {row.key: ClipScore} in row order."""
    cache = cache or ScoreCache(None)
    results: dict[str, ClipScore] = {}
    todo: list[ManifestRow] = []
    keys: dict[str, str | None] = {}
    done = 0
    for r in rows:
        k = cache_key(r, config, modality_detectors(config, r.modality))
        keys[r.key] = k
        hit = cache.get(k)
        if hit is not None:
            hit.label = r.label  # the manifest may have been relabelled
            results[r.key] = hit
            done += 1
            if progress:
                progress(done, len(rows), r, hit)
        else:
            todo.append(r)

    def finish(r: ManifestRow, cs: ClipScore) -> None:
        nonlocal done
        results[r.key] = cs
        cache.put(keys[r.key], cs)
        done += 1
        if progress:
            progress(done, len(rows), r, cs)

    if workers <= 1 or len(todo) <= 1:
        scorer = ClipScorer(config) if todo else None
        for r in todo:
            finish(r, scorer.score(r))
    else:
        _run_pool(todo, config, workers, finish)
    return {r.key: results[r.key] for r in rows if r.key in results}


def _run_pool(todo: list[ManifestRow], config: ScoringConfig, workers: int,
              finish: Callable[[ManifestRow, ClipScore], None]) -> None:
    import multiprocessing as mp

    crashes: dict[str, int] = {}
    pending = list(todo)
    while pending:
        broken = False
        with ProcessPoolExecutor(max_workers=min(workers, len(pending)), mp_context=mp.get_context("spawn"),
                                 initializer=_worker_init, initargs=(config,)) as pool:
            futs = {pool.submit(_worker_score, r): r for r in pending}
            left = {r.key: r for r in pending}
            try:
                for fut in as_completed(futs):
                    r = futs[fut]
                    try:
                        cs = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        break
                    except Exception as e:  # noqa: BLE001 - pickling or worker-init failure
                        cs = ClipScore(r.key, r.label, r.modality, "failed", _one_line(e))
                    left.pop(r.key, None)
                    finish(r, cs)
            except BrokenProcessPool:
                broken = True
            if broken:  # keep what finished before the crash
                for fut, r in futs.items():
                    if r.key in left and fut.done() and not fut.cancelled() and fut.exception() is None:
                        left.pop(r.key)
                        finish(r, fut.result())
        pending = list(left.values())
        if broken and pending:
            keep = []
            for r in pending:
                crashes[r.key] = crashes.get(r.key, 0) + 1
                if crashes[r.key] >= 2:
                    finish(r, ClipScore(r.key, r.label, r.modality, "failed",
                                        "the worker process crashed while scoring this clip (twice)"))
                else:
                    keep.append(r)
            print(f"warning: a scoring worker crashed; retrying {len(keep)} clip(s)", file=sys.stderr)
            pending = keep
