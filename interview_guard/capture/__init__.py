"""Capture sources: each yields timestamped frames / audio chunks behind one interface."""
