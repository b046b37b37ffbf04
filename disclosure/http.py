"""The public pages' door: throttled per client, cached per address, the same for everyone.

- Throttle: DISCLOSURE_RATE requests per client address (accounts.lockouts.client_ip, which reads
  X-Forwarded-For only behind TRUSTED_PROXY_COUNT proxies) in a fixed window, counted in the cache
  (shared by all web processes when CACHE_URL is set); over it, a Chinese 429 page with Retry-After.
  Pages served from the cache count too.
- Cache: the rendered page, keyed by the view, its arguments and the query parameters the pages read
  (q, by, page: other parameters cannot multiply the entries) and today's date, for DISCLOSURE_CACHE_SECONDS;
  a change of the entries (services.version_bump) starts a new key space.  The browser and shared proxies may keep the
  page as long (Cache-Control: public, max-age).
- The same for everyone: the pages never read the user or the session and set no cookie (no CSRF token:
  every form is a GET).  The portal's middleware looks at request.user on every request, which marks the
  session as read and would add "Vary: Cookie"; a public page's content does not depend on it, so the flag
  is cleared here (see public_page).  Signed-in users still get the portal's no-store header.
"""

import hashlib
import logging
import time
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from accounts.lockouts import client_ip

from .services import VERSION_KEY

logger = logging.getLogger(__name__)

CACHED_PARAMETERS = ("q", "by", "page", "kind")
CACHED_STATUSES = (200, 404)
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def cache_seconds():
    return int(getattr(settings, "DISCLOSURE_CACHE_SECONDS", 300))


def rate():
    """(requests, window in seconds) of DISCLOSURE_RATE: "60/minute", "10/s", "1000/hour" or a number (per minute).
    A value that is none of these raises ValueError (and fails `manage.py check`, see checks.py)."""
    text = str(getattr(settings, "DISCLOSURE_RATE", "60/minute")).strip().lower()
    count, _, period = text.partition("/")
    if period[:1] not in ("", *_PERIODS):
        raise ValueError(f"DISCLOSURE_RATE: unknown period {period!r}")
    return int(count), _PERIODS.get(period[:1] or "m", 60)


def throttle_retry_after(request):
    """None when the client may have this page; else the seconds until its window ends."""
    limit, window = rate()
    if limit <= 0:
        return None
    now = time.time()
    client = hashlib.sha256((client_ip(request) or "unknown").encode()).hexdigest()[:32]
    key = f"disclosure:rate:{client}:{int(now // window)}"
    try:
        if cache.add(key, 1, timeout=window + 1):
            count = 1
        else:
            count = cache.incr(key)
    except ValueError:  # the window's key expired between add and incr
        count = 1
    except Exception:  # the cache is down: serve rather than refuse everyone
        logger.exception("disclosure throttle: cache unavailable")
        return None
    if count <= limit:
        return None
    return max(1, int(window - now % window) + 1)


def _cache_key(request, view_name, kwargs):
    params = "&".join(f"{name}={request.GET.get(name, '')[:200]}" for name in CACHED_PARAMETERS)
    arguments = ",".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    # Today's date too: a penalty whose 公示 ended yesterday is not served from a page cached before midnight.
    today = timezone.localdate().isoformat()
    digest = hashlib.sha256(f"{view_name}|{arguments}|{params}|{today}".encode()).hexdigest()
    try:
        version = cache.get(VERSION_KEY, 0)
    except Exception:
        version = 0
    return f"disclosure:page:{version}:{digest}"


def public_page(view):
    """GET/HEAD only, throttled, cached, public."""

    @wraps(view)
    @require_safe
    def wrapped(request, **kwargs):
        retry_after = throttle_retry_after(request)
        if retry_after is not None:
            response = render(request, "disclosure/throttled.html", {"retry_after": retry_after}, status=429)
            response["Retry-After"] = str(retry_after)
            patch_cache_control(response, no_store=True)
            return _anonymous(request, response)
        seconds = cache_seconds()
        key = _cache_key(request, view.__name__, kwargs) if seconds > 0 else None
        stored = _cache_get(key)
        if stored is not None:
            status, content_type, content = stored
            response = HttpResponse(content, status=status, content_type=content_type)
            response["X-Disclosure-Cache"] = "hit"
        else:
            response = view(request, **kwargs)
            if key and response.status_code in CACHED_STATUSES and not response.streaming:
                _cache_set(key, (response.status_code, response["Content-Type"], response.content), seconds)
        if response.status_code in CACHED_STATUSES and seconds > 0:
            patch_cache_control(response, public=True, max_age=seconds)
        return _anonymous(request, response)

    return wrapped


def _cache_get(key):
    if key is None:
        return None
    try:
        return cache.get(key)
    except Exception:
        logger.exception("disclosure page cache unavailable")
        return None


def _cache_set(key, value, seconds):
    try:
        cache.set(key, value, timeout=seconds)
    except Exception:
        logger.exception("disclosure page cache unavailable")


def _anonymous(request, response):
    """Nothing on a public page depends on the session (see the module's docstring)."""
    session = getattr(request, "session", None)
    if session is not None and not session.modified:
        session.accessed = False
    return response


def not_found(request, message="您要查看的公示信息不存在，或已过公示期限。"):
    return render(request, "disclosure/not_found.html", {"message": message}, status=404)
