"""navsvc: MRI-neuronavigated rTMS targeting (domain library, no HTTP)."""

from navsvc.process_memory import prefer_small_pages

__version__ = "0.1.0"

prefer_small_pages()  # before numpy's first import, wherever navsvc is used (see navsvc.process_memory)
