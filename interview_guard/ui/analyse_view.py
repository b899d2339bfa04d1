""""Analyse recording": the offline pipeline on a file, with progress, remaining time and cancel.

Runs ``reports.offline.analyze_with_report`` (the same Lockstep pipeline as ``interview-guard
analyze``) on a background thread; progress comes back through a queue drained by a QTimer
(the UI never waits). Remaining time = seconds left × (wall time so far / seconds analysed).
At the end it shows the level and a button that opens the HTML report.
"""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QDialog, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from interview_guard.core.errors import IGError


def fmt_remaining(s: float) -> str:
    s = max(0, int(round(s)))
    if s >= 3600:
        return f"about {s // 3600} h {s // 60 % 60:02d} min left"
    if s >= 60:
        return f"about {s // 60} min {s % 60:02d} s left"
    return f"about {s} s left"


class AnalyseView(QDialog):
    finished_analysis = Signal(object)      # reports.offline.OfflineResult, or None on error/cancel

    def __init__(self, parent: QWidget | None = None, *, analyzer_factory: Callable[[], object] | None = None,
                 out_root: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("analyseView")
        self.setWindowTitle("Analyse a recording")
        self.setModal(False)
        self.analyzer_factory = analyzer_factory
        self.out_root = out_root
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._t0 = 0.0
        self.result = None
        self.error: str | None = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setObjectName("analysePath")
        self.path_edit.setPlaceholderText("A recording of an interview (mp4, mkv, webm, mov…)")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self.choose_file)
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        crow = QHBoxLayout()
        crow.addWidget(QLabel("Challenges in the recording:"))
        self.challenge_edit = QLineEdit()
        self.challenge_edit.setObjectName("analyseChallenges")
        self.challenge_edit.setPlaceholderText("optional, seconds: 62-70:hand_wave, 130-140:head_turn")
        self.challenge_edit.setToolTip("Mark where the interviewer asked for a hand wave or a head turn; each span "
                                       "is scored like a live challenge (every frame is analysed then).")
        crow.addWidget(self.challenge_edit, 1)
        lay.addLayout(crow)
        self.challenge_results: list = []
        self.progress = QProgressBar()
        self.progress.setObjectName("analyseProgress")
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("%p%")
        lay.addWidget(self.progress)
        self.remaining = QLabel("")
        self.remaining.setObjectName("analyseRemaining")
        self.status = QLabel("Choose a recording and press Start. The analysis runs on this computer.")
        self.status.setObjectName("analyseStatus")
        self.status.setWordWrap(True)
        lay.addWidget(self.remaining)
        lay.addWidget(self.status)
        btns = QHBoxLayout()
        btns.addStretch(1)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("analyseStart")
        self.start_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("analyseCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_button = QPushButton("Open report")
        self.open_button.setObjectName("analyseOpen")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(self.open_report)
        for b in (self.start_button, self.cancel_button, self.open_button):
            btns.addWidget(b)
        lay.addLayout(btns)
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._drain)
        self.resize(560, 200)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Analyse a recording", "",
                                              "Recordings (*.mp4 *.mkv *.mov *.webm *.avi *.m4v);;All files (*)")
        if path:
            self.path_edit.setText(path)

    def out_dir_for(self, path: Path) -> Path:
        if self.out_root is not None:
            return self.out_root / path.stem
        from interview_guard.cli.main import default_out_dir

        return default_out_dir(path.stem)

    def start(self, path: str | Path | None = None) -> bool:
        if self.running:
            return False
        p = Path(path) if path else Path(self.path_edit.text().strip())
        if not str(p) or not p.is_file():
            self.status.setText(f"Cannot analyse “{p}”: no such file.")
            return False
        self.path_edit.setText(str(p))
        specs = self.challenge_specs()
        runner = None
        if specs:
            from interview_guard.challenges.offline import runner_for

            try:
                runner = runner_for(specs)
            except IGError as e:
                self.status.setText(f"Cannot use the challenge marks: {str(e).replace('--challenge ', '')}")
                return False
        self._runner = runner
        self.challenge_results = []
        self._cancel.clear()
        self.result = None
        self.error = None
        self.progress.setValue(0)
        self.remaining.setText("")
        self.open_button.setEnabled(False)
        self.status.setText(f"Analysing {p.name}…")
        self._t0 = time.monotonic()
        out = self.out_dir_for(p)
        self._thread = threading.Thread(target=self._work, args=(p, out), name="ig-offline", daemon=True)
        self._thread.start()
        self._timer.start()
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        return True

    def challenge_specs(self) -> list[str]:
        """The marked spans as ``START-END[:TYPE]`` strings (the CLI's ``--challenge``)."""
        text = self.challenge_edit.text().replace(";", ",")
        return [t.strip() for t in text.split(",") if t.strip()]

    def cancel(self) -> None:
        if self.running:
            self._cancel.set()
            self.status.setText("Cancelling…")

    def _work(self, path: Path, out: Path) -> None:
        from interview_guard.reports.offline import analyze_with_report

        def progress(done_s: float, total_s: float) -> None:
            self._q.put(("progress", done_s, total_s))

        runner = getattr(self, "_runner", None)
        factory, kw = self.analyzer_factory, {}
        if runner is not None:                   # challenge spans need every frame
            from interview_guard.challenges.offline import analyzer_factory

            factory, kw = analyzer_factory(runner, self.analyzer_factory), {"sample_fps": 0.0}
        try:
            res = analyze_with_report(path, out, progress=progress, cancel=self._cancel,
                                      analyzer_factory=factory, **kw)
            if runner is not None:
                from interview_guard.challenges.offline import complete

                self.challenge_results = complete(runner, out / "evidence.jsonl")
            self._q.put(("done", res, None))
        except IGError as e:
            self._q.put(("done", None, str(e)))
        except Exception as e:  # noqa: BLE001 - shown in the view, never raised into Qt
            self._q.put(("done", None, f"the analysis stopped on an unexpected error: {e}"))

    def _drain(self) -> None:
        last = None
        while True:
            try:
                item = self._q.get_nowait()
            except queue.Empty:
                break
            if item[0] == "progress":
                last = item
            else:
                self._finish(item[1], item[2])
                return
        if last is not None:
            _, done_s, total_s = last
            if total_s > 0:
                frac = min(1.0, done_s / total_s)
                self.progress.setValue(int(frac * 1000))
                el = time.monotonic() - self._t0
                if done_s > 0.5 and el > 0.5:
                    self.remaining.setText(fmt_remaining((total_s - done_s) * el / done_s))
            else:
                self.progress.setRange(0, 0)

    def _finish(self, res, err: str | None) -> None:
        self._timer.stop()
        if self._thread is not None:
            self._thread.join(1.0)
        self.progress.setRange(0, 1000)
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.remaining.setText("")
        self.result = res
        self.error = err
        if err:
            self.status.setText(f"Could not analyse: {err}")
        elif res is not None:
            s = res.result.summary
            if s.get("cancelled"):
                self.status.setText(f"Cancelled after {s['duration_s']:.0f} s of video; the partial report is "
                                    f"in {res.out_dir}.")
            else:
                self.progress.setValue(1000)
                text = (f"Done: level {s['max_level']} ({len(s.get('cues', []))} level changes). "
                        f"Report: {res.report_html}")
                if self.challenge_results:
                    from interview_guard.challenges.offline import describe

                    text += "\n" + "\n".join(describe(r) for r in self.challenge_results)
                self.status.setText(text)
            self.open_button.setEnabled(res.report_html is not None)
        self.finished_analysis.emit(res if not err else None)

    def open_report(self) -> None:
        if self.result is not None and self.result.report_html is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.report_html)))

    def closeEvent(self, event) -> None:  # noqa: N802
        self.cancel()
        if self._thread is not None:
            self._thread.join(5.0)
        self._timer.stop()
        super().closeEvent(event)
