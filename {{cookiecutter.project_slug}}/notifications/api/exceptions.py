"""The API's error handler: every error is JSON with a `detail`, domain errors are 4xx."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from notifications.categories import UnknownCategory
from notifications.sending.limits import ContentTooLarge
from notifications.websocket.tickets import TicketStoreUnavailable


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "Temporarily unavailable; retry shortly."
    default_code = "service_unavailable"


def json_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, after turning model and domain errors into their HTTP counterparts."""
    if isinstance(exc, ObjectDoesNotExist):
        exc = exceptions.NotFound()
    elif isinstance(exc, UnknownCategory):
        exc = exceptions.NotFound(str(exc))
    elif isinstance(exc, ContentTooLarge):
        # A view that passes a client's input to the service: a 400 naming the field.
        exc = exceptions.ValidationError({exc.field: [exc.message]})
    elif isinstance(exc, TicketStoreUnavailable):
        exc = ServiceUnavailable("WebSocket tickets cannot be issued right now; retry shortly.")
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, list):
        # Always an object, as the schema's ValidationError says: a list has no field to name.
        response.data = {api_settings.NON_FIELD_ERRORS_KEY: response.data}
    return response
