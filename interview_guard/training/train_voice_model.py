"""Train the synthetic/converted-voice countermeasure and export ``models/voice_cm.onnx``.

Recipe (seeded; build time only, torch):

1. **Data.** Corpus ``audio_real_speech`` (bona fide), ``audio_fake_vc`` and ``audio_fake_tts``
   (``training/voice_data.py``: speaker groups, a ``system`` key per fake file). From every real
   file the project makes DSP fakes (``training/voice_fakes.py``: WORLD pitch / formant / F0-smoothed
   copy synthesis, phase-vocoder pitch shift, Griffin-Lim, 0.25-s block processing with crossfades).
2. **Channel on both classes.** Each signal is used clean and after an Opus 24 kbps round trip
   (``train_variants``), so the codec never separates the classes. ``channels`` further random
   channels (Opus 16/24/32 kbps, AAC, MP3, none; sometimes a 5.5/7 kHz low-pass; random level)
   are made for both classes too but, by default, only *tested* on (variant "rand": unseen
   channels): training on them made the linear flatness model worse on every test condition,
   the random channels themselves included (LOSO, 2026-11).
3. **Windows.** VAD speech only (Silero), 4-s windows every 1 s of speech from 2 s on — exactly
   what the detector judges (``perception/voice_cm.speech_windows``); band-flatness statistics per
   window (``perception/voice_cm.window_features``, 36-d, ``flatness-stats-2``).
4. **Model.** L2-regularised logistic regression (``model="logreg"``, ``l2``) on standardised
   statistics (clipped to ±8 sd), class-balanced (real : DSP fakes : corpus fakes = 2 : 1 : 1 by
   weight), fitted by L-BFGS (scipy; deterministic) and exported as a one-layer torch net. The
   earlier MLP (``model="mlp"``: 64 → 32 → 1, ReLU, dropout, AdamW) is still available; on the
   leave-one-system-out protocol the linear model on flatness statistics generalised better
   (VC EER 58.5 % → ~20 %, TTS 21.9 % → ~7 %, see the manifest row's ``quality``).
5. **Honest evaluation** (``--loso``): for every fake *system* and every real speaker fold
   (4 folds), a model is trained without that system's files and without that fold's speakers
   (nor the DSP fakes made from them) and scores the held-out files; file score = mean window
   logit. EER/AUC per system, per family (VC / TTS pooled over their held-out systems), per
   real source, clean, after Opus 24 kbps and through the untrained random channels ("rand").
   Results: ``<out>/voice_cm_loso.json``.
6. **Calibration.** Platt scaling of the held-out window logits (class-balanced, so it is an
   LLR), stored in the manifest row with the measured quality; LLRs are clipped to [-1, 2.3].
7. **Export.** The final model is trained on everything and exported to ONNX (standardisation
   folded in), checked against torch (≤ 1e-4), and its manifest row written.

    python -m interview_guard.training.train_voice_model [--loso] [--workers 2] [--smoke]

``--smoke`` runs the whole recipe on a handful of files with a tiny budget into a temporary
folder (never touching ``models/``) in well under a minute: CI runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from interview_guard.training.voice_data import (REPO, SYSTEMS, TTS_SYSTEMS, VC_SYSTEMS, SpeechItem,
                                                 balanced_real_folds, cached, load_audio, speech_items,
                                                 stable_seed)

OUT_DEFAULT = REPO / "models"
TEST_CHANNELS = ("clean", "opus24")
REPORT_VARIANTS = TEST_CHANNELS + ("rand",)     # "rand": the random channels rand0, rand1, … pooled


def _vgroup(variant: str) -> str:
    return "rand" if variant.startswith("rand") else variant


@dataclass(frozen=True)
class Config:
    seed: int = 0
    fake_kinds: tuple[str, ...] = ("world_pitch", "world_formant", "world_smooth", "pv_pitch", "griffin_lim",
                                   "block_vc")
    channels: int = 2                 # random channel variants per signal (besides clean and opus24)
    train_variants: tuple[str, ...] = TEST_CHANNELS   # variants trained on (the rest are test-only)
    model: str = "logreg"            # "logreg" (L-BFGS, l2) | "mlp" (hidden, dropout, epochs, lr, AdamW)
    l2: float = 3e-3                  # logreg: penalty 0.5·l2·|w|² on the mean weighted log-loss
    hidden: tuple[int, ...] = (64, 32)
    dropout: float = 0.2
    epochs: int = 40
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-3
    w_real: float = 2.0
    w_dsp: float = 1.0
    w_corpus: float = 1.0
    max_file_s: float = 40.0          # longer files contribute their first 40 s
    folds: int = 4
    smoke: bool = False
    loso_systems: tuple[str, ...] = SYSTEMS


SMOKE = Config(fake_kinds=("pv_pitch", "world_smooth"), channels=0, hidden=(16,), epochs=3, max_file_s=6.0,
               folds=2, smoke=True, loso_systems=("yourtts", "tacotron2"))


# --- data preparation (cached) ---------------------------------------------------------------

@dataclass(frozen=True)
class Base:
    """One signal before the channel: a corpus file or a DSP fake made from a real one."""

    key: str
    item: SpeechItem
    kind: str          # "real" | DSP kind | "corpus_fake"
    fake: bool


def _vad_flags(x: np.ndarray) -> np.ndarray:
    from interview_guard.perception.vad import speech_flags, speech_probs

    return speech_flags(speech_probs(x))


def _base_audio(b: Base, cfg: Config) -> np.ndarray:
    x = load_audio(b.item)[: int(cfg.max_file_s * 16000)]
    if b.kind in ("real", "corpus_fake"):
        return x
    from interview_guard.training.voice_fakes import make_fake

    tag = f"{b.key}_{cfg.max_file_s:g}"
    return cached("dsp", tag, lambda: make_fake(x, b.kind, stable_seed(cfg.seed, b.key)))


def _variants(cfg: Config) -> list[str]:
    return list(TEST_CHANNELS) + [f"rand{i}" for i in range(cfg.channels)]


def _features_for(b: Base, cfg: Config) -> dict[str, np.ndarray]:
    """Window features of every channel variant of one base signal: {variant: (n, F)}."""
    from interview_guard.perception.voice_cm import FEATURES_VERSION, speech_only, speech_windows, window_features
    from interview_guard.training.voice_fakes import channel, codec_roundtrip

    x = _base_audio(b, cfg)
    flags = cached("vad", f"{b.key}_{cfg.max_file_s:g}", lambda: _vad_flags(x))
    out = {}
    for v in _variants(cfg):
        def make(v=v):
            if v == "clean":
                y = x
            elif v == "opus24":
                y = codec_roundtrip(x, "opus24")
            else:
                y, _ = channel(x, np.random.default_rng(stable_seed(cfg.seed, b.key, v)))
            s = speech_only(y, flags)
            feats = [window_features(w) for _, w in speech_windows(s)]
            return np.stack(feats).astype(np.float32) if feats else np.zeros((0, _nfeat()), np.float32)

        out[v] = cached("feat", f"{FEATURES_VERSION}_{b.key}_{cfg.max_file_s:g}_{v}_s{cfg.seed}", make)
    return out


def _nfeat() -> int:
    from interview_guard.perception.voice_cm import N_FEATURES

    return N_FEATURES


def _job(args) -> tuple[str, dict[str, np.ndarray]]:
    b, cfg = args
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    return b.key, _features_for(b, cfg)


def bases_for(items: list[SpeechItem], cfg: Config) -> list[Base]:
    out = []
    for it in items:
        if it.is_fake:
            out.append(Base(it.stem, it, "corpus_fake", True))
        else:
            out.append(Base(it.stem, it, "real", False))
            for k in cfg.fake_kinds:
                out.append(Base(f"{it.stem}__{k}", it, k, True))
    return out


@dataclass
class Table:
    """Window features with per-window metadata (one row per window)."""

    X: np.ndarray
    y: np.ndarray
    base: np.ndarray        # base key
    variant: np.ndarray
    kind: np.ndarray        # real | DSP kind | corpus_fake
    system: np.ndarray      # fake system ("" for real and DSP)
    group: np.ndarray       # real speaker group of the file (DSP fakes inherit it)
    family: np.ndarray      # real | vc | tts | dsp
    source: np.ndarray
    meta: dict = field(default_factory=dict)


def build_table(items: list[SpeechItem], cfg: Config, *, workers: int = 1, log=print) -> Table:
    bases = bases_for(items, cfg)
    t0 = time.time()
    feats: dict[str, dict[str, np.ndarray]] = {}
    jobs = [(b, cfg) for b in bases]
    if workers > 1:
        with ProcessPoolExecutor(workers) as ex:
            for i, (k, f) in enumerate(ex.map(_job, jobs, chunksize=2)):
                feats[k] = f
                if (i + 1) % 50 == 0:
                    log(f"  features {i + 1}/{len(jobs)} ({time.time() - t0:.0f} s)")
    else:
        for i, j in enumerate(jobs):
            k, f = _job(j)
            feats[k] = f
            if (i + 1) % 50 == 0:
                log(f"  features {i + 1}/{len(jobs)} ({time.time() - t0:.0f} s)")
    rows: dict[str, list] = {k: [] for k in ("X", "y", "base", "variant", "kind", "system", "group", "family",
                                              "source")}
    for b in bases:
        for v, F in feats[b.key].items():
            n = len(F)
            if n == 0:
                continue
            fam = b.item.family if b.kind in ("real", "corpus_fake") else "dsp"
            rows["X"].append(F)
            for name, val in (("y", float(b.fake)), ("base", b.key), ("variant", v), ("kind", b.kind),
                              ("system", b.item.system), ("group", b.item.group), ("family", fam),
                              ("source", b.item.source)):
                rows[name].append(np.full(n, val, dtype=object if isinstance(val, str) else np.float32))
    tab = Table(X=np.concatenate(rows["X"]).astype(np.float32),
                **{k: np.concatenate(rows[k]) for k in rows if k != "X"})
    tab.meta = {"bases": len(bases), "windows": int(len(tab.X)), "prep_s": round(time.time() - t0, 1)}
    log(f"table: {len(bases)} signals, {len(tab.X)} windows, {time.time() - t0:.0f} s")
    return tab


# --- model -----------------------------------------------------------------------------------

def _torch():
    import torch

    torch.set_num_threads(int(os.environ.get("IG_TORCH_THREADS", "1")))
    return torch


def make_net(n_in: int, cfg: Config, mean: np.ndarray, std: np.ndarray):
    torch = _torch()
    from torch import nn

    class CMNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
            self.register_buffer("inv_std", torch.from_numpy((1.0 / std).astype(np.float32)))
            layers: list[nn.Module] = []
            d = n_in
            for h in cfg.hidden:
                layers += [nn.Linear(d, h), nn.ReLU(), nn.Dropout(cfg.dropout)]
                d = h
            layers.append(nn.Linear(d, 1))
            self.mlp = nn.Sequential(*layers)

        def forward(self, features):
            z = (features - self.mean) * self.inv_std
            return self.mlp(torch.clamp(z, -8.0, 8.0))

    return CMNet()


def sample_weights(tab: Table, idx: np.ndarray, cfg: Config) -> np.ndarray:
    """Class-balanced weights: real, DSP and corpus fakes get cfg.w_* of the total each, and
    within a group every *file* (base) weighs the same whatever its length."""
    w = np.zeros(len(idx), dtype=np.float64)
    kinds = np.where(tab.y[idx] == 0, "real", np.where(tab.kind[idx] == "corpus_fake", "corpus", "dsp"))
    bases = tab.base[idx]
    for name, total in (("real", cfg.w_real), ("dsp", cfg.w_dsp), ("corpus", cfg.w_corpus)):
        m = kinds == name
        if not m.any():
            continue
        _, inv, counts = np.unique(bases[m], return_inverse=True, return_counts=True)
        per = 1.0 / counts[inv]
        w[m] = per / per.sum() * total
    return (w / w.sum() * len(idx)).astype(np.float32)


def train_logreg(tab: Table, idx: np.ndarray, cfg: Config):
    """Weighted L2 logistic regression by L-BFGS on the standardised (±8-clipped) features, returned
    as the same one-layer net ``make_net`` builds (so prediction and ONNX export are shared)."""
    torch = _torch()
    from scipy.optimize import minimize

    X = tab.X[idx].astype(np.float64)
    y = tab.y[idx].astype(np.float64)
    w = sample_weights(tab, idx, cfg).astype(np.float64)
    w = w / w.sum()
    mean = X.mean(axis=0)
    std = X.std(axis=0) + 1e-3
    Z = np.clip((X - mean) / std, -8.0, 8.0)
    d = Z.shape[1]

    def f(theta):
        coef, b = theta[:d], theta[d]
        z = Z @ coef + b
        loss = float(np.sum(w * (np.logaddexp(0.0, z) - y * z))) + 0.5 * cfg.l2 * float(coef @ coef)
        g = w * (1.0 / (1.0 + np.exp(-z)) - y)
        grad = np.concatenate([Z.T @ g + cfg.l2 * coef, [g.sum()]])
        return loss, grad

    res = minimize(f, np.zeros(d + 1), jac=True, method="L-BFGS-B", options={"maxiter": 2000, "gtol": 1e-8})
    net = make_net(d, replace(cfg, hidden=()), mean.astype(np.float32), std.astype(np.float32))
    with torch.no_grad():
        net.mlp[0].weight.copy_(torch.from_numpy(res.x[:d].astype(np.float32))[None, :])
        net.mlp[0].bias.fill_(float(res.x[d]))
    net.eval()
    return net


def train_model(tab: Table, idx: np.ndarray, cfg: Config, *, seed: int | None = None):
    if cfg.model == "logreg":
        return train_logreg(tab, idx, cfg)
    torch = _torch()
    rng_seed = cfg.seed if seed is None else seed
    torch.manual_seed(rng_seed)
    X = tab.X[idx]
    y = tab.y[idx].astype(np.float32)
    w = sample_weights(tab, idx, cfg)
    mean = X.mean(axis=0)
    std = X.std(axis=0) + 1e-3
    net = make_net(X.shape[1], cfg, mean, std)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    Xt, yt, wt = torch.from_numpy(X), torch.from_numpy(y), torch.from_numpy(w)
    g = torch.Generator().manual_seed(rng_seed)
    n = len(X)
    steps = max(1, int(np.ceil(n / cfg.batch))) * cfg.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=steps)
    net.train()
    for _ in range(cfg.epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, cfg.batch):
            b = perm[s:s + cfg.batch]
            logit = net(Xt[b]).squeeze(1)
            loss = (torch.nn.functional.binary_cross_entropy_with_logits(logit, yt[b], reduction="none") * wt[b]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return net


def predict(net, X: np.ndarray) -> np.ndarray:
    torch = _torch()
    with torch.no_grad():
        return net(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))).squeeze(1).numpy()


# --- metrics ---------------------------------------------------------------------------------

def roc_auc(real: np.ndarray, fake: np.ndarray) -> float:
    """P(score_fake > score_real) (ties count half)."""
    r, f = np.asarray(real, float), np.asarray(fake, float)
    if len(r) == 0 or len(f) == 0:
        return float("nan")
    allv = np.concatenate([r, f])
    from scipy.stats import rankdata

    ranks = rankdata(allv)
    return float((ranks[len(r):].sum() - len(f) * (len(f) + 1) / 2) / (len(r) * len(f)))


def eer(real: np.ndarray, fake: np.ndarray) -> float:
    """Equal error rate (positive = fake; higher score = more fake), linear interpolation."""
    r, f = np.sort(np.asarray(real, float)), np.sort(np.asarray(fake, float))
    if len(r) == 0 or len(f) == 0:
        return float("nan")
    th = np.unique(np.concatenate([r, f, [-np.inf, np.inf]]))
    fpr = 1.0 - np.searchsorted(r, th, side="left") / len(r)     # real scored >= th
    fnr = np.searchsorted(f, th, side="left") / len(f)            # fake scored < th
    d = fpr - fnr
    i = int(np.argmax(d <= 0))
    if i == 0:
        return float(fpr[0])
    a, b = d[i - 1], d[i]
    t = a / (a - b) if a != b else 0.0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


# --- leave-one-system-out --------------------------------------------------------------------

def file_scores(tab: Table, idx: np.ndarray, logits: np.ndarray) -> dict[tuple[str, str], float]:
    """(base, variant) → mean window logit."""
    out: dict[tuple[str, str], list[float]] = {}
    for i, s in zip(idx, logits):
        out.setdefault((tab.base[i], tab.variant[i]), []).append(float(s))
    return {k: float(np.mean(v)) for k, v in out.items()}


def run_loso(tab: Table, items: list[SpeechItem], cfg: Config, *, log=print) -> dict:
    folds = balanced_real_folds(items, cfg.folds)
    fold_arr = np.array([folds.get(g, -1) for g in tab.group])
    is_real_or_dsp = (tab.kind != "corpus_fake")
    test_var = np.ones(len(tab.variant), bool)          # every channel variant is scored
    train_var = np.isin(tab.variant, cfg.train_variants)
    records = []          # one per (model, held-out file, variant)
    win_logits, win_labels = [], []
    t0 = time.time()
    n_models = 0
    first_row: dict[str, int] = {}
    for i, b in enumerate(tab.base):
        first_row.setdefault(b, i)
    for system in cfg.loso_systems:
        if not (tab.system == system).any():
            continue
        for k in range(cfg.folds):
            held_real = is_real_or_dsp & (fold_arr == k)
            train = ~held_real & (tab.system != system) & train_var
            test = (held_real | (tab.system == system)) & test_var
            if not train.any() or not test.any():
                continue
            tr_idx = np.flatnonzero(train)
            if len(np.unique(tab.y[tr_idx])) < 2:
                continue
            net = train_model(tab, tr_idx, cfg, seed=cfg.seed + n_models)
            te_idx = np.flatnonzero(test)
            lg = predict(net, tab.X[te_idx])
            win_logits.append(lg[tab.variant[te_idx] == "clean"])
            win_labels.append(tab.y[te_idx][tab.variant[te_idx] == "clean"])
            for (base, variant), s in file_scores(tab, te_idx, lg).items():
                i = first_row[base]
                records.append({"system_out": system, "fold": k, "base": base, "variant": variant, "score": s,
                                "fake": bool(tab.y[i]), "kind": tab.kind[i], "system": tab.system[i],
                                "family": tab.family[i], "source": tab.source[i], "group": tab.group[i]})
            n_models += 1
            log(f"  loso {system:13s} fold {k}: train {len(tr_idx)} windows, test {len(te_idx)} "
                f"({time.time() - t0:.0f} s)")
    cal = fit_calibration(np.concatenate(win_logits), np.concatenate(win_labels)) if win_logits else None
    return {"records": records, "models": n_models, "seconds": round(time.time() - t0, 1),
            "calibration": cal, "summary": summarize(records)}


def _pairs(records: list[dict], variant: str, systems: tuple[str, ...], *, real_source: str | None = None):
    """Held-out real and fake file scores of the models that held out one of ``systems``."""
    real, fake = [], []
    for r in records:
        if _vgroup(r["variant"]) != variant or r["system_out"] not in systems:
            continue
        if r["kind"] == "real" and (real_source is None or r["source"] == real_source):
            real.append(r["score"])
        elif r["kind"] == "corpus_fake" and r["system"] in systems:
            fake.append(r["score"])
    return np.array(real), np.array(fake)


def summarize(records: list[dict]) -> dict:
    out: dict = {"per_system": {}, "per_family": {}, "per_real_source": {}, "dsp_kinds": {}}
    present = sorted({r["system"] for r in records if r["kind"] == "corpus_fake"})
    for v in REPORT_VARIANTS:
        if not any(_vgroup(r["variant"]) == v for r in records):
            continue
        for s in present:
            r, f = _pairs(records, v, (s,))
            out["per_system"].setdefault(s, {})[v] = _metric(r, f)
        for fam, systems in (("vc", VC_SYSTEMS), ("tts", TTS_SYSTEMS), ("all", VC_SYSTEMS + TTS_SYSTEMS)):
            systems = tuple(s for s in systems if s in present)
            if systems:
                r, f = _pairs(records, v, systems)
                out["per_family"].setdefault(fam, {})[v] = _metric(r, f)
        sources = sorted({r["source"] for r in records if r["kind"] == "real"})
        for src in sources:
            for fam, systems in (("vc", VC_SYSTEMS), ("tts", TTS_SYSTEMS)):
                systems = tuple(s for s in systems if s in present)
                if systems:
                    r, f = _pairs(records, v, systems, real_source=src)
                    out["per_real_source"].setdefault(f"{src} vs {fam}", {})[v] = _metric(r, f)
        # DSP fakes of held-out speakers (kinds seen in training, speakers not)
        kinds = sorted({r["kind"] for r in records if r["kind"] not in ("real", "corpus_fake")})
        for kd in kinds:
            real = [r["score"] for r in records if _vgroup(r["variant"]) == v and r["kind"] == "real"]
            fake = [r["score"] for r in records if _vgroup(r["variant"]) == v and r["kind"] == kd]
            out["dsp_kinds"].setdefault(kd, {})[v] = _metric(np.array(real), np.array(fake))
    return out


def _metric(real: np.ndarray, fake: np.ndarray) -> dict:
    return {"eer": _r(eer(real, fake)), "auc": _r(roc_auc(real, fake)), "n_real": int(len(real)),
            "n_fake": int(len(fake))}


def _r(x: float) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 4)


def fit_calibration(logits: np.ndarray, labels: np.ndarray, *,
                    fitted_on: str = "held-out windows of the leave-one-system-out models (clean), "
                                     "class-balanced") -> dict:
    """Class-balanced Platt scaling: llr = a·logit + b (equal priors, so it is a likelihood ratio)."""
    from scipy.optimize import minimize

    x = np.asarray(logits, float)
    y = np.asarray(labels, float)
    w = np.where(y > 0.5, 0.5 / max(1, (y > 0.5).sum()), 0.5 / max(1, (y <= 0.5).sum()))

    def nll(p):
        z = p[0] * x + p[1]
        return float(np.sum(w * (np.logaddexp(0, z) - y * z)))

    res = minimize(nll, np.array([1.0, 0.0]), method="Nelder-Mead", options={"xatol": 1e-5, "fatol": 1e-9})
    a, b = (float(v) for v in res.x)
    return {"a": round(a, 5), "b": round(b, 5), "llr_min": -1.0, "llr_max": 2.3,
            "fitted_on": fitted_on}


# --- export ----------------------------------------------------------------------------------

def export_onnx(net, path: Path, n_in: int) -> float:
    torch = _torch()
    import onnx
    import onnxruntime as ort

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    dummy = torch.zeros(1, n_in)
    torch.onnx.export(net, (dummy,), str(tmp), input_names=["features"], output_names=["logit"],
                      dynamic_axes={"features": {0: "batch"}, "logit": {0: "batch"}}, opset_version=17,
                      dynamo=False)
    m = onnx.load(str(tmp))
    m.producer_name = "interview-guard train_voice_model"
    onnx.checker.check_model(m)
    onnx.save(m, str(tmp))
    tmp.replace(path)
    rng = np.random.default_rng(0)
    X = (rng.standard_normal((64, n_in)) * 3).astype(np.float32)
    X += net.mean.numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diff = float(np.abs(sess.run(None, {"features": X})[0].reshape(-1) - predict(net, X)).max())
    if diff > 1e-4:
        raise RuntimeError(f"ONNX differs from torch by {diff:.2e}")
    return diff


LIMITS = ("genuine speech through a band-limited channel scores as synthetic: LLR > 1 for 58 % / 92 % / 98 % "
          "of genuine corpus files after a 5.5-kHz low-pass / a 7-kHz low-pass / an MP3 32 kbps round trip (0 % "
          "clean, 2 % Opus 24 kbps); the voice_synthetic detector pauses on such lines (band_limits gate: 90-96 % "
          "of those windows paused, 4 % of clean genuine ones) - measured by bench/voice_channel_gate.py")


def manifest_row(path: Path, cfg: Config, *, params: int, calibration: dict | None, quality: dict | None,
                 train_meta: dict) -> dict:
    from interview_guard.perception.model_store import sha256_of
    from interview_guard.perception.voice_cm import FEATURES_VERSION, N_FEATURES

    return {
        "id": "voice_cm",
        "file": path.name,
        "sha256": sha256_of(path),
        "bytes": path.stat().st_size,
        "licence": "Apache-2.0 (trained by the interview-guard project)",
        "source": "trained by interview_guard/training/train_voice_model.py (seed %d) on ../shared/corpus "
                  "audio_real_speech + DSP fakes made from it + audio_fake_vc/audio_fake_tts; corpus files are "
                  "not redistributed" % cfg.seed,
        "contract": f"onnxruntime; input features (batch, {N_FEATURES}) float32 = "
                    "perception/voice_cm.window_features of a 2–4 s VAD-speech window at 16 kHz "
                    f"({FEATURES_VERSION}); output logit (batch, 1), > 0 leans synthetic/converted; "
                    "llr = calibration.a * logit + calibration.b, clipped to [llr_min, llr_max]",
        "features": FEATURES_VERSION,
        "params": int(params),
        "calibration": calibration,
        "quality": quality,
        "limits": LIMITS,
        "training": train_meta,
    }


def guard_calibration(cal: dict, quality: dict | None) -> dict:
    """Never let the model say "real" when held-out data shows it cannot: if the leave-one-system-out
    AUC of any family is below 0.6 (clean), negative LLRs are clipped to 0 (the model may add
    evidence of synthesis, never subtract it)."""
    cal = dict(cal)
    aucs = [(quality or {}).get(k, {}).get("auc") for k in ("vc_clean", "tts_clean")]
    if any(a is not None and a < 0.6 for a in aucs):
        cal["llr_min"] = 0.0
        cal["note"] = ("llr_min raised to 0: on systems it did not train on the model is near or below chance "
                       "for at least one family, so a 'natural-sounding' score is not evidence of a real voice")
    return cal


def _quality_from(summary: dict) -> dict:
    fam = summary.get("per_family", {})
    q = {"protocol": "file level (mean window logit) over VAD-speech windows, files with >= 2 s speech; "
                     "leave-one-system-out x 4 speaker-disjoint real folds",
         "measured_by": "python -m interview_guard.training.train_voice_model --loso (bench/measure_voice.py)"}
    for name in ("vc", "tts", "all"):
        for v in REPORT_VARIANTS:
            m = fam.get(name, {}).get(v)
            if m:
                q[f"{name}_{v}"] = {"eer": m["eer"], "auc": m["auc"], "n_real": m["n_real"], "n_fake": m["n_fake"]}
    return q


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Train and export the voice countermeasure (voice_cm.onnx).")
    ap.add_argument("--out", type=Path, default=None, help="folder for voice_cm.onnx + manifest.json "
                    "(default: models/; --smoke: a temporary folder)")
    ap.add_argument("--loso", action="store_true", help="also run leave-one-system-out evaluation")
    ap.add_argument("--no-export", action="store_true", help="evaluate only")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--smoke", action="store_true", help="tiny end-to-end run (CI)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--loso-from", type=Path, default=None,
                    help="take calibration and quality from a saved voice_cm_loso.json instead of running --loso "
                         "(with --no-export: only rewrite the manifest row's calibration/quality)")
    a = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cfg = SMOKE if a.smoke else Config()
    cfg = replace(cfg, seed=a.seed, **({"epochs": a.epochs} if a.epochs else {}))
    t_start = time.time()
    tmpdir = None
    if a.smoke:
        tmpdir = tempfile.TemporaryDirectory(prefix="ig-voice-smoke-")
        os.environ.setdefault("IG_VOICE_CACHE", str(Path(tmpdir.name) / "cache"))
    out = a.out or (Path(tmpdir.name) / "models" if tmpdir else OUT_DEFAULT)
    if a.loso_from is not None and a.no_export:
        data = json.loads(a.loso_from.read_text())
        row = _existing_manifest_row(out)
        if row is None:
            print(f"error: no voice_cm row in {out / 'manifest.json'}", file=sys.stderr)
            return 2
        row["quality"] = _quality_from(summarize(data["records"]))
        row["calibration"] = guard_calibration(data["calibration"], row["quality"])
        _update_manifest(out / "manifest.json", row)
        print(json.dumps({k: row[k] for k in ("calibration", "quality")}, indent=1))
        return 0
    items = speech_items()
    if a.smoke:
        items = _smoke_items(items)
    print(f"voice_cm: {len(items)} corpus files ({'smoke' if a.smoke else 'full'}), seed {cfg.seed}", flush=True)
    tab = build_table(items, cfg, workers=a.workers)
    result: dict = {"config": asdict(cfg), "table": tab.meta}
    cal = None
    quality = None
    if a.loso_from is not None:
        data = json.loads(a.loso_from.read_text())
        cal, quality = data["calibration"], _quality_from(summarize(data["records"]))
    elif a.loso:
        lo = run_loso(tab, items, cfg)
        result["loso"] = {k: v for k, v in lo.items() if k != "records"}
        cal = lo["calibration"]
        quality = _quality_from(lo["summary"])
        out.mkdir(parents=True, exist_ok=True)
        (out / "voice_cm_loso.json").write_text(json.dumps({**result["loso"], "records": lo["records"]}, indent=1))
        print(json.dumps(lo["summary"]["per_family"], indent=1))
    if not a.no_export:
        t0 = time.time()
        idx = np.flatnonzero(np.isin(tab.variant, cfg.train_variants))
        net = train_model(tab, idx, cfg)
        n_params = sum(int(p.numel()) for p in net.parameters())
        out.mkdir(parents=True, exist_ok=True)
        path = out / "voice_cm.onnx"
        diff = export_onnx(net, path, tab.X.shape[1])
        if cal is None:
            cal = _existing_calibration(out) or fit_calibration(
                predict(net, tab.X), tab.y, fitted_on="training windows (no --loso run): optimistic")
        meta = {"windows": int(len(idx)), "train_variants": list(cfg.train_variants), "final_fit_s": round(time.time() - t0, 1),
                "total_s": round(time.time() - t_start, 1), "onnx_vs_torch_max_abs_diff": float(f"{diff:.3g}"),
                "smoke": cfg.smoke}
        quality = quality or _existing_quality(out)
        cal = guard_calibration(cal, quality)
        row = manifest_row(path, cfg, params=n_params, calibration=cal, quality=quality, train_meta=meta)
        _update_manifest(out / "manifest.json", row)
        result["export"] = row
        print(json.dumps({k: row[k] for k in ("file", "sha256", "bytes", "params", "calibration")}, indent=1))
    result["total_s"] = round(time.time() - t_start, 1)
    print(f"done in {result['total_s']:.0f} s", flush=True)
    if tmpdir is not None:
        tmpdir.cleanup()
    return 0


def _smoke_items(items: list[SpeechItem]) -> list[SpeechItem]:
    want_real = ["tortoise_ref_geralt_1", "tortoise_ref_halle_1", "freevcdemo_real_M_p272_219",
                 "freevcdemo_real_F_p362_103"]
    want_fake = ["freevcdemo_yourtts_s2s_F_p362_103-M_p237_001", "freevcdemo_bne-ppg-vc_s2s_F_p362_103-M_p237_001",
                 "tortoise_cmp_tacotron_comparison_2-tacotron2", "tortoise_tts_geralt_rolling_stone_review"]
    keep = set(want_real + want_fake)
    return [i for i in items if i.stem in keep]


def _existing_manifest_row(out: Path) -> dict | None:
    p = out / "manifest.json"
    if not p.is_file():
        return None
    for r in json.loads(p.read_text()).get("models", []):
        if r.get("id") == "voice_cm":
            return r
    return None


def _existing_calibration(out: Path) -> dict | None:
    r = _existing_manifest_row(out)
    return dict(r["calibration"]) if r and r.get("calibration") else None


def _existing_quality(out: Path) -> dict | None:
    r = _existing_manifest_row(out)
    return r.get("quality") if r else None


def _update_manifest(path: Path, row: dict) -> None:
    data = json.loads(path.read_text()) if path.is_file() else {"schema": 1, "models": []}
    ids = [r.get("id") for r in data["models"]]
    if row["id"] in ids:      # replace in place: other rows keep their order and bytes
        data["models"][ids.index(row["id"])] = row
    else:
        data["models"].append(row)
    tmp = path.with_suffix(".json.tmp-write")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
