"""Challenge-response checks: a prompted hand wave over the face and a head turn, scored automatically.

* ``protocol``: randomised per-call prompts and the sentence to read aloud;
* ``state``: the countdown → window → scoring state machine, driven by observation timestamps;
* ``record``: what is kept from each observation; ``hand_wave`` / ``head_turn``: the scorers;
* ``runner``: what the pipeline calls per observation (and the UI asks for a challenge);
* ``testset`` / ``eval_cli``: the seeded test set built from a corpus folder and its evaluation.

Nothing here imports Qt; the panel lives in ``interview_guard.ui.challenge_panel``.
"""

from interview_guard.challenges.protocol import HAND_WAVE, HEAD_TURN, TYPES  # noqa: F401
