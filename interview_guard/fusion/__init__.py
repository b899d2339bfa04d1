"""Fusion: per-detector calibration → log-likelihood ratios → accumulation → levels with reasons.

* ``calibration`` – Platt maps per detector (``models/calibration.json``), fitting, C_llr;
* ``engine``      – 2-s hops, de-overlapping, correlated-detector weights, CUSUM, hysteresis;
* ``cues``        – the ``Cue`` a level change produces (plain-language reasons, next step);
* ``fit``         – ``interview-guard calibrate``: run the corpus, fit maps, weights and thresholds.

No Qt here; time comes only from the data.
"""

from interview_guard.fusion.calibration import Calibration, DetectorCalibration
from interview_guard.fusion.cues import Cue, CueMoment, Level
from interview_guard.fusion.engine import FusionConfig, FusionEngine, LevelMachine, RiskPoint, RiskSnapshot

__all__ = ["Calibration", "DetectorCalibration", "Cue", "CueMoment", "Level", "FusionConfig", "FusionEngine",
           "LevelMachine", "RiskPoint", "RiskSnapshot"]
