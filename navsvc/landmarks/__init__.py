"""Scalp landmarks: 10-05 positions, Beam F3 and the 5-cm rule on the patient's head."""
