"""Wires sources → perception → detectors; Lockstep (offline) and Realtime (live) schedules."""
