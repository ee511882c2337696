"""OpenAPI additions: the error responses any operation may return, and the category names.

DRF and config/errors.py answer every error under /api/ with JSON; a postprocessing hook
declares those answers on every operation, so a client generated from the schema, and the
schema tests, know each body the API can send. Categories are registered by apps at start-up,
so their names are filled in when the schema is generated.
"""

from typing import Any

from notifications import categories

ERROR = {
    "type": "object",
    "description": "What went wrong, for a person to read; some errors add a machine `code`.",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR = {
    "type": "object",
    "description": (
        "Messages by field name (`non_field_errors` for the input as a whole), or `detail` "
        "for a body that cannot be parsed."
    ),
    "additionalProperties": {},
}
# Status -> (schema component, description). 413 only where a body can be sent.
RESPONSES = {
    "400": ("ValidationError", "Invalid input: a parameter or the body."),
    "401": ("Error", "No credentials, or credentials that are invalid or expired."),
    "403": ("Error", "Not allowed, or a session request without its CSRF token."),
    "404": ("Error", "No such object for this user, or no such path."),
    "413": ("Error", "The body is over the upload limit."),
    "429": ("Error", "Rate limited: retry after the `Retry-After` header's seconds."),
    "503": ("Error", "A service the API depends on (Redis) is unreachable: retry later."),
}
BODY_METHODS = {"post", "put", "patch"}


def add_error_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: declare the error responses on every operation."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR)
    schemas.setdefault("ValidationError", VALIDATION_ERROR)
    for methods in result.get("paths", {}).values():
        for method, operation in methods.items():
            responses = operation.setdefault("responses", {})
            for status, (component, description) in RESPONSES.items():
                if status == "413" and method not in BODY_METHODS:
                    continue
                responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{component}"}
                            }
                        },
                    },
                )
    return result


# Request components whose `category` names a registered category (responses may hold
# categories no app registers any more, so they stay free text).
CATEGORY_INPUTS = {"PreferenceChange", "PatchedPreferenceChange"}


def add_category_names(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every `category` the API takes, as an enum."""
    names = sorted(category.name for category in categories.all_categories())
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "category":
                    parameter["schema"] = {"type": "string", "enum": names}
                    parameter.setdefault("description", "A registered category.")
    schemas = result.get("components", {}).get("schemas", {})
    for name in CATEGORY_INPUTS & set(schemas):
        schemas[name]["properties"]["category"]["enum"] = names
    return result
