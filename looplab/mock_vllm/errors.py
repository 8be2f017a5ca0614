"""Errors in the shapes real vLLM 0.32.0 returns.

* API errors: ``{"error": {"message", "type", "param", "code"}}`` with ``type`` the exception
  name (``NotFoundError``, ``BadRequestError``) or, for request validation, ``"Bad Request"``.
* Validation errors are 400, never FastAPI's 422; ``param`` names the field (``body.messages``).
* A missing or wrong API key: 401 ``{"error": "Unauthorized"}``.
* Unknown routes and methods keep Starlette's ``{"detail": ...}`` bodies, as in vLLM.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse as _StarletteJSON


def _clean(value: Any) -> Any:
    if isinstance(value, float) and value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if isinstance(value, str):
        return value.encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


class JSONResponse(_StarletteJSON):
    """Starlette's JSON response, made total: a body holding a lone surrogate or a NaN (both can
    arrive inside a request and be echoed in an error message) is cleaned instead of becoming a 500."""

    def render(self, content: Any) -> bytes:
        try:
            return super().render(content)
        except (UnicodeEncodeError, ValueError):
            return super().render(_clean(content))


class APIError(Exception):
    """An error a route raises to answer with vLLM's error body."""

    def __init__(self, status: int, type_: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.param = status, type_, message, param


def bad_request(message: str, param: str | None = None) -> APIError:
    return APIError(400, "BadRequestError", message, param)


def error_body(status: int, type_: str, message: str, param: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": status}}


def error_response(status: int, type_: str, message: str, param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, type_, message, param), status_code=status)


def _summarise(value: Any) -> Any:
    # vLLM does not echo request bodies back in its messages; it summarises containers.
    if isinstance(value, dict):
        return f"<dict of {len(value)} items>"
    if isinstance(value, (list, tuple)):
        return f"<list of {len(value)} items>"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, str) and len(value) > 80:
        return value[:77] + "..."
    return value


# Location segments vLLM drops from a validation error's ``loc`` (union branches, types): ``body.stop.str``
# and ``body.stop.list[str]`` both become ``body.stop``.
_INTERNAL_LOC = {"str", "int", "float", "bool", "list", "dict", "none", "union", "tagged-union", "nullable",
                 "function-after", "function-before", "function-wrap", "function-plain", "json-or-python",
                 "lax-or-strict", "chain", "default", "model", "dataclass", "typed-dict"}


def _clean_loc(loc: Any) -> str:
    return ".".join(str(part) for part in loc if not (isinstance(part, str) and (
        part in _INTERNAL_LOC or any(ch in part for ch in "[]{}()"))))


def _describe(error: Any) -> tuple[dict[str, Any] | str, str | None]:
    if not isinstance(error, dict):
        return str(error), None
    loc = _clean_loc(error.get("loc", ()))
    item: dict[str, Any] = {"type": error.get("type"), "loc": loc, "msg": error.get("msg"),
                            "input": _summarise(error.get("input"))}
    ctx = error.get("ctx")
    if ctx:
        item["ctx"] = {key: str(value) for key, value in ctx.items()}
    return item, loc or None


async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    items = [_describe(error) for error in exc.errors()]
    count = len(items)
    lines = "\n".join(f"  {item}" for item, _ in items)
    message = f"{count} validation error{'s' if count != 1 else ''}:\n{lines}"
    param = items[0][1] if items else None
    return error_response(400, HTTPStatus.BAD_REQUEST.phrase, message, param)


async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
    status = exc.status_code
    return error_response(status, HTTPStatus(status).phrase, str(exc.detail))


async def api_error(_: Request, exc: APIError) -> JSONResponse:
    return error_response(exc.status, exc.type, exc.message, exc.param)


def install(app: Any) -> None:
    """Register the handlers on a FastAPI app."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(APIError, api_error)
