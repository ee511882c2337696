"""The site's icon, answered at /favicon.ico, where browsers ask for one on every site."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# A bell on the centre's accent blue; SVG, so one small file is sharp at every size.
ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<rect width="24" height="24" rx="6" fill="#1d56c9"/>'
    '<path fill="#fff" d="M12 20a2 2 0 0 0 2-1.6h-4A2 2 0 0 0 12 20zm5.6-4.8V11a5.6 5.6 0 0 '
    '0-4.4-5.5V5a1.2 1.2 0 0 0-2.4 0v.5A5.6 5.6 0 0 0 6.4 11v4.2L5 16.6v.8h14v-.8z"/></svg>'
)


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ICON, content_type="image/svg+xml")
