"""The issue as DOCX, PDF and standalone HTML: real tables with the computed numbers, Chinese text,
names with & and < intact, and a PDF renderer that cannot be made to read local files."""

import datetime
import io
import re
import shutil
import subprocess

import docx
import pytest
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from bulletins import pdf, services
from bulletins.models import Section
from bulletins.render_docx import bulletin_docx
from rankings.models import StatTable
from rankings.selectors import table_compute
from reporting.models import Unit

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset

TRICKY = "A&B<C>区"
INJECTED = '<img src="file:///etc/passwd">'


@pytest.fixture
def bulletin(dataset):
    Unit.objects.filter(code="C01").update(short_name=TRICKY)
    issue = services.bulletin_create(year=2019, number=5, issue_date=datetime.date(2019, 9, 15), user=None)
    services.article_create(bulletin=issue, section=Section.DOCUMENTS, title="充分应用公共信用\n综合评价结果",
                            body="日前，国家发改委办公厅发布《通知》。\n\n《通知》从六个方面提出了具体要求。",
                            source="摘自信用中国网", user=None)
    services.article_create(bulletin=issue, section=Section.BRIEFS, body=f"市民政局开展检查。{INJECTED}",
                            source="（市民政局）", user=None)
    return services.bulletin_generate(bulletin=issue, year=2019, first=1, last=3, user=None)


def compute(code):
    return table_compute(StatTable.objects.get(code=code), year=2019, first=1, last=3)


def flat(text):
    """Text without whitespace: a name wrapped across lines or table cells is found again."""
    return re.sub(r"\s+", "", text)


def pdf_text(content, tmp_path):
    path = tmp_path / "issue.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout


# --- DOCX ----------------------------------------------------------------------------------


def docx_tables(content):
    document = docx.Document(io.BytesIO(content))
    return document, [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]


def numbers(cells):
    return [int(c) if c else 0 for c in cells]


def test_docx_holds_both_tables_as_word_tables_with_the_computed_numbers(bulletin):
    document, (county_park, department) = docx_tables(bulletin_docx(bulletin))

    computed = compute("county_park")
    assert county_park[0] == ["地区", *computed.labels]
    assert county_park[1][0] == "县（市）区" and set(county_park[1]) == {"县（市）区"}  # merged group row
    rows = {r[0]: numbers(r[1:]) for r in county_park[1:] if r[0] not in ("县（市）区", "园区")}
    assert rows == {r.unit.short_name: [r.values[label] for label in computed.labels] for r in computed.rows}
    assert [r[0] for r in county_park if set(r) in ({"县（市）区"}, {"园区"})] == ["县（市）区", "园区"]

    computed = compute("department")
    assert department[0] == ["序号", "部门名称", *computed.labels]
    assert department[1][:2] == ["合计", "合计"]  # 合计 spans 序号 and 部门名称
    assert numbers(department[1][2:]) == [computed.totals[label] for label in computed.labels]
    body = department[2:]
    assert [int(r[0]) for r in body] == list(range(1, 64))
    assert {r[1]: numbers(r[2:]) for r in body} == {
        r.unit.short_name: [r.values[label] for label in computed.labels] for r in computed.rows
    }
    assert body[0][-1] == "10" and body[2][-1] == "0"  # 总计 prints its zeros; other zero cells are blank
    assert body[2][2] == ""


def test_docx_has_the_masthead_sections_and_a4_pages(bulletin):
    document = docx.Document(io.BytesIO(bulletin_docx(bulletin)))
    texts = [p.text for p in document.paragraphs]
    assert texts[:3] == ["营口信用体系建设", "工作简报", "〔2019〕第5期"]
    assert texts[3] == "营口市社会信用体系建设领导小组办公室\t2019年9月15日"
    assert document.paragraphs[0].runs[0].font.color.rgb == docx.shared.RGBColor(0xE6, 0, 0)
    headings = [t for t in texts if t.startswith("【")]
    assert headings == ["【重要文件】", "【工作简讯】", "【情况通报】"]
    assert "充分应用公共信用\n综合评价结果" in texts
    assert "（摘自信用中国网）" in texts
    first, wide = document.sections[0], document.sections[-1]
    assert (round(first.page_width.cm, 1), round(first.page_height.cm, 1)) == (21.0, 29.7)
    assert (round(wide.page_width.cm, 1), round(wide.page_height.cm, 1)) == (29.7, 21.0)
    fonts = document.styles["简报正文"].element.rPr.rFonts
    assert fonts.get(docx.oxml.ns.qn("w:eastAsia")) == "仿宋"


def test_docx_keeps_ampersands_and_angle_brackets_as_text(bulletin):
    document, tables = docx_tables(bulletin_docx(bulletin))
    text = "\n".join(p.text for p in document.paragraphs)
    assert TRICKY in text  # the narrative names the unit
    assert INJECTED in text  # an article's markup-looking text is just text
    assert TRICKY in [row[0] for row in tables[0]]
    assert TRICKY in [row[1] for row in tables[1]]


def test_docx_tables_have_one_set_of_fixed_widths_that_word_libreoffice_and_wps_all_read(bulletin):
    """Word reads each cell's width, LibreOffice and WPS the table grid (equal columns from python-docx, which
    wrapped every unit name): both say the same, and the name column holds the longest name on one line."""
    qn = docx.oxml.ns.qn
    document = docx.Document(io.BytesIO(bulletin_docx(bulletin)))
    for table, font_pt, name_column in zip(document.tables, (9, 8), (0, 1), strict=True):
        tbl = table._tbl
        assert tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [int(col.get(qn("w:w"))) for col in tbl.tblGrid.findall(qn("w:gridCol"))]
        width = tbl.tblPr.find(qn("w:tblW"))
        assert (width.get(qn("w:type")), int(width.get(qn("w:w")))) == ("dxa", sum(grid))
        for row in table.rows:
            cells = row._tr.findall(qn("w:tc"))
            if len(cells) != len(grid):  # merged group and 合计 rows
                continue
            assert [int(c.tcPr.find(qn("w:tcW")).get(qn("w:w"))) for c in cells] == grid
        names = [row.cells[name_column].text for row in table.rows[1:]]
        longest = max(sum(1 if ord(ch) > 0x2E7F else 0.55 for ch in name) for name in names)
        needed = longest * font_pt * 20 + 0.38 / 2.54 * 1440  # twips: the text and the cell's two margins
        assert grid[name_column] >= needed, (grid[name_column], needed, max(names, key=len))
        section = document.sections[0 if font_pt == 9 else -1]
        usable = docx.shared.Emu(section.page_width - section.left_margin - section.right_margin).twips
        assert sum(grid) <= usable + len(grid)


def test_docx_properties_name_the_issue_the_office_and_today(bulletin):
    from django.utils import timezone

    properties = docx.Document(io.BytesIO(bulletin_docx(bulletin))).core_properties
    assert properties.title == str(bulletin)
    assert properties.author == properties.last_modified_by == "营口市社会信用体系建设领导小组办公室"
    assert properties.created.date() == properties.modified.date() == timezone.now().date()
    assert "python-docx" not in (properties.comments + properties.author + properties.last_modified_by)
    assert properties.language == "zh-CN"


# --- PDF -------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="需要 poppler-utils 的 pdftotext")
def test_pdf_text_has_the_title_the_tables_and_tricky_names(bulletin, tmp_path):
    content = pdf.bulletin_pdf(bulletin)
    assert content.startswith(b"%PDF")
    text = flat(pdf_text(content, tmp_path))
    assert "营口信用体系建设" in text and "工作简报" in text and "〔2019〕第5期" in text
    assert "2019年1—3月份各县（市）区、园区信源单位数据报送情况统计表" in text
    assert "市审批局" in text and "沿海产业基地" in text
    assert TRICKY in text
    assert flat(INJECTED) in text
    assert "root:" not in text


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="需要 poppler-utils 的 pdffonts")
def test_pdf_embeds_the_noto_cjk_fonts(bulletin, tmp_path):
    path = tmp_path / "issue.pdf"
    path.write_bytes(pdf.bulletin_pdf(bulletin))
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    fonts = [line.split() for line in listing.splitlines()[2:]]
    assert fonts and all("CJK" in f[0] for f in fonts)
    assert all(f[-5] == "yes" for f in fonts)  # the "emb" column: every font is embedded


def test_standalone_html_escapes_names_and_inlines_its_stylesheet(bulletin):
    html = pdf.print_html(bulletin, inline_css=True)
    assert "A&amp;B&lt;C&gt;区" in html and TRICKY not in html
    assert "&lt;img src=&quot;file:///etc/passwd&quot;&gt;" in html
    assert "<link" not in html and "@page" in html


# --- the restricted URL fetcher ------------------------------------------------------------------


def test_the_fetcher_serves_the_bulletins_own_stylesheet():
    response = pdf.RestrictedURLFetcher()(pdf.ASSET_BASE + pdf.PRINT_CSS)
    assert b"@page" in response.read()
    assert response.content_type == "text/css"


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "file://localhost/etc/passwd",
    "http://127.0.0.1:8000/admin/",
    "https://example.com/x.css",
    "data:text/css,body{}",
    "ftp://example.com/x.css",
    pdf.ASSET_BASE + "../../../../etc/passwd",
    pdf.ASSET_BASE + "bulletins/../../../../../../etc/passwd",
    pdf.ASSET_BASE + "bulletins/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    pdf.ASSET_BASE + "bulletins/..%2f..%2f..%2fsettings.py",
    pdf.ASSET_BASE + "bulletins/%2Fetc%2Fpasswd",
    pdf.ASSET_BASE + "/etc/passwd",
    pdf.ASSET_BASE + "bulletins//etc/passwd.css",
    pdf.ASSET_BASE + "bulletins/print.css?../../etc/passwd",
    pdf.ASSET_BASE + "bulletins/print.css%00.png",
    pdf.ASSET_BASE + "bulletins\\..\\..\\pdf.py",
    pdf.ASSET_BASE + "vendor/bootstrap-5.3.9/css/bootstrap.min.css",  # a static file, but not ours
    pdf.ASSET_BASE + "bulletins/../../pdf.py",
    pdf.ASSET_BASE + "bulletins/missing.css",
    "https://bulletin-assets.invalid.evil.example/bulletins/print.css",
])
def test_the_fetcher_refuses_everything_else(url):
    with pytest.raises(pdf.FetchRefused):
        pdf.RestrictedURLFetcher()(url)


def test_the_fetcher_does_not_follow_a_symlink_out_of_the_static_folder(tmp_path, monkeypatch):
    (tmp_path / "bulletins").mkdir()
    (tmp_path / "bulletins" / "evil.css").symlink_to("/etc/passwd")
    monkeypatch.setattr(pdf, "STATIC_DIR", tmp_path)
    with pytest.raises(pdf.FetchRefused):
        pdf.static_path_for(pdf.ASSET_BASE + "bulletins/evil.css")


CRAFTED = """<html><head><link rel="attachment" href="file:///etc/passwd">
<link rel="stylesheet" href="file:///etc/hostname"></head>
<body><p>正文</p><img src="file:///etc/passwd"><a rel="attachment" href="file:///etc/passwd">附件</a></body></html>"""


def test_a_crafted_template_cannot_embed_local_files(settings):
    # The control: WeasyPrint's own fetcher does embed /etc/passwd as an attachment.
    assert b"/EmbeddedFile" in HTML(string=CRAFTED, url_fetcher=URLFetcher()).write_pdf()
    restricted = HTML(string=CRAFTED, base_url=pdf.ASSET_BASE, url_fetcher=pdf.RestrictedURLFetcher()).write_pdf()
    assert b"/EmbeddedFile" not in restricted
