"""The ``interview-guard`` command."""
