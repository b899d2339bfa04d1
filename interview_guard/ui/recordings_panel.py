"""Saved segments: list, play with the evidence overlaid, export, delete; the retention setting.

The list reads the session index (``recording.store.SegmentStore``). Playing decodes the mp4
with PyAV on a QTimer (segments are short) and paints, over each frame, the reasons that were
active at that moment (from the segment's sidecar). Export copies the mp4 and its sidecar to a
folder (checked against the sha256). Delete asks first. Retention: segments older than N days
are deleted when the setting is applied and whenever the panel opens a store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMessageBox,
                               QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget)

from interview_guard.core.types import NS_PER_S
from interview_guard.fusion.cues import fmt_clock
from interview_guard.recording.index import SegmentRow
from interview_guard.recording.settings import RecordingSettings
from interview_guard.recording.store import RecordingError, SegmentStore

ROLE_ID = Qt.ItemDataRole.UserRole + 2


def overlay_lines(sidecar: dict, t_session_s: float) -> list[str]:
    """The reasons to show over the frame at session time ``t_session_s``."""
    lines = []
    for e in sidecar.get("evidence", []):
        if e.get("kind") == "risk" and e.get("llr", 0) > 0 and e["t_start_s"] - 0.5 <= t_session_s <= e["t_end_s"] + 1.5:
            lines.append(e.get("reason", ""))
    for t in sidecar.get("triggers", []):
        if abs(t.get("t_s", -99) - t_session_s) <= 2.0:
            lines.insert(0, f"{t.get('kind', '')}: {t.get('reason', '')}")
    seen, out = set(), []
    for ln in lines:
        if ln and ln not in seen:
            seen.add(ln)
            out.append(ln)
    return out[:3]


class SegmentPlayer(QLabel):
    """Plays one segment (video only; the sound stays in the file) with the evidence overlaid."""

    finished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("segmentPlayer")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(240, 135)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet("background: #1f2328; color: #c9d1d9;")
        self.setText("Select a segment and press Play")
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._next)
        self._container = None
        self._frames = None
        self.sidecar: dict = {}
        self.frames_shown = 0
        self.last_overlay: list[str] = []

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def play(self, path: Path, sidecar: dict) -> None:
        import av

        self.stop()
        self.sidecar = sidecar
        self.frames_shown = 0
        try:
            self._container = av.open(str(path))
            vs = self._container.streams.video[0]
            self._frames = self._container.decode(vs)
            rate = float(vs.average_rate or 15)
        except Exception as e:  # noqa: BLE001 - show, don't crash
            self.setText(f"Cannot play {path.name}: {e}")
            return
        self._timer.start(max(15, int(1000 / max(1.0, rate))))

    def stop(self) -> None:
        self._timer.stop()
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001
                pass
        self._container = None
        self._frames = None

    def _next(self) -> None:
        try:
            fr = next(self._frames) if self._frames is not None else None
        except (StopIteration, Exception):  # noqa: BLE001 - end of file or a damaged tail
            fr = None
        if fr is None:
            self.stop()
            self.finished.emit()
            return
        img = fr.to_ndarray(format="rgb24")
        t = float(self.sidecar.get("t_start_s", 0.0)) + float(fr.time or 0.0)
        self.show_frame(img, t)

    def show_frame(self, img: np.ndarray, t_session_s: float) -> None:
        h, w = img.shape[:2]
        qimg = QImage(np.ascontiguousarray(img).data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        pm = QPixmap.fromImage(qimg)
        lines = overlay_lines(self.sidecar, t_session_s)
        self.last_overlay = lines
        p = QPainter(pm)
        f = QFont(self.font())
        f.setPointSizeF(max(8.0, w / 70))
        p.setFont(f)
        fh = p.fontMetrics().height()
        p.fillRect(QRectF(0, 0, w, fh + 6), QColor(0, 0, 0, 140))
        p.setPen(QColor(235, 235, 235))
        p.drawText(QRectF(6, 3, w - 12, fh), Qt.AlignmentFlag.AlignLeft, fmt_clock(int(t_session_s * NS_PER_S)))
        if lines:
            box_h = (fh + 2) * len(lines) + 8
            p.fillRect(QRectF(0, h - box_h, w, box_h), QColor(0, 0, 0, 150))
            for i, ln in enumerate(lines):
                p.drawText(QRectF(6, h - box_h + 4 + i * (fh + 2), w - 12, fh), Qt.AlignmentFlag.AlignLeft,
                           p.fontMetrics().elidedText(ln, Qt.TextElideMode.ElideRight, w - 12))
        p.end()
        self.setPixmap(pm.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation))
        self.frames_shown += 1


class RecordingsPanel(QWidget):
    """``set_store(store)``, ``refresh()``; buttons Play / Export… / Delete; retention days."""

    def __init__(self, parent: QWidget | None = None, *, store: SegmentStore | None = None,
                 config_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordingsPanel")
        self.store = store
        self.config_dir = config_dir
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(5)
        title = QLabel("Saved moments")
        title.setObjectName("panelTitle")
        self.caption = QLabel("Short recordings saved when something was worth a check or you pressed Flag. "
                              "They stay on this computer.")
        self.caption.setWordWrap(True)
        self.caption.setObjectName("evidenceCaption")
        self.list = QListWidget()
        self.list.setObjectName("recordingsList")
        self.list.setWordWrap(True)
        self.list.currentItemChanged.connect(lambda *_: self._update_buttons())
        self.list.itemDoubleClicked.connect(lambda *_: self.play_selected())
        self.player = SegmentPlayer()
        btns = QHBoxLayout()
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.play_selected)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(lambda: self.export_selected())
        self.delete_button = QPushButton("Delete")
        self.delete_button.clicked.connect(lambda: self.delete_selected())
        for b in (self.play_button, self.export_button, self.delete_button):
            btns.addWidget(b)
        ret = QHBoxLayout()
        ret.addWidget(QLabel("Delete saved moments after"))
        self.retention = QSpinBox()
        self.retention.setObjectName("retentionDays")
        self.retention.setRange(0, 3650)
        self.retention.setSuffix(" days")
        self.retention.setSpecialValueText("never")
        self.retention.setValue(int(RecordingSettings.load(config_dir).retention_days))
        self.retention.editingFinished.connect(self.apply_retention)
        ret.addWidget(self.retention)
        ret.addStretch(1)
        self.status = QLabel("")
        self.status.setObjectName("recordingsStatus")
        self.status.setWordWrap(True)
        for w in (title, self.caption, self.list):
            lay.addWidget(w)
        lay.addLayout(btns)
        lay.addWidget(self.player, 1)
        lay.addLayout(ret)
        lay.addWidget(self.status)
        self._update_buttons()
        if store is not None:
            self.set_store(store)

    # -- data --------------------------------------------------------------------------------
    def set_store(self, store: SegmentStore | None) -> None:
        self.store = store
        if store is not None:
            self.apply_retention(quiet=True)
        self.refresh()

    def rows(self) -> list[SegmentRow]:
        return self.store.list() if self.store is not None else []

    def refresh(self) -> None:
        cur = self.selected_id()
        self.list.clear()
        for r in reversed(self.rows()):
            reason = r.reasons[0] if r.reasons else ""
            it = QListWidgetItem(f"{r.wall_start.replace('T', ' ')}  ·  {r.duration_s:.0f} s  ·  {r.level}  ·  "
                                 f"{r.trigger}\n{reason}")
            it.setData(ROLE_ID, r.id)
            it.setToolTip("\n".join(r.reasons))
            self.list.addItem(it)
            if r.id == cur:
                self.list.setCurrentItem(it)
        if self.list.currentItem() is None and self.list.count():
            self.list.setCurrentRow(0)
        self._update_buttons()

    def selected_id(self) -> str | None:
        it = self.list.currentItem()
        return it.data(ROLE_ID) if it is not None else None

    def select(self, seg_id: str) -> bool:
        for i in range(self.list.count()):
            if self.list.item(i).data(ROLE_ID) == seg_id:
                self.list.setCurrentRow(i)
                return True
        return False

    def _update_buttons(self) -> None:
        has = self.selected_id() is not None
        for b in (self.play_button, self.export_button, self.delete_button):
            b.setEnabled(has)

    # -- actions -------------------------------------------------------------------------------
    def play_selected(self) -> bool:
        seg_id = self.selected_id()
        if seg_id is None or self.store is None:
            return False
        row = self.store.index.get(seg_id)
        if row is None:
            self.refresh()
            return False
        try:
            side = self.store.sidecar(row)
        except (RecordingError, OSError, ValueError) as e:
            self.status.setText(f"Cannot read this segment's details: {e}")
            return False
        self.player.play(self.store.media_path(row), side)
        return True

    def export_selected(self, dest: str | Path | None = None) -> list[Path]:
        seg_id = self.selected_id()
        if seg_id is None or self.store is None:
            return []
        if dest is None:
            dest = QFileDialog.getExistingDirectory(self, "Export the segment to…")
            if not dest:
                return []
        try:
            out = self.store.export(seg_id, dest)
        except RecordingError as e:
            self.status.setText(str(e))
            return []
        self.status.setText(f"Exported to {Path(dest)}")
        return out

    def delete_selected(self, *, confirm: bool = True) -> bool:
        seg_id = self.selected_id()
        if seg_id is None or self.store is None:
            return False
        if confirm:
            ans = QMessageBox.question(self, "Delete this saved moment?",
                                       "The video and its details will be deleted from this computer.")
            if ans != QMessageBox.StandardButton.Yes:
                return False
        self.player.stop()
        try:
            self.store.delete(seg_id)
        except RecordingError as e:
            self.status.setText(str(e))
            return False
        self.status.setText("Deleted.")
        self.refresh()
        return True

    def apply_retention(self, quiet: bool = False) -> list[str]:
        days = float(self.retention.value())
        s = RecordingSettings.load(self.config_dir)
        if s.retention_days != days:
            s.retention_days = days
            try:
                s.save(self.config_dir)
            except Exception as e:  # noqa: BLE001
                self.status.setText(f"Could not save the setting: {e}")
        gone: list[str] = []
        if self.store is not None and days > 0:
            try:
                gone = self.store.purge_older_than(days)
            except RecordingError as e:
                self.status.setText(str(e))
        if gone:
            self.refresh()
            if not quiet:
                self.status.setText(f"Deleted {len(gone)} segment(s) older than {days:.0f} days.")
        return gone
