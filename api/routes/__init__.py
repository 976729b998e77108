"""HTTP routes, one module per resource.

Every module in :data:`ROUTER_MODULES` defines ``router`` (an ``APIRouter``); it is
mounted under :data:`API_PREFIX` unless the module sets ``PREFIX`` (``""`` for the
health checks). Append new resource modules to the list.
"""

#: mount point of the versioned API
API_PREFIX = "/api/v1"

#: modules whose ``router`` the application includes, in this order
ROUTER_MODULES = [
    "api.routes.health",
    "api.routes.me",
    "api.routes.patients",
    "api.routes.images",
    "api.routes.jobs",
    "api.routes.plans",
    "api.routes.exports",
    "api.routes.audit",
    "api.routes.courses",
    "api.routes.sessions",
    "api.routes.assessments",
    "api.routes.rating_amendments",
    "api.routes.ratings_not_obtained",
    "api.routes.screening",
    "api.routes.summary",
    "api.routes.schedule",
]
