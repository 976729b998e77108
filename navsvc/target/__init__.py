"""Target strategies and their individualization on the patient's cortex."""
