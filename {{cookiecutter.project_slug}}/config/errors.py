"""Error responses that are JSON under /api/ and Django's own pages everywhere else.

DRF answers the errors it raises itself; these cover the rest: a path no route matches, a
request body over DATA_UPLOAD_MAX_MEMORY_SIZE, a bad Host header, and any unhandled error.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def json_error(status: HTTPStatus, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(HTTPStatus.BAD_REQUEST, "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(HTTPStatus.FORBIDDEN, "You do not have permission to do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api(request):
        return json_error(HTTPStatus.NOT_FOUND, "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return json_error(HTTPStatus.INTERNAL_SERVER_ERROR, "Server error.")
    return defaults.server_error(request)


class ApiBodySizeMiddleware:
    """Answers 413 to an API request whose declared body is over DATA_UPLOAD_MAX_MEMORY_SIZE.

    Django would refuse it later, when the body is read, with a bare 400; checking the
    Content-Length first names the problem and reads nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        length = request.META.get("CONTENT_LENGTH") or "0"
        if (
            limit is not None
            and is_api(request)
            and length.isascii()
            and length.isdigit()
            and int(length) > limit
        ):
            return json_error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"The request body is over {limit} bytes."
            )
        return self.get_response(request)
