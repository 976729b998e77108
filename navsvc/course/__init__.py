"""Treatment-course rules: clinic calendar, protocols, HAMD-17, safety screening and dose.

Pure functions with typed inputs and outputs; the HTTP layer (``api/``) only stores and
serves what these return. See docs/DESIGN.md §8 for the clinical facts and their sources.
"""
