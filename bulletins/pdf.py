"""The issue as a PDF: WeasyPrint renders the print template with Debian's Noto CJK fonts.

WeasyPrint's default fetcher would embed whatever a URL in the document names,
local files (file:///…) included.  Ours serves only the bulletin's own static
files, read from disk, and refuses everything else.  (Article text is escaped by
the template anyway, so a "<img src=file:///etc/passwd>" in an article is text.)
"""

import mimetypes
import posixpath
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from .document import issue_sections

# Stylesheets and images of the print template are addressed under this prefix
# (the .invalid domain can never resolve, should anything ever try).
ASSET_BASE = "https://bulletin-assets.invalid/"
ASSET_PREFIX = "bulletins/"  # only our own app's static files
ASSET_TYPES = {".css", ".png", ".svg", ".jpg", ".jpeg"}
PRINT_CSS = "bulletins/print.css"
STATIC_DIR = Path(__file__).resolve().parent / "static"  # the app's own static files


class FetchRefused(ValueError):
    pass


class RestrictedURLFetcher(URLFetcher):
    """Serves ASSET_BASE + "bulletins/…" from the app's static files; refuses any other URL."""

    def fetch(self, url, headers=None):
        path = static_path_for(url)
        with open(path, "rb") as f:
            body = f.read()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


def static_path_for(url):
    """The file on disk behind an asset URL, or FetchRefused."""
    if not isinstance(url, str) or not url.startswith(ASSET_BASE):
        raise FetchRefused(f"拒绝读取外部资源：{url!r}")
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise FetchRefused(f"拒绝读取外部资源：{url!r}")
    relative = unquote(url[len(ASSET_BASE):].split("?")[0])
    normalized = posixpath.normpath(relative)
    if (normalized != relative or "\\" in relative or "\x00" in relative or normalized.startswith(("/", "."))
            or not normalized.startswith(ASSET_PREFIX)
            or Path(normalized).suffix.lower() not in ASSET_TYPES):
        raise FetchRefused(f"拒绝读取该路径：{relative!r}")
    root = STATIC_DIR / ASSET_PREFIX
    path = (STATIC_DIR / normalized).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        raise FetchRefused(f"找不到静态文件：{relative!r}")
    return path


def print_html(bulletin, *, inline_css=False):
    """The standalone HTML of the issue (stylesheet linked for WeasyPrint, or inlined for a file)."""
    css = ""
    if inline_css:
        css = static_path_for(ASSET_BASE + PRINT_CSS).read_text(encoding="utf-8")
    return render_to_string("bulletins/print.html", {
        "bulletin": bulletin,
        "sections": issue_sections(bulletin),
        "stylesheet": ASSET_BASE + PRINT_CSS,
        "inline_css": css,
    })


def bulletin_pdf(bulletin):
    html = HTML(string=print_html(bulletin), base_url=ASSET_BASE, url_fetcher=RestrictedURLFetcher())
    return html.write_pdf()
