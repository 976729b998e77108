"""Problem-details error responses (RFC 9457) for every error the service returns."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.db import lock_busy
from navsvc.errors import InputError

log = logging.getLogger("navsvc.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    500: "internal-error",
    503: "not-ready",
}


#: the answer when the database's write lock stays taken (SQLite under load, or another
#: process writing): the request's transaction was rolled back
DATABASE_BUSY = ("the database is busy with other changes, so this request changed nothing; "
                 "send it again in a few seconds")
#: seconds a client is asked to wait before sending a request again after a 503
RETRY_AFTER_S = 5


class ProblemError(Exception):
    """An error that becomes a problem-details response.

    Parameters
    ----------
    status : int
        HTTP status code.
    detail : str
        What went wrong, for the caller; never PHI.
    headers : dict, optional
        Extra response headers (e.g. ``WWW-Authenticate``).
    """

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def problem_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra
) -> JSONResponse:
    """Build a problem-details response.

    Parameters
    ----------
    status : int
        HTTP status code.
    detail : str
        Human-readable explanation of this occurrence.
    headers : dict, optional
        Extra response headers.
    **extra
        Extension members added to the body.
    """
    body = {
        "type": f"urn:navsvc:problem:{_TYPES.get(status, 'error')}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_MEDIA_TYPE)


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc)


def database_busy() -> ProblemError:
    """The 503 of a request that could not get the database's write lock in time."""
    return ProblemError(503, DATABASE_BUSY, {"Retry-After": str(RETRY_AFTER_S)})


async def _on_problem(_request: Request, exc: ProblemError) -> JSONResponse:
    return problem_response(exc.status, exc.detail, exc.headers)


#: FastAPI's answer to a body its JSON parser gave up on (nested about 1000 levels deep)
_UNPARSED_BODY = "There was an error parsing the body"


async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    if exc.status_code == 400 and detail == _UNPARSED_BODY:
        detail = ("the body could not be read as JSON (nested too deeply, or not JSON): send one JSON "
                  "object with the fields the OpenAPI schema lists")
    return problem_response(exc.status_code, detail, getattr(exc, "headers", None))


def _is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type header names JSON (``application/json`` or ``…+json``)."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/")
                                                and media_type.endswith("+json"))


def _body_not_sent_as_json(request: Request, exc: RequestValidationError) -> bool:
    # FastAPI reads a JSON body only when the Content-Type says JSON; any other body
    # arrives as bytes and fails as "not a dictionary" at the body's root.
    return (not _is_json_media_type(request.headers.get("content-type"))
            and any(tuple(e["loc"]) == ("body",) and e["type"] in ("model_attributes_type", "dict_type")
                    for e in exc.errors()))


def _message(error: dict) -> str:
    if error["type"] == "json_invalid":  # pydantic says only "JSON decode error"
        where = error.get("ctx", {}).get("error", "")
        return (f"not valid JSON ({where}): check the quotes, commas and brackets" if where
                else "not valid JSON: check the quotes, commas and brackets")
    return error["msg"]


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    if _body_not_sent_as_json(request, exc):
        given = request.headers.get("content-type")
        return problem_response(415, "send the body as JSON with the header Content-Type: "
                                     f"application/json ({f'got {given!r}' if given else 'none was given'})")
    # The offending input values are left out: they may hold PHI (names, birth dates).
    errors = [{"loc": _location(e["loc"]), "msg": _message(e)} for e in exc.errors()]
    detail = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors) or "invalid request"
    return problem_response(422, detail, errors=errors)


async def _on_input_error(_request: Request, exc: InputError) -> JSONResponse:
    return problem_response(422, str(exc))


async def _on_data_error(_request: Request, exc: DataError) -> JSONResponse:
    # The database refused a value the request carried (PostgreSQL: NUL characters).
    log.info("database refused a request value (%s)", type(exc.orig).__name__)
    return problem_response(422, "the request contains a value the database cannot store "
                                 "(for example a NUL character)")


async def _on_unencodable_text(_request: Request, exc: UnicodeEncodeError) -> JSONResponse:
    # JSON may carry a lone surrogate ("\ud800"), which is no character: the database
    # driver cannot encode it. The request's transaction is rolled back with the error.
    log.info("request text not encodable as %s (%s)", exc.encoding, exc.reason)
    return problem_response(422, "the request contains text that is not valid Unicode (a lone "
                                 "surrogate such as \\ud800); send the text as UTF-8 characters")


async def _on_operational(request: Request, exc: OperationalError) -> JSONResponse:
    if lock_busy(exc):
        log.warning("database write lock busy: %s %s answered 503", request.method,
                    request.url.path)
        return await _on_problem(request, database_busy())
    return await _on_unexpected(request, exc)


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ResponseValidationError):
        # its message holds the offending values: a stored name or birth date
        log.error("unhandled ResponseValidationError: %s", "; ".join(
            f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors()))
    else:
        log.exception("unhandled %s", type(exc).__name__)
    return problem_response(500, f"internal error ({type(exc).__name__}); see the service log")


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(InputError, _on_input_error)
    app.add_exception_handler(DataError, _on_data_error)
    app.add_exception_handler(UnicodeEncodeError, _on_unencodable_text)
    app.add_exception_handler(OperationalError, _on_operational)
    app.add_exception_handler(Exception, _on_unexpected)
