"""信用信息公示: the anonymous, read-only pages of accepted licenses and penalties (see selectors, rules, http)."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from lookup.queries import QueryError

from . import selectors
from .http import not_found, public_page
from .models import Kind

SLUGS = {Kind.LICENSE: "xuke", Kind.PENALTY: "chufa"}


def _context(kind, **extra):
    return {"kind": kind, "kind_label": Kind(kind).label, "modes": selectors.MODES, **extra}


@public_page
def index(request):
    today = timezone.localdate()
    return render(request, "disclosure/index.html", {
        "modes": selectors.MODES,
        "licenses": selectors.latest(Kind.LICENSE, today=today),
        "penalties": selectors.latest(Kind.PENALTY, today=today),
    })


@public_page
def search(request):
    """The landing page's search box: to the list of the kind chosen, with the same query."""
    kind = Kind.PENALTY if request.GET.get("kind") == Kind.PENALTY else Kind.LICENSE
    params = {k: request.GET.get(k, "")[:200] for k in ("q", "by") if request.GET.get(k)}
    url = reverse(f"disclosure:{SLUGS[kind]}")
    return redirect(f"{url}?{urlencode(params)}" if params else url)


def _listing(request, kind):
    today = timezone.localdate()
    text, mode = request.GET.get("q", ""), request.GET.get("by", selectors.NAME)
    error, query, page = "", None, None
    try:
        query = selectors.search_parse(text, mode)
    except QueryError as exc:
        error = str(exc)
    if not error:
        page = selectors.page_of(selectors.entries(kind, query, today=today),
                                 selectors.page_number(request.GET.get("page")))
    base = {"q": query.value if query else "", "by": query.mode if query else ""}
    page_url = "?" + urlencode({k: v for k, v in base.items() if v} | {"page": ""})
    return render(request, "disclosure/list.html", _context(
        kind, query=query, error=error, page=page, text=text.strip()[:selectors.MAX_QUERY_LENGTH],
        mode=mode if mode in selectors.MODES else selectors.NAME, page_url=page_url,
        page_size=selectors.PAGE_SIZE, max_pages=selectors.MAX_PAGES, today=today,
        detail_url=f"disclosure:{SLUGS[kind]}_detail",
    ))


@public_page
def licenses(request):
    return _listing(request, Kind.LICENSE)


@public_page
def penalties(request):
    return _listing(request, Kind.PENALTY)


def _detail(request, kind, record_id):
    found = None
    if record_id <= selectors.MAX_ID:  # a larger number is no record (and would overflow the column)
        found = selectors.detail(kind, record_id, today=timezone.localdate())
    if found is None:
        return not_found(request)
    return render(request, "disclosure/detail.html", _context(
        kind, detail=found, list_url=f"disclosure:{SLUGS[kind]}",
    ))


@public_page
def license_detail(request, record_id):
    return _detail(request, Kind.LICENSE, record_id)


@public_page
def penalty_detail(request, record_id):
    return _detail(request, Kind.PENALTY, record_id)


@public_page
def unknown(request):
    return not_found(request, "您访问的页面不存在，请从信用信息公示首页进入。")
