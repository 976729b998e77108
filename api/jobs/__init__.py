"""Targeting jobs: the job function (:mod:`.runner`), the embedded worker
(:mod:`.embedded`), and the distributed queue: Celery application (:mod:`.celery_app`),
database claims (:mod:`.claims`) and the API's sender (:mod:`.queue`)."""
