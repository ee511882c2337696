"""Pages in the reader's language: the signed-in user's choice, else their browser's."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from notifications.models import ReaderSettings
from notifications.reader import profile


class ReaderLanguageMiddleware:
    """Activates the signed-in user's chosen language over the one LocaleMiddleware took from
    the browser (Accept-Language, or the language cookie).

    For a user who chose none it records the browser's when it changes: texts stored for them
    later (a notification, a digest) are written in it, since no browser is there then. Place
    it after AuthenticationMiddleware; LocaleMiddleware comes before both.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self.apply(request, int(user.pk))
        return self.get_response(request)

    def apply(self, request: HttpRequest, user_id: int) -> None:
        row = (
            ReaderSettings.objects.filter(user_id=user_id)
            .values_list("language", "browser_language")
            .first()
        )
        chosen, seen = row or ("", "")
        supported = profile.supported_languages()
        if chosen in supported:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
            return
        browser = getattr(request, "LANGUAGE_CODE", "")
        if browser in supported and browser != seen:
            profile.remember_browser_language(user_id, browser)
