"""JSON Schemas of navsvc's documents (package data)."""
