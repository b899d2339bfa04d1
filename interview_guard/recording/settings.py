"""User settings for recording: consent notice, retention, folders (a JSON file + a text file).

* ``$IG_CONFIG_DIR`` (default ``~/.config/interview-guard``) holds ``settings.json`` and
  ``consent.txt``. ``consent.txt`` is the notice shown once before anything is recorded; a
  company edits it to match its policy. The acknowledgement is stored with the sha256 of the
  text it was given for, so changing the text asks again.
* ``retention_days``: saved segments older than this are deleted (0 = keep until deleted).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

DEFAULT_CONSENT = """Before you use interview-guard in this interview

interview-guard analyses the candidate's video and audio on this computer to look for signs that the
picture or voice is being altered. Nothing is uploaded.

When something is worth a check, or when you press Flag, it saves a short recording of that moment
(15 s before and 10 s after) on this computer, with the reasons. Saved recordings are deleted
automatically after the retention period set in the Recordings panel.

- Tell the candidate at the start of the interview that the call is analysed and that short
  moments may be recorded, as your company's policy and local law require.
- A cue is a reason to verify, never proof. Do not accuse the candidate: use the suggested checks.

Your organisation can replace this text with its own policy (edit consent.txt in the settings folder).
"""


def config_dir() -> Path:
    env = os.environ.get("IG_CONFIG_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "interview-guard"


@dataclass
class RecordingSettings:
    retention_days: float = 30.0
    recordings_dir: str = ""          # empty: the default folder
    preroll_s: float = 15.0
    postroll_s: float = 10.0
    consent_sha256: str = ""          # sha256 of the consent text that was acknowledged
    consent_at: str = ""
    extra: dict = field(default_factory=dict)

    # -- files ------------------------------------------------------------------------------
    @staticmethod
    def path(folder: Path | None = None) -> Path:
        return (folder or config_dir()) / "settings.json"

    @classmethod
    def load(cls, folder: Path | None = None) -> "RecordingSettings":
        p = cls.path(folder)
        try:
            d = json.loads(p.read_text())
        except (OSError, ValueError):
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, folder: Path | None = None) -> Path:
        from interview_guard.pipeline.outputs import atomic_write_json

        p = self.path(folder)
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(p, asdict(self))
        return p


def consent_path(folder: Path | None = None) -> Path:
    return (folder or config_dir()) / "consent.txt"


def consent_text(folder: Path | None = None) -> str:
    """The notice: ``consent.txt`` if it exists, else the default text."""
    try:
        text = consent_path(folder).read_text(encoding="utf-8")
    except OSError:
        return DEFAULT_CONSENT
    return text if text.strip() else DEFAULT_CONSENT


def text_sha(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def consent_needed(folder: Path | None = None) -> bool:
    return RecordingSettings.load(folder).consent_sha256 != text_sha(consent_text(folder))


def acknowledge_consent(folder: Path | None = None) -> None:
    """Store the acknowledgement; the first time, also write the default text to ``consent.txt``
    so the organisation has a file to edit."""
    p = consent_path(folder)
    if not p.exists():
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(DEFAULT_CONSENT, encoding="utf-8")
        except OSError:
            pass
    s = RecordingSettings.load(folder)
    s.consent_sha256 = text_sha(consent_text(folder))
    s.consent_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    s.save(folder)
