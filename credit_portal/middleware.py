from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.cache import patch_cache_control


class NoStoreForSignedInMiddleware:
    """Nothing shown to a signed-in user is kept by the browser or a proxy: pages and downloads
    carry names and ID numbers.  Static files never get here (WhiteNoise answers them first)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, no_store=True, private=True)
        return response


class MethodNotAllowedPageMiddleware:
    """A GET on a POST-only address (require_POST) is an empty 405: show the Chinese page instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            page = render(request, "405.html", status=405)
            page["Allow"] = response["Allow"]
            return page
        return response
