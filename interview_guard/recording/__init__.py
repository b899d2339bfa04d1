"""Recording flagged segments: pre-roll ring, triggers, atomic mp4 + sidecar, SQLite index, retention.

* ``writer``   – continuous H.264 encoder (ring packets) and the mp4 muxer (H.264 + AAC, PyAV);
* ``recorder`` – ``SegmentRecorder``: ring buffer, triggers, post-roll, background writer thread;
* ``store``    – ``SegmentStore``: atomic write protocol, crash recovery, retention, export, delete;
* ``index``    – the SQLite session index;
* ``settings`` – consent notice text + acknowledgement, retention days (no Qt).
"""
