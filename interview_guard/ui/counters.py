"""Pipeline health counters: analysed frames, fps, dropped frames, latency, perception cost."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QWidget

DASH = "–"


class CountersPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("countersPanel")
        form = QFormLayout(self)
        form.setContentsMargins(10, 8, 10, 8)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(3)

        def value(name: str, tip: str) -> QLabel:
            lab = QLabel(DASH)
            lab.setObjectName(name)
            lab.setProperty("role", "value")
            lab.setToolTip(tip)
            return lab

        self.analysed = value("analysedValue", "Frames the checks have looked at, of the frames captured.")
        self.fps = value("fpsValue", "Frames analysed per second over the last 2 s.")
        self.dropped = value("droppedValue",
                             "Frames skipped because the analysis was busy. Skipping keeps the view live; "
                             "a few are normal on a slow machine.")
        self.latency = value("latencyValue", "Time from capturing a frame to its result (median, 95th percentile).")
        self.perception = value("perceptionValue", "Time the face and hand models take per frame (median).")
        self.sound = value("soundValue", "Sound the voice checks listen to, in 0.1-s pieces (analysed, and "
                                         "skipped because the analysis was busy).")
        form.addRow("Analysed", self.analysed)
        form.addRow("Speed", self.fps)
        form.addRow("Dropped", self.dropped)
        form.addRow("Latency", self.latency)
        form.addRow("Models", self.perception)
        form.addRow("Sound", self.sound)
        self.last = None

    def reset(self) -> None:
        self.last = None
        for lab in (self.analysed, self.fps, self.dropped, self.latency, self.perception, self.sound):
            lab.setText(DASH)

    def show_stats(self, st) -> None:
        """Show a ``pipeline.realtime.LiveStats``."""
        self.last = st
        self.analysed.setText(f"{st.analysed} of {st.captured} frames")
        self.fps.setText(f"{st.fps:.1f} fps")
        self.dropped.setText(f"{st.dropped}" + (f" (+{st.evidence_overflow} notes)" if st.evidence_overflow else ""))
        if st.analysed:
            self.latency.setText(f"{st.latency_p50_ms:.0f} ms (p95 {st.latency_p95_ms:.0f} ms)")
            self.perception.setText(f"{st.perception_ms:.0f} ms per frame")
        audio = getattr(st, "audio", "")
        if not audio:
            self.sound.setText("not analysed")
        else:
            dropped = getattr(st, "audio_dropped", 0)
            self.sound.setText(f"{getattr(st, 'audio_s', 0.0):.0f} s heard" + (f" ({dropped} skipped)" if dropped else ""))
