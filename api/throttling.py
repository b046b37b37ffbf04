from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class TokenRateThrottle(SimpleRateThrottle):
    """Calls per token (settings.API_THROTTLE_RATE, e.g. 120/min), counted in the Django cache."""

    scope = "api_token"

    def get_rate(self):
        return settings.API_THROTTLE_RATE

    def allow_request(self, request, view):
        # Read the rate on every call (not once at start-up), so a changed setting takes effect.
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        token = request.auth
        if token is None:
            return None  # not signed in: refused before it could be counted
        return self.cache_format % {"scope": self.scope, "ident": token.pk}
