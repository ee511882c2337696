"""Cursor pagination on the id, shared by every list of the API, and the lists' parameters."""

from collections.abc import Iterable
from typing import Any

from rest_framework import exceptions
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

# Query parameters of every list besides its filters: its page, and DRF's format override.
PAGE_PARAMETERS = ("cursor", "page_size", "format")


def reject_unknown_parameters(request: Request, known: Iterable[str]) -> None:
    """A query parameter the endpoint does not take is a 400 naming it.

    Ignored, a misspelt or unsupported filter (`?status=unread`) would answer the whole list
    as if the filter applied.
    """
    taken = sorted(set(known))
    unknown = sorted(set(request.query_params) - set(taken))
    if unknown:
        message = f"Unknown query parameter; this endpoint takes: {', '.join(taken)}."
        raise exceptions.ValidationError({name: [message] for name in unknown})


def is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts characters that int() rejects, like "²"."""
    return text.isascii() and text.isdigit()


class IdCursorPagination(CursorPagination):
    """Pages positioned on the id, which is unique and only grows: no page skips or repeats.

    Stricter than DRF about input: a page size or cursor position that is not a positive
    integer is a 400 or a 404, never a silent default or a database error.
    """

    ordering = "-id"
    page_size = 20
    page_size_query_param = "page_size"
    # One query whatever the size; the cap bounds the payload and the serialization time.
    max_page_size = 100

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not is_number(raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {self.page_size_query_param: ["A positive integer is required."]}
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_page_size,
                    "default": self.page_size,
                }
                parameter["description"] = (
                    f"Results per page, 1 to {self.max_page_size}: a larger value is capped."
                )
        return parameters

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        # DRF leaves the position unchecked; it is compared with the id in the query. It is the
        # cursor's text, though DRF's stubs type it int.
        if cursor is None or cursor.position is None:
            return cursor
        if not is_number(str(cursor.position)):
            raise exceptions.NotFound(self.invalid_cursor_message)
        return cursor
