"""build_bulletin: create the issue if missing, regenerate its 情况通报 while a draft, write the file."""

import datetime
import io
import subprocess
import sys

import docx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from bulletins import services
from bulletins.models import Bulletin, Section

from . import stats_dataset as data

stats_world = data.stats_world
dataset = data.dataset


def run(*args):
    out = io.StringIO()
    call_command("build_bulletin", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def refused(*args):
    with pytest.raises(CommandError) as exc:
        run(*args)
    return str(exc.value)


def test_creates_the_issue_generates_january_to_m_and_writes_docx(dataset, tmp_path):
    target = tmp_path / "简报.docx"
    out = run("--year", "2019", "--number", "5", "--through", "3", "--format", "docx", "-o", str(target))

    bulletin = Bulletin.objects.get(year=2019, number=5)
    assert "已创建〔2019〕第5期" in out and "2019年1—3月" in out
    assert bulletin.issue_date == timezone.localdate()
    assert bulletin.issuing_office == "营口市社会信用体系建设领导小组办公室"
    assert (bulletin.stats_from, bulletin.stats_through) == (1, 3)
    document = docx.Document(str(target))
    assert len(document.tables) == 2
    assert "〔2019〕第5期" in [p.text for p in document.paragraphs]


def test_an_existing_draft_is_regenerated_and_written_as_pdf_and_html(dataset, tmp_path):
    bulletin = services.bulletin_create(year=2019, number=5, issue_date=datetime.date(2019, 9, 15), user=None)
    services.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=1, user=None)

    run("--year", "2019", "--number", "5", "--through", "3", "--format", "pdf", "-o", str(tmp_path / "a.pdf"))
    bulletin.refresh_from_db()
    assert bulletin.stats_through == 3 and bulletin.issue_date == datetime.date(2019, 9, 15)
    assert (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")

    run("--year", "2019", "--number", "5", "--through", "2", "--format", "HTML", "-o", str(tmp_path / "a.html"))
    html = (tmp_path / "a.html").read_text(encoding="utf-8")
    assert "2019年1—2月份各县（市）区、园区信源单位数据报送情况统计表" in html
    assert Bulletin.objects.count() == 1


def test_a_published_issue_is_written_from_its_snapshot_without_regenerating(dataset, tmp_path):
    bulletin = services.bulletin_create(year=2019, number=5, issue_date=datetime.date(2019, 9, 15), user=None)
    services.bulletin_generate(bulletin=bulletin, year=2019, first=1, last=1, user=None)
    services.bulletin_publish(bulletin=bulletin, user=None)
    snapshot = Bulletin.objects.get(pk=bulletin.pk).snapshot

    out = run("--year", "2019", "--number", "5", "--through", "3", "--format", "html", "-o", str(tmp_path / "p.html"))
    assert "已发布" in out
    after = Bulletin.objects.get(pk=bulletin.pk)
    assert after.snapshot == snapshot and after.stats_through == 1
    assert "2019年1—1月份" in (tmp_path / "p.html").read_text(encoding="utf-8")
    assert after.articles.filter(section=Section.STATUS).count() == 1


@pytest.mark.parametrize("args, message", [
    ([], "缺少参数 --year"),
    (["--year", "abc"], "--year（年份）应为整数，收到“abc”"),
    (["--year", "2019"], "缺少参数 --number"),
    (["--year", "2019", "--number", "0"], "--number（期号）应在 1—999 之间"),
    (["--year", "2019", "--number", "5", "--through", "13"], "--through（截止月）应在 1—12 之间，收到 13"),
    (["--year", "2019", "--number", "5", "--through", "3"], "--format 应为 docx、pdf 或 html"),
    (["--year", "2019", "--number", "5", "--through", "3", "--format", "doc"], "--format 应为 docx、pdf 或 html，收到“doc”"),
    (["--year", "2019", "--number", "5", "--through", "3", "--format", "pdf"], "缺少参数 -o"),
    (["--year", "2019", "--number", "5", "--through", "3", "--format", "pdf", "-o", "/nonexistent/dir/x.pdf"],
     "输出目录不存在"),
])
def test_bad_arguments_exit_with_a_chinese_message(dataset, args, message):
    assert message in refused(*args)
    assert not Bulletin.objects.exists()


def test_bad_arguments_exit_non_zero_from_the_command_line(settings):
    result = subprocess.run([sys.executable, "manage.py", "build_bulletin", "--year", "abc"], capture_output=True,
                            text=True, cwd=settings.BASE_DIR)
    assert result.returncode != 0
    assert "--year（年份）应为整数" in result.stderr
