"""Read any corpus folder's ``MANIFEST.tsv`` into frozen rows.

The format is the shared corpus's: a tab-separated header with (at least) ``file`` and
``label``; the other columns (``kind``, ``source_repo``, ``source_path``, ``license``,
``duration_s``, ``width_x_height_or_sample_rate``, ``notes``) are optional. ``notes`` may
contain ``PAIR <id>`` (a real and a fake clip cut from the same footage, e.g. the two halves of
a DeepFaceLive side-by-side demo) and ``PAIRSET <id>`` (a group of real and fake files that
share a speaker or a demo page).

The reader never raises on a bad *row*: rows without a file or a label, duplicates and
unparsable numbers become warnings. It raises ``InputError`` only when there is no manifest or
it lacks the ``file`` column. If the ``label`` column is missing, the label is taken from the
file's first folder (the corpus keeps each label in its own folder).

Each row gets

* ``modality``: video / audio / image (from the label's first word, else ``kind``, else the
  file extension), or ``unknown``;
* ``polarity``: real / fake / unknown (from the words in the label);
* ``source``: where the clip came from, for per-source results: the file name's prefix
  (``dfl_…`` → ``dfl``, ``vexpress_…`` → ``vexpress``) unless it is a generic word, else the
  last part of ``source_repo``, else ``unknown``;
* ``pair_id`` / ``pairset_id`` parsed from ``notes``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from interview_guard.core.errors import InputError

MANIFEST_NAME = "MANIFEST.tsv"

# Comparisons the issue asks for, in report order.
KNOWN_PAIRS: tuple[tuple[str, str], ...] = (
    ("video_real", "video_fake_faceswap"),
    ("video_real", "video_fake_reenact"),
    ("audio_real_speech", "audio_fake_vc"),
    ("audio_real_speech", "audio_fake_tts"),
    ("image_real_face", "image_fake_face"),
)
# The genuine label an unknown fake label of this modality is compared against (when present).
DEFAULT_REAL = {"video": "video_real", "audio": "audio_real_speech", "image": "image_real_face"}

MODALITIES = ("video", "audio", "image")
_REAL_WORDS = {"real", "genuine", "bonafide", "bona", "authentic", "pristine"}
_FAKE_WORDS = {"fake", "spoof", "deepfake", "synthetic", "manipulated", "forged"}
_GENERIC_PREFIXES = _REAL_WORDS | _FAKE_WORDS | {
    "video", "audio", "image", "img", "clip", "sample", "file", "test", "train", "val", "vid", "face", "speech",
    "swap", "faceswap", "reenact", "tts", "vc", "heldout", "held", "x", "a", "b",
}
_VIDEO_EXT = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".gif", ".flv", ".wmv", ".mpg", ".mpeg", ".ts"}
_AUDIO_EXT = {".wav", ".mp3", ".flac", ".ogg", ".m4a", ".aac", ".opus", ".wma", ".aiff", ".aif"}
_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}

_PAIR_RE = re.compile(r"(?<![A-Za-z])PAIR\s+([^\s:;,]+)")
_PAIRSET_RE = re.compile(r"(?<![A-Za-z])PAIRSET\s+([^\s:;,]+)")
_NUM_RE = re.compile(r"[-+]?\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class ManifestRow:
    """One manifest line. ``path`` is absolute (relative ``file`` entries resolve against the
    manifest's folder). ``duration_s`` is None when the column is missing or unparsable."""

    line: int
    file: str
    path: Path
    label: str
    modality: str
    polarity: str
    source: str
    source_repo: str = ""
    kind: str = ""
    duration_s: float | None = None
    notes: str = ""
    pair_id: str | None = None
    pairset_id: str | None = None
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        """Stable id of the clip within its corpus (the manifest's ``file`` entry)."""
        return self.file


@dataclass(frozen=True, slots=True)
class Manifest:
    root: Path
    rows: tuple[ManifestRow, ...]
    columns: tuple[str, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def labels(self) -> list[str]:
        return sorted({r.label for r in self.rows})

    def by_label(self) -> dict[str, list[ManifestRow]]:
        out: dict[str, list[ManifestRow]] = {}
        for r in self.rows:
            out.setdefault(r.label, []).append(r)
        return out


# --- label helpers ----------------------------------------------------------------------------

def _words(label: str) -> list[str]:
    return [w for w in re.split(r"[_\-\s./]+", label.lower()) if w]


def label_polarity(label: str) -> str:
    """``real``, ``fake`` or ``unknown`` from the words of a label (``video_fake_faceswap`` → fake)."""
    ws = set(_words(label))
    is_fake = bool(ws & _FAKE_WORDS)
    is_real = bool(ws & _REAL_WORDS)
    if is_fake and not is_real:
        return "fake"
    if is_real and not is_fake:
        return "real"
    return "unknown"


def label_modality(label: str, kind: str = "", file: str = "") -> str:
    ws = _words(label)
    if ws and ws[0] in MODALITIES:
        return ws[0]
    k = kind.strip().lower()
    if k in MODALITIES:
        return k
    ext = Path(file).suffix.lower()
    if ext in _VIDEO_EXT:
        return "video"
    if ext in _AUDIO_EXT:
        return "audio"
    if ext in _IMAGE_EXT:
        return "image"
    return "unknown"


def derive_source(file: str, source_repo: str = "") -> str:
    """Per-source grouping key: file-name prefix (``dfl_x.mp4`` → ``dfl``), else the repo name."""
    name = Path(file).name
    m = re.match(r"([A-Za-z][A-Za-z0-9]*)[_\-]", name)
    if m and m.group(1).lower() not in _GENERIC_PREFIXES and len(m.group(1)) >= 2:
        return m.group(1).lower()
    repo = source_repo.strip().rstrip("/")
    if repo:
        return repo.split("/")[-1].lower()
    return "unknown"


def parse_pair_ids(notes: str) -> tuple[str | None, str | None]:
    """``(pair_id, pairset_id)`` from a notes string (either may be None)."""
    p = _PAIR_RE.search(notes or "")
    s = _PAIRSET_RE.search(notes or "")
    return (p.group(1) if p else None, s.group(1) if s else None)


def _float(s: str | None) -> float | None:
    if s is None:
        return None
    m = _NUM_RE.search(s)
    if not m:
        return None
    try:
        v = float(m.group(0))
    except ValueError:
        return None
    return v if v >= 0 else None


# --- reading -------------------------------------------------------------------------------------

def find_manifest(corpus: str | Path) -> Path:
    p = Path(corpus)
    if p.is_file():
        return p
    m = p / MANIFEST_NAME
    if m.is_file():
        return m
    if not p.exists():
        raise InputError(f"corpus folder {p} does not exist", hint="check --corpus")
    raise InputError(f"{p} has no {MANIFEST_NAME}",
                     hint="the corpus folder needs a tab-separated MANIFEST.tsv with at least 'file' and 'label' columns")


def read_manifest(corpus: str | Path) -> Manifest:
    """Parse ``corpus/MANIFEST.tsv`` (or a manifest file path) into a ``Manifest``."""
    mpath = find_manifest(corpus)
    root = mpath.parent.resolve()
    warnings: list[str] = []
    try:
        text = mpath.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as e:
        raise InputError(f"cannot read {mpath}: {e}") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"{mpath} is empty", hint="it needs a header line with 'file' and 'label' columns")
    reader = csv.reader(lines, delimiter="\t")
    header = [h.strip().lower() for h in next(reader)]
    if "file" not in header:
        raise InputError(f"{mpath} has no 'file' column (header: {', '.join(header) or 'empty'})",
                         hint="the first line must be a tab-separated header naming at least 'file' and 'label'")
    if "label" not in header:
        warnings.append(f"{mpath.name} has no 'label' column: labels are taken from each file's first folder")
    rows: list[ManifestRow] = []
    seen: set[str] = set()
    for i, cells in enumerate(reader, start=2):
        d = {h: (cells[j].strip() if j < len(cells) else "") for j, h in enumerate(header) if h}
        file = d.get("file", "")
        if not file:
            warnings.append(f"{mpath.name} line {i}: no file name; row ignored")
            continue
        if file in seen:
            warnings.append(f"{mpath.name} line {i}: {file} is listed twice; the first row is used")
            continue
        seen.add(file)
        label = d.get("label", "")
        if not label and "/" in file.replace("\\", "/"):
            label = file.replace("\\", "/").split("/")[0]
        if not label:
            warnings.append(f"{mpath.name} line {i}: {file} has no label; row ignored")
            continue
        fp = Path(file)
        path = fp if fp.is_absolute() else root / fp
        notes = d.get("notes", "")
        pair_id, pairset_id = parse_pair_ids(notes)
        kind = d.get("kind", "")
        repo = d.get("source_repo", "")
        known = {"file", "label", "kind", "source_repo", "notes", "duration_s"}
        extra = tuple((k, v) for k, v in d.items() if k not in known and v)
        rows.append(ManifestRow(
            line=i, file=file, path=path, label=label, modality=label_modality(label, kind, file),
            polarity=label_polarity(label), source=derive_source(file, repo), source_repo=repo, kind=kind,
            duration_s=_float(d.get("duration_s")), notes=notes, pair_id=pair_id, pairset_id=pairset_id,
            extra=extra))
    return Manifest(root=root, rows=tuple(rows), columns=tuple(header), warnings=tuple(warnings))


# --- which comparisons -----------------------------------------------------------------------------

def parse_pairs_option(spec: str) -> list[tuple[str, str]]:
    """``"video_real|video_fake_x,audio_real|audio_fake_y"`` → list of (real, fake)."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if "|" not in part:
            from interview_guard.core.errors import ConfigError

            raise ConfigError(f"--pairs entry '{part}' is not of the form REAL_LABEL|FAKE_LABEL")
        a, b = (x.strip() for x in part.split("|", 1))
        out.append((a, b))
    return out


def comparison_pairs(rows: Iterable[ManifestRow],
                     explicit: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
    """The (real label, fake label) comparisons to report among the labels present.

    With ``explicit`` pairs, exactly those whose labels are present. Otherwise the issue's
    known pairs, then every other fake label against its modality's default genuine label
    (``video_real`` / ``audio_real_speech`` / ``image_real_face``) if present, else against
    every genuine label of that modality.
    """
    rows = list(rows)
    labels: dict[str, ManifestRow] = {}
    for r in rows:
        labels.setdefault(r.label, r)
    if explicit is not None:
        return [(a, b) for a, b in explicit if a in labels and b in labels]
    out = [(a, b) for a, b in KNOWN_PAIRS if a in labels and b in labels]
    covered = {b for _, b in out}
    reals_by_mod: dict[str, list[str]] = {}
    for lab, r in sorted(labels.items()):
        if r.polarity == "real":
            reals_by_mod.setdefault(r.modality, []).append(lab)
    for lab, r in sorted(labels.items()):
        if r.polarity != "fake" or lab in covered:
            continue
        default = DEFAULT_REAL.get(r.modality)
        partners = [default] if default in labels else reals_by_mod.get(r.modality, [])
        out.extend((p, lab) for p in partners)
    return out


def label_note(label: str, rows: list[ManifestRow]) -> str | None:
    """Why a label takes part in no comparison (None if it is a normal real/fake label)."""
    r = rows[0]
    if r.polarity == "unknown":
        return f"label '{label}' is neither real nor fake by its name"
    if r.modality == "unknown":
        return f"label '{label}' has no known modality (video/audio/image)"
    return None


def extra_dict(row: ManifestRow) -> Mapping[str, str]:
    return dict(row.extra)
