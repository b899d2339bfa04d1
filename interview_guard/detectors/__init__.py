"""Detectors: pure plugins turning observations into Evidence (see ``contract``)."""
