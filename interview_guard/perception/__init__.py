"""Perception: model store, mediapipe face/hand landmarks, face quality measures."""
