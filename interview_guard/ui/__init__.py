"""The PySide6 desktop app. The only package of interview-guard that imports Qt.

Entry point: :func:`interview_guard.ui.app.run_gui`. Importing this package itself does not
import Qt (so ``import interview_guard.ui`` stays cheap); the modules below do.

* ``app``          – QApplication set-up, style sheet, ``run_gui`` (interactive or timed/screenshot mode)
* ``main_window``  – the window: toolbar, live view, counters, evidence list, notices
* ``bridge``       – the single place where analysis results reach Qt (QTimer drains the session's queues)
* ``session``      – *no Qt*: opens a source spec and wires a ``RealtimeSession``
* ``live_view``, ``overlays`` – the frame with face-mesh / hand overlays
* ``evidence_list``, ``counters``, ``message_bar``, ``source_picker`` – the other widgets
"""
