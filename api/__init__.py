"""navsvc clinic REST service (FastAPI): patients, uploads, targeting jobs, plans, exports.

The web layer only calls the domain library :mod:`navsvc`; persistence, jobs, access
control and the audit trail live here.
"""
