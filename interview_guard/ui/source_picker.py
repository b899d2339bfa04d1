"""Pick what to analyse: a window (live thumbnails, call windows first), the screen, a camera,
a recording file or the demo. Emits ``source_chosen(spec)`` with a spec for the capture factory.

The window list and thumbnails refresh every ``refresh_ms`` (2 s) while the dialog is visible
and not at all when it is hidden. Listing windows can fail (no X display, Wayland-only,
another OS): the picker then says why and the other sources stay available.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap, QShowEvent, QHideEvent
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QFileDialog, QHBoxLayout, QLabel, QListView, QListWidget, QListWidgetItem, QPushButton, QSpinBox, QVBoxLayout, QWidget)

ROLE_TITLE = Qt.ItemDataRole.UserRole + 1
ROLE_ID = Qt.ItemDataRole.UserRole + 2
MAX_WINDOWS = 24
VIDEO_FILTER = "Recordings (*.mp4 *.mkv *.mov *.webm *.avi *.m4v);;All files (*)"


def _default_list_windows():
    from interview_guard.capture.factory import list_windows  # the platform's window backend

    return list_windows()


def _default_candidates(windows):
    from interview_guard.capture.x11_windows import candidate_call_windows  # pure ranking by title

    return candidate_call_windows(windows)


def _default_thumbnail(win, max_w: int, sct=None) -> np.ndarray:
    from interview_guard.capture.x11_windows import thumbnail

    return thumbnail(win, max_w, sct=sct) if sct is not None else thumbnail(win, max_w)


def rgb_to_pixmap(img: np.ndarray) -> QPixmap:
    """An (H, W, 3) uint8 RGB array as a QPixmap (pixels copied: the array may go away)."""
    a = np.ascontiguousarray(img)
    h, w = a.shape[:2]
    return QPixmap.fromImage(QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy())


AUDIO_CHOICES = (("Automatic", "auto"), ("Call audio (system loopback)", "loopback"),
                 ("Microphone", "mic"), ("No sound", "none"))


class SourcePicker(QDialog):
    source_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, refresh_ms: int = 2000, thumb_w: int = 240,
                 list_windows: Callable[[], list] | None = None,
                 candidates: Callable[[list], list] | None = None,
                 thumbnail: Callable[..., np.ndarray] | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sourcePicker")
        self.setWindowTitle("interview-guard — choose a source")
        self._list_windows = list_windows or _default_list_windows
        self._candidates = candidates or _default_candidates
        self._thumbnail = thumbnail or _default_thumbnail
        self.thumb_w = thumb_w
        self.refresh_count = 0
        self._items: dict[int, QListWidgetItem] = {}

        lay = QVBoxLayout(self)
        head = QLabel("Choose the call window to analyse. Call windows are listed first.")
        head.setObjectName("panelTitle")
        head.setWordWrap(True)
        lay.addWidget(head)

        self.windows = QListWidget()
        self.windows.setObjectName("windowList")
        self.windows.setViewMode(QListView.ViewMode.IconMode)
        self.windows.setIconSize(QSize(thumb_w, thumb_w * 9 // 16))
        self.windows.setResizeMode(QListView.ResizeMode.Adjust)
        self.windows.setMovement(QListView.Movement.Static)
        self.windows.setWordWrap(True)
        self.windows.setSpacing(8)
        self.windows.setMinimumSize(3 * (thumb_w + 24), 2 * (thumb_w * 9 // 16 + 60))
        self.windows.itemDoubleClicked.connect(lambda _item: self._choose_window())
        self.windows.itemSelectionChanged.connect(self._update_buttons)
        lay.addWidget(self.windows, 1)

        self.status = QLabel("")
        self.status.setObjectName("pickerStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.status)

        sound = QHBoxLayout()
        sound.addWidget(QLabel("Sound to analyse:"))
        self.audio_box = QComboBox()
        self.audio_box.setObjectName("audioChoice")
        for label, spec in AUDIO_CHOICES:
            self.audio_box.addItem(label, spec)
        self.audio_box.setToolTip("Automatic: a recording's own sound; for a call, the call audio through the "
                                  "system loopback when available. Nothing is sent anywhere.")
        sound.addWidget(self.audio_box)
        sound.addStretch(1)
        lay.addLayout(sound)

        row = QHBoxLayout()
        self.window_btn = QPushButton("Analyse this window")
        self.window_btn.setDefault(True)
        self.window_btn.clicked.connect(self._choose_window)
        row.addWidget(self.window_btn)
        screen = QPushButton("Whole screen")
        screen.clicked.connect(lambda: self._choose("screen"))
        row.addWidget(screen)
        self.camera_index = QSpinBox()
        self.camera_index.setRange(0, 9)
        self.camera_index.setToolTip("Camera number (0 is the first camera)")
        cam = QPushButton("Camera")
        cam.clicked.connect(lambda: self._choose(f"camera:{self.camera_index.value()}"))
        row.addWidget(cam)
        row.addWidget(self.camera_index)
        file_btn = QPushButton("Recording file…")
        file_btn.clicked.connect(self._choose_file)
        row.addWidget(file_btn)
        demo = QPushButton("Demo recording")
        demo.setToolTip("A short synthetic interview that shows what the checks do")
        demo.clicked.connect(lambda: self._choose("demo"))
        row.addWidget(demo)
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        row.addWidget(cancel)
        lay.addLayout(row)

        self._timer = QTimer(self)
        self._timer.setInterval(refresh_ms)
        self._timer.timeout.connect(self.refresh)
        self._update_buttons()

    # -- visibility drives the refresh timer ----------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt name
        super().showEvent(event)
        self.refresh()
        self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 - Qt name
        self._timer.stop()
        super().hideEvent(event)

    @property
    def refreshing(self) -> bool:
        return self._timer.isActive()

    # -- window list ------------------------------------------------------------------------------
    def _own_titles(self) -> set[str]:
        return {w.windowTitle() for w in QApplication.topLevelWidgets() if w.windowTitle()}

    def refresh(self) -> None:
        """Re-list windows and re-grab their thumbnails (keeps the selection)."""
        self.refresh_count += 1
        try:
            wins = self._list_windows()
        except Exception as e:  # noqa: BLE001 - IGError or X trouble: say it, keep the other sources
            self._set_windows([], [])
            self.status.setText(f"Windows cannot be listed: {e}. You can still use the screen, a camera, "
                                "a recording or the demo.")
            return
        own = self._own_titles()
        wins = [w for w in wins if w.title not in own]
        try:
            calls = self._candidates(wins)
        except Exception:  # noqa: BLE001 - ranking is a nicety
            calls = []
        call_ids = {w.id for w in calls}
        rest = [w for w in reversed(wins) if w.id not in call_ids]  # top-most first
        ordered = (list(calls) + rest)[:MAX_WINDOWS]
        self._set_windows(ordered, call_ids)
        if not ordered:
            self.status.setText("No windows found. Start the call first, or pick another source.")
        elif not calls:
            self.status.setText("No call window recognised (Zoom, Teams, Meet, …): pick the window that shows "
                                "the candidate.")
        else:
            self.status.setText("")

    def _set_windows(self, wins: list, call_ids) -> None:
        keep = {w.id for w in wins}
        for wid in [k for k in self._items if k not in keep]:
            item = self._items.pop(wid)
            self.windows.takeItem(self.windows.row(item))
        sct = self._open_mss() if wins else None
        try:
            for pos, w in enumerate(wins):
                item = self._items.get(w.id)
                if item is None:
                    item = QListWidgetItem()
                    item.setData(ROLE_ID, w.id)
                    self._items[w.id] = item
                    self.windows.insertItem(pos, item)
                elif self.windows.row(item) != pos:
                    selected = item.isSelected()
                    self.windows.takeItem(self.windows.row(item))
                    self.windows.insertItem(pos, item)
                    item.setSelected(selected)
                item.setData(ROLE_TITLE, w.title)
                label = w.title if len(w.title) <= 60 else w.title[:57] + "…"
                item.setText(("Call: " if w.id in call_ids else "") + label)
                item.setToolTip(f"{w.title}\n{w.width}×{w.height} at ({w.x}, {w.y})")
                try:
                    item.setIcon(QIcon(rgb_to_pixmap(self._thumbnail(w, self.thumb_w, sct))))
                except Exception:  # noqa: BLE001 - a window that vanished mid-refresh keeps its old picture
                    pass
        finally:
            if sct is not None:
                try:
                    sct.close()
                except Exception:  # noqa: BLE001
                    pass
        if self.windows.currentItem() is None and self.windows.count():
            self.windows.setCurrentRow(0)
        self._update_buttons()

    @staticmethod
    def _open_mss():
        try:
            import mss

            return mss.MSS()
        except Exception:  # noqa: BLE001 - thumbnails fall back to one grabber per window
            return None

    def window_titles(self) -> list[str]:
        return [self.windows.item(i).data(ROLE_TITLE) for i in range(self.windows.count())]

    def _update_buttons(self) -> None:
        self.window_btn.setEnabled(self.windows.currentItem() is not None)

    # -- choosing -------------------------------------------------------------------------------------
    @property
    def audio_spec(self) -> str:
        """The chosen sound source: ``auto``, ``loopback``, ``mic`` or ``none``."""
        return str(self.audio_box.currentData() or "auto")

    def _choose(self, spec: str) -> None:
        self.source_chosen.emit(spec)
        self.accept()

    def _choose_window(self) -> None:
        item = self.windows.currentItem()
        if item is not None:
            self._choose(f"window:{item.data(ROLE_TITLE)}")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a recording", "", VIDEO_FILTER)
        if path:
            self._choose(f"file:{path}")
