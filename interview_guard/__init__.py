"""interview-guard: local, multimodal risk cues for deepfaked or proxy interview candidates."""

__version__ = "0.1.0"
