"""The self-contained report: ``report.html`` (opens with no network: inline CSS, images as
``data:`` URIs) and ``report.json`` (the same facts for machines).

Sections: verdict (level, headline, reasons, suggested next step), timeline figure, thumbnails
of the flagged moments, level changes (cues), challenge results, flagged segments, what the
tool could not judge, the checks that ran (with their calibration status), provenance.
Wording follows the UI: a cue is a reason to verify, never an accusation.
"""

from __future__ import annotations

import base64
import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from interview_guard import __version__
from interview_guard.core.types import NS_PER_S, Evidence
from interview_guard.fusion.cues import HEADLINES, LEVEL_RANK, Cue, Level, detector_name, fmt_clock
from interview_guard.pipeline.outputs import atomic_write_bytes, atomic_write_json

LEVEL_STYLE = {
    "green": ("#2f6f3e", "#e3f1e5"),
    "amber": ("#8a5c14", "#fbefd2"),
    "red": ("#8c2f26", "#f7dcd8"),
    "inconclusive": ("#4a5563", "#e8eaee"),
}

VERDICT_TEXT = {
    "green": "No concerns were found in what could be analysed.",
    "amber": "Some signs were worth a check. Review the moments below; they can have innocent causes "
             "(a poor connection, a filter, lighting).",
    "red": "Strong signs that the video or voice was altered. Verify the candidate's identity another way "
           "before relying on this interview.",
    "inconclusive": "The tool could not judge enough of this recording (see 'What could not be judged').",
}


@dataclass
class ReportInput:
    summary: dict
    evidence: list[Evidence]
    cues: list[Cue]
    points: list                       # fusion.RiskPoint
    thumbs: list = field(default_factory=list)       # reports.thumbs.Thumb of flagged moments
    overview: list = field(default_factory=list)     # reports.thumbs.Thumb spread over the recording
    segments: list[dict] = field(default_factory=list)   # recorded segments (live) as dicts
    source_name: str = ""
    h_amber: float = 3.0
    h_red: float = 9.0
    inconclusive_after_s: float = 20.0


# ----------------------------------------------------------------------------- facts


def flagged_periods(points: Sequence, cues: Sequence[Cue]) -> list[dict]:
    """Time ranges spent at amber or red, with the reasons of the cue that opened them."""
    out: list[dict] = []
    opened: dict | None = None
    for c in cues:
        lv = c.level.value
        if lv in ("amber", "red"):
            if opened is None:
                opened = {"start_s": round(c.t_ns / NS_PER_S, 1), "level": lv, "reasons": list(c.reasons),
                          "next_step": c.next_step}
            elif LEVEL_RANK[c.level] > LEVEL_RANK[Level(opened["level"])]:
                opened["level"] = lv
                opened["reasons"] = list(c.reasons) + [r for r in opened["reasons"] if r not in c.reasons]
                opened["next_step"] = c.next_step
        elif opened is not None:
            opened["end_s"] = round(c.t_ns / NS_PER_S, 1)
            out.append(opened)
            opened = None
    if opened is not None:
        opened["end_s"] = round(points[-1].t_ns / NS_PER_S, 1) if points else opened["start_s"]
        opened["open_at_end"] = True
        out.append(opened)
    return out


def cannot_judge(points: Sequence, evidence: Sequence[Evidence], modalities: dict[str, str], *,
                 min_gap_s: float = 20.0, duration_s: float = 0.0, has_audio_checks: bool = False,
                 face_hint: str = "") -> list[dict]:
    """Spans where no check of a modality could judge, e.g. "no usable face 2:10–4:30".

    A hop is usable for a modality when at least one detector of that modality gave
    non-abstaining evidence in it. Spans of at least ``min_gap_s`` are reported with the most
    frequent quality note inside them.
    """
    out: list[dict] = []
    if not points:
        if duration_s > 0:
            out.append({"what": "face", "start_s": 0.0, "end_s": round(duration_s, 1),
                        "text": "Nothing could be judged: the recording is too short or no face was seen."})
        return out
    hop = (points[1].t_ns - points[0].t_ns) / NS_PER_S if len(points) > 1 else 2.0
    total = max(duration_s, points[-1].t_ns / NS_PER_S)
    min_gap_s = min(min_gap_s, 0.5 * total)          # a short recording judged not at all is reported too
    groups = {"face": ("video",)}
    if has_audio_checks:
        groups["voice"] = ("audio", "av")
    quality = [e for e in evidence if e.kind == "quality"]
    for what, mods in groups.items():
        span_start = None
        spans = []
        for p in points:
            ok = any(modalities.get(d, "video") in mods for d in p.contrib)
            t = p.t_ns / NS_PER_S
            if not ok and span_start is None:
                span_start = t - hop
            elif ok and span_start is not None:
                spans.append((span_start, t - hop))
                span_start = None
        if span_start is not None:
            spans.append((span_start, points[-1].t_ns / NS_PER_S))
        for a, b in spans:
            if b - a < min_gap_s:
                continue
            codes: dict[str, int] = {}
            for e in quality:
                if e.t_end_ns / NS_PER_S >= a and e.t_start_ns / NS_PER_S <= b and \
                        modalities.get(e.detector, "video") in mods:
                    codes[e.code] = codes.get(e.code, 0) + 1
            why = max(codes, key=codes.get) if codes else ""
            a_txt, b_txt = fmt_clock(int(a * NS_PER_S)), fmt_clock(int(b * NS_PER_S))
            mins = (b - a) / 60
            length = f"{mins:.0f} min" if mins >= 1.5 else f"{b - a:.0f} s"
            if what == "face":
                reason = {"no_face": "no face was visible", "face_small": "the face was too small",
                          "face_turned": "the face was turned away", "face_blurred": "the face was too blurred",
                          "frozen": "the picture was frozen",
                          "several_faces": "several faces were visible"}.get(why, face_hint or "no check could measure the face")
                text = f"Face checks could not judge {a_txt}–{b_txt} ({length}): {reason}."
            else:
                text = f"Voice checks could not judge {a_txt}–{b_txt} ({length}): no usable speech."
            if b >= points[-1].t_ns / NS_PER_S - hop and a > 0:
                text += " This was the end of the recording."
            out.append({"what": what, "start_s": round(a, 1), "end_s": round(b, 1), "code": why, "text": text})
    if not has_audio_checks:
        out.append({"what": "voice", "start_s": 0.0, "end_s": round(duration_s, 1), "code": "no_voice_checks",
                    "text": "The voice was not checked (no voice checks ran on this recording, or it has no audio)."})
    return out


def lip_sync_unchecked(summary: dict, evidence: Sequence[Evidence], modalities: dict[str, str]) -> dict | None:
    """A "could not judge" entry when the recording had judged speech and the lip-sync check ran but
    never judged the voice's timing because too few frames per second were analysed (``analyze
    --sample-fps``); below that rate it only looks for lips that stay still while speech is heard."""
    from interview_guard.detectors.lip_sync import LipSyncConfig

    duration = float(summary.get("duration_s") or 0.0)
    frames = int(summary.get("frames_analysed") or 0)
    if "lip_sync" not in modalities or duration <= 0 or frames <= 0:
        return None
    fps = frames / duration
    need = LipSyncConfig().min_fps
    if fps >= need:
        return None
    speech = any(e.kind == "risk" and e.quality > 0 and modalities.get(e.detector) == "audio" for e in evidence)
    judged = any(e.detector == "lip_sync" and e.kind == "risk" and e.quality > 0
                 and (e.details or {}).get("lag_judged", True) for e in evidence)
    if not speech or judged:
        return None
    return {"what": "lip_sync", "start_s": 0.0, "end_s": round(duration, 1), "code": "frame_rate_low",
            "text": f"Lip-sync timing (is the voice late, does it move with the lips?) was not checked: this "
                    f"analysis looked at {fps:.0f} frames per second and that check needs at least {need:.0f}; "
                    f"only lips that stay still while the voice is heard were looked for. Analyse the recording "
                    f"again at 15 frames per second (--sample-fps 15) to include it."}


def face_hint(summary: dict) -> str:
    """Why the face checks may have abstained, from the perception statistics."""
    f = summary.get("face") or {}
    if not summary.get("frames_with_face"):
        return "no face was visible"
    size, yaw = f.get("size_px_median"), f.get("yaw_deg_median")
    if size is not None and size < 100:
        return f"the face was small (about {size:.0f} px tall; the checks need about 100 px: move closer or use speaker view)"
    if yaw is not None and abs(yaw) > 30:
        return f"the face was turned away (about {abs(yaw):.0f}° to the side)"
    return "no check could measure the face"


def challenge_results(evidence: Sequence[Evidence]) -> list[dict]:
    out = []
    for e in evidence:
        if e.detector.startswith("challenge_"):
            out.append({"challenge": detector_name(e.detector), "detector": e.detector,
                        "t_s": round(e.t_end_ns / NS_PER_S, 1),
                        "result": str((e.details or {}).get("result", "")), "reason": e.reason,
                        "llr": round(float(e.llr), 3)})
    return out


def verdict(summary: dict, cues: Sequence[Cue], gaps: list[dict]) -> dict:
    level = summary.get("max_level", "inconclusive")
    worst = None
    for c in cues:
        if c.level.value == level and c.level.value in ("amber", "red"):
            worst = c
            break
    reasons: list[str] = []
    step = ""
    if worst is not None:
        reasons = list(worst.reasons)
        step = worst.next_step
    elif level == "inconclusive":
        reasons = [g["text"] for g in gaps if g["what"] == "face"][:3] or ["Nothing could be judged."]
        step = "Re-record with the candidate facing the camera in good light, or verify identity another way."
    else:
        frac = summary.get("fusion", {}).get("usable_fraction")
        if frac is not None:
            reasons = [f"The face could be checked during {100 * frac:.0f}% of the recording and nothing of concern "
                       "added up."]
        step = "No action needed."
    return {"level": level, "headline": HEADLINES[Level(level)], "text": VERDICT_TEXT[level],
            "reasons": reasons, "next_step": step}


# ----------------------------------------------------------------------------- rendering


def _img(png: bytes, alt: str, cls: str = "", mime: str = "image/png") -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{html.escape(alt)}" src="data:{mime};base64,{b64}">'


CSS = """
body{font-family:-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;background:#f6f7f9;color:#222}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #dde;padding-bottom:4px}
.meta{color:#667;font-size:13px}
.verdict{border-radius:8px;padding:14px 18px;margin:16px 0;border:1px solid rgba(0,0,0,.08)}
.verdict .lvl{font-weight:600;font-size:18px}
.verdict ul{margin:6px 0 0 18px;padding:0}
.step{margin-top:8px;font-size:14px}
img.timeline{width:100%;background:#fff;border:1px solid #dde;border-radius:6px}
.thumbs{display:flex;flex-wrap:wrap;gap:12px}
figure{margin:0;width:206px;background:#fff;border:1px solid #dde;border-radius:6px;padding:3px}
figure img{width:200px;display:block;border-radius:4px} figcaption{font-size:12px;color:#444;padding:4px 2px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px}
th,td{border:1px solid #e1e3e8;padding:5px 7px;text-align:left;vertical-align:top} th{background:#eef0f4}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px}
.muted{color:#778} footer{margin-top:30px;color:#778;font-size:12px}
"""


def _badge(level: str) -> str:
    fg, bg = LEVEL_STYLE.get(level, LEVEL_STYLE["inconclusive"])
    return f'<span class="badge" style="color:{fg};background:{bg}">{html.escape(level)}</span>'


def render_html(data: dict, timeline_png: bytes | None, thumbs: Sequence, overview: Sequence = ()) -> str:
    v = data["verdict"]
    fg, bg = LEVEL_STYLE.get(v["level"], LEVEL_STYLE["inconclusive"])
    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
             f"<title>interview-guard report: {e(data['source'])}</title><style>{CSS}</style></head><body><main>"]
    parts.append(f"<h1>interview-guard report</h1><div class='meta'>{e(data['source'])} · "
                 f"{e(fmt_clock(int(data['duration_s'] * NS_PER_S)))} analysed · generated {e(data['generated'])} · "
                 f"the analysis ran locally; nothing left this computer</div>")
    parts.append(f"<section class='verdict' id='verdict' style='background:{bg};color:{fg}'>"
                 f"<div class='lvl'>{e(v['level'].upper())} — {e(v['headline'])}</div>"
                 f"<div>{e(v['text'])}</div>")
    if v["reasons"]:
        parts.append("<ul>" + "".join(f"<li>{e(r)}</li>" for r in v["reasons"]) + "</ul>")
    if v["next_step"]:
        parts.append(f"<div class='step'><b>Suggested next step:</b> {e(v['next_step'])}</div>")
    parts.append("</section>")
    parts.append("<h2 id='timeline'>Timeline</h2>")
    if timeline_png:
        parts.append(_img(timeline_png, "timeline of the risk and of each check", "timeline"))
    else:
        parts.append("<p class='muted'>No timeline: nothing was analysed.</p>")
    parts.append("<h2 id='moments'>Flagged moments</h2>")
    if thumbs:
        parts.append("<div class='thumbs'>")
        for th in thumbs:
            cap = f"{fmt_clock(th.t_ns)} — {th.caption}"
            parts.append(f"<figure>{_img(th.jpeg, cap, 'thumb', 'image/jpeg')}<figcaption>{e(cap)}</figcaption></figure>")
        parts.append("</div>")
    else:
        parts.append("<p class='muted'>No moment was flagged.</p>")
    if overview:
        parts.append("<h2 id='overview'>What the tool saw</h2><div class='thumbs'>")
        for th in overview:
            cap = fmt_clock(th.t_ns)
            parts.append(f"<figure>{_img(th.jpeg, 'frame at ' + cap, 'overview', 'image/jpeg')}"
                         f"<figcaption>{e(cap)}</figcaption></figure>")
        parts.append("</div>")
    parts.append("<h2 id='cues'>Level changes</h2>")
    if data["cues"]:
        parts.append("<table><tr><th>time</th><th>level</th><th>reasons</th><th>suggested next step</th></tr>")
        for c in data["cues"]:
            parts.append(f"<tr><td>{e(fmt_clock(int(c['t_s'] * NS_PER_S)))}</td><td>{_badge(c['level'])}</td>"
                         f"<td>{'<br>'.join(e(r) for r in c['reasons'])}</td><td>{e(c['next_step'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p class='muted'>The level never changed.</p>")
    parts.append("<h2 id='challenges'>Challenge results</h2>")
    if data["challenges"]:
        parts.append("<table><tr><th>time</th><th>check</th><th>result</th><th>what was seen</th></tr>")
        for c in data["challenges"]:
            parts.append(f"<tr><td>{e(fmt_clock(int(c['t_s'] * NS_PER_S)))}</td><td>{e(c['challenge'])}</td>"
                         f"<td>{e(c['result'])}</td><td>{e(c['reason'])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p class='muted'>No challenge (hand wave, head turn) was run.</p>")
    parts.append("<h2 id='segments'>Segments</h2>")
    if data["periods"] or data["segments"]:
        parts.append("<table><tr><th>from</th><th>to</th><th>level</th><th>why</th></tr>")
        for p in data["periods"]:
            parts.append(f"<tr><td>{e(fmt_clock(int(p['start_s'] * NS_PER_S)))}</td>"
                         f"<td>{e(fmt_clock(int(p['end_s'] * NS_PER_S)))}</td><td>{_badge(p['level'])}</td>"
                         f"<td>{'<br>'.join(e(r) for r in p['reasons'][:3])}</td></tr>")
        for s in data["segments"]:
            parts.append(f"<tr><td>{e(str(s.get('wall_start') or s.get('t_start_s')))}</td>"
                         f"<td>{e(str(round(float(s.get('duration_s', 0)), 1)))} s recorded ({e(s.get('file', ''))})</td>"
                         f"<td>{_badge(s.get('level', 'green'))}</td>"
                         f"<td>{e(s.get('trigger', ''))}: {'<br>'.join(e(r) for r in s.get('reasons', [])[:3])}</td></tr>")
        parts.append("</table>")
    else:
        parts.append("<p class='muted'>No segment was flagged.</p>")
    parts.append("<h2 id='cannot-judge'>What could not be judged</h2>")
    if data["cannot_judge"]:
        parts.append("<ul>" + "".join(f"<li>{e(g['text'])}</li>" for g in data["cannot_judge"]) + "</ul>")
    else:
        parts.append("<p class='muted'>Every part of the recording could be judged.</p>")
    parts.append("<h2 id='checks'>Checks that ran</h2><table><tr><th>check</th><th>version</th>"
                 "<th>calibration</th><th>evidence items</th></tr>")
    for d in data["detectors"]:
        parts.append(f"<tr><td>{e(d['name'])} <span class='muted'>({e(d['id'])})</span></td><td>{e(d['version'])}</td>"
                     f"<td>{e(d['calibration'])}</td><td>{d['evidence']}</td></tr>")
    parts.append("</table>")
    parts.append(f"<footer>interview-guard {e(data['app_version'])} · calibration: {e(data['calibration_file'])} "
                 f"· a cue is a reason to verify, never proof. Levels: green (no concern), amber (worth a check), "
                 f"red (verify identity another way), inconclusive (could not judge).</footer>")
    parts.append("</main></body></html>")
    return "".join(parts)


def build_report(inp: ReportInput, out_dir: str | Path, *, name: str = "report") -> tuple[Path, Path]:
    """Write ``<name>.html`` and ``<name>.json`` into ``out_dir``; returns their paths."""
    from interview_guard.reports.plots import timeline_png

    out = Path(out_dir)
    s = inp.summary
    modalities: dict[str, str] = dict(s.get("_modalities", {}))
    versions = {d["id"]: d["version"] for d in s.get("detectors", [])}
    cal_status = (s.get("fusion") or {}).get("calibration", {}).get("detectors", {})
    has_audio = any(m in ("audio", "av") for d, m in modalities.items() if d != "face_quality")
    duration = float(s.get("duration_s") or 0.0)
    gaps = cannot_judge(inp.points, inp.evidence, modalities, min_gap_s=inp.inconclusive_after_s,
                        duration_s=duration, has_audio_checks=has_audio, face_hint=face_hint(s))
    lip = lip_sync_unchecked(s, inp.evidence, modalities)
    if lip is not None:
        gaps.append(lip)
    counts: dict[str, int] = {}
    for ev in inp.evidence:
        counts[ev.detector] = counts.get(ev.detector, 0) + 1
    dets = []
    for d_id in sorted(set(versions) | set(counts)):
        dets.append({"id": d_id, "name": detector_name(d_id), "version": versions.get(d_id, "?"),
                     "calibration": "quality gate (no calibration needed)" if d_id == "face_quality"
                     else cal_status.get(d_id, "uncalibrated"), "evidence": counts.get(d_id, 0)})
    data: dict[str, Any] = {
        "schema": 1,
        "source": inp.source_name or s.get("source", ""),
        "duration_s": duration,
        "generated": time.strftime("%Y-%m-%d %H:%M"),
        "app_version": s.get("app_version", __version__),
        "verdict": verdict(s, inp.cues, gaps),
        "cues": [c.to_json() for c in inp.cues],
        "challenges": challenge_results(inp.evidence),
        "periods": flagged_periods(inp.points, inp.cues),
        "segments": list(inp.segments),
        "cannot_judge": gaps,
        "detectors": dets,
        "thumbnails": [{"t_s": round(t.t_ns / NS_PER_S, 2), "caption": t.caption, "kind": t.kind} for t in inp.thumbs],
        "calibration_file": (s.get("fusion") or {}).get("calibration", {}).get("file", "") or "none (uncalibrated)",
        "summary": {k: s.get(k) for k in ("frames_analysed", "face_fraction", "complete", "cancelled", "error",
                                          "realtime_factor", "max_level")},
        "timeline": [p.to_json() for p in inp.points],
    }
    png = timeline_png(inp.points, inp.cues, h_amber=inp.h_amber, h_red=inp.h_red,
                       names={d: detector_name(d) for d in versions}) if inp.points else None
    page = render_html(data, png, inp.thumbs, inp.overview)
    html_path, json_path = out / f"{name}.html", out / f"{name}.json"
    atomic_write_bytes(html_path, page.encode("utf-8"))
    atomic_write_json(json_path, data)
    return html_path, json_path


def load_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())
