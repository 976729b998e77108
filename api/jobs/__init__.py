"""Targeting jobs: the job function (:mod:`.runner`) and the embedded worker (:mod:`.embedded`)."""
