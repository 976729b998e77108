"""navsvc: MRI-neuronavigated rTMS targeting (domain library, no HTTP)."""

__version__ = "0.1.0"
