"""`notifications/settings/`: the signed-in user's language, time zone and quiet hours."""

from typing import Any

from django.core.exceptions import ValidationError as ModelValidationError
from django.utils.translation import get_language_info
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from notifications.api.throttling import WriteThrottleMixin
from notifications.reader import profile
from notifications.users import signed_in_user


class LanguageSerializer(serializers.Serializer):
    code = serializers.CharField()
    # The language's own name ("Français"), as a language menu shows it.
    name = serializers.CharField()


class ReaderSettingsSerializer(serializers.Serializer):
    """A field left out of a PATCH keeps its value; "" and null go back to the default."""

    # "" follows the browser (Accept-Language).
    language = serializers.CharField(max_length=16, allow_blank=True, required=False)
    # "" is the server's TIME_ZONE.
    time_zone = serializers.CharField(max_length=64, allow_blank=True, required=False)
    quiet_start = serializers.TimeField(allow_null=True, required=False, format="%H:%M")
    quiet_end = serializers.TimeField(allow_null=True, required=False, format="%H:%M")
    languages = LanguageSerializer(many=True, read_only=True)


def represent(reader: profile.Reader) -> dict[str, Any]:
    languages = [
        {"code": code, "name": get_language_info(code)["name_local"]}
        for code in profile.supported_languages()
    ]
    return ReaderSettingsSerializer(
        {
            "language": reader.language,
            "time_zone": reader.time_zone,
            "quiet_start": reader.quiet_start,
            "quiet_end": reader.quiet_end,
            "languages": languages,
        }
    ).data


class ReaderSettingsView(WriteThrottleMixin, APIView):
    """GET the settings with the languages on offer; PATCH changes the fields it names."""

    parser_classes = [JSONParser]

    @extend_schema(responses=ReaderSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(represent(profile.reader_of(signed_in_user(request))))

    @extend_schema(request=ReaderSettingsSerializer, responses=ReaderSettingsSerializer)
    def patch(self, request: Request) -> Response:
        given = ReaderSettingsSerializer(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        try:
            reader = profile.update(signed_in_user(request), dict(given.validated_data))
        except ModelValidationError as error:
            raise serializers.ValidationError(error.message_dict) from error
        return Response(represent(reader))
