"""The CSV and xlsx converted by worker processes (PostgreSQL, a snapshot of the export's own) is byte for byte the
CSV converted record by record, and logs the same ledger; records that are not template-plain (escapes,
formulas, commas, quotes, line breaks) and penalties' amounts included."""

import tempfile

import pytest

from exports import fast, national, services, xlsx
from exports.models import ExportLedger, ExportRun
from reporting.models import Record

from .factories import record, records
from .test_national_export import AUG, SEP, license_rows, month

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _license_world(upload):
    rows = license_rows(0) + records("license", 9, start=10)
    rows += [record("license", 30, remark="含,逗号"), record("license", 31, content='含"引号"'),
             record("license", 32, remark="-以减号开头"), record("license", 33, cert_name="a\\b"),
             # 文书号 the ledger's arrays must carry as they are (quotes, backslash, comma, braces)
             record("license", 34, doc_number='营测"引"\\〔2019〕,{34}号')]
    month("D01", AUG, rows, upload)
    month("D02", AUG, license_rows(100)[:2], upload)
    month("D01", SEP, records("license", 5, start=200), upload)


def _both_ways(tmp_path, monkeypatch, category, fmt="csv"):
    calls = []
    parallel = services._parallel

    def spy(*args, **kwargs):
        calls.append(1)
        return parallel(*args, **kwargs)

    monkeypatch.setattr(services, "_parallel", spy)
    monkeypatch.setattr(services, "TASK_ROWS", 3)  # small tasks: reports grouped, large ones split
    monkeypatch.setattr(services, "WORKERS", 2)
    spool = tmp_path / "tmp"
    spool.mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where the workers' result files go
    fanned = services.export_disclosure(category=category, period_from=AUG, period_through=SEP, fmt=fmt,
                                        path=tmp_path / f"parallel.{fmt}")
    assert calls == [1]
    assert list(spool.iterdir()) == []  # the result files read and removed, their folder too
    monkeypatch.setattr(services, "WORKERS", 0)
    serial = services.export_disclosure(category=category, period_from=AUG, period_through=SEP, fmt=fmt,
                                        path=tmp_path / f"serial.{fmt}")
    assert calls == [1]
    assert (tmp_path / f"parallel.{fmt}").read_bytes() == (tmp_path / f"serial.{fmt}").read_bytes()
    assert fanned.run.sha256 == serial.run.sha256 and fanned.rows == serial.rows == Record.objects.count()

    def ledger(run):
        return sorted(services.ledger_entries(run))

    assert ledger(fanned.run) == ledger(serial.run)
    assert len(ledger(fanned.run)) == fanned.rows
    keys = {(unit_id, doc): key for unit_id, _, doc, key in ledger(fanned.run)}
    for rec in Record.objects.all():
        key = services.content_key(Record._meta.get_field("data").get_prep_value(rec.data))
        assert keys[rec.unit_id, rec.doc_number] == key
    return fanned


def test_worker_processes_write_the_same_bytes_and_ledger(reference, upload, tmp_path, monkeypatch):
    _license_world(upload)
    result = _both_ways(tmp_path, monkeypatch, "admin_license")
    assert result.rows == 25
    odd = '营测"引"\\〔2019〕,{34}号'
    assert [doc for _, _, doc, _ in services.ledger_entries(result.run) if doc == odd] == [odd]


@pytest.mark.parametrize("sheet_rows", [1_048_576, 5])
def test_worker_processes_write_the_same_xlsx(reference, upload, tmp_path, monkeypatch, sheet_rows):
    _license_world(upload)
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", sheet_rows)  # 5: rows go on in further sheets, across tasks
    result = _both_ways(tmp_path, monkeypatch, "admin_license", fmt="xlsx")
    assert result.rows == 25


def test_worker_processes_write_the_same_penalties(reference, upload, tmp_path, monkeypatch):
    rows = [record("penalty", 1, fine=0.5, confiscated="12"), record("penalty", 2, fine="0.000001", confiscated=""),
            record("penalty", 3, fine="1e-7", facts="事实\n第二行"), *records("penalty", 6, start=10)]
    month("D03", AUG, rows, upload, schema="penalty", category="admin_penalty")
    _both_ways(tmp_path, monkeypatch, "admin_penalty")
    _both_ways(tmp_path, monkeypatch, "admin_penalty", fmt="xlsx")


def test_the_chunk_converter_takes_template_built_records(reference, upload):
    _license_world(upload)
    texts = [Record._meta.get_field("data").get_prep_value(r.data).encode()
             for r in Record.objects.filter(unit__code="D01", report__period=SEP)]
    converter = fast.ChunkConverter(national.LAYOUTS["admin_license"], binary=True)
    assert converter.columns(texts) is not None  # the fast way is taken for plain records
    assert converter.columns(texts[:1] + [texts[1].replace(b'"remark"', b'"note"')]) is None


def test_a_failing_worker_leaves_neither_file_nor_log(reference, upload, tmp_path, monkeypatch):
    _license_world(upload)
    monkeypatch.setattr(services, "TASK_ROWS", 3)

    def broken(self, texts):
        raise ValueError("转换失败")

    monkeypatch.setattr(fast.CsvChunks, "__call__", broken)  # the workers are forked: they convert with this
    out, spool = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))  # where the workers' result files go
    with pytest.raises(ValueError, match="转换失败"):
        services.export_disclosure(category="admin_license", period_from=AUG, period_through=SEP, fmt="csv",
                                   path=out / "out.csv")
    assert list(out.iterdir()) == [] and list(spool.iterdir()) == []
    assert not ExportRun.objects.exists() and not ExportLedger.objects.exists()


def test_the_chunk_converter_refuses_control_characters_and_its_separator(reference, upload):
    _license_world(upload)
    texts = [Record._meta.get_field("data").get_prep_value(r.data).encode()
             for r in Record.objects.filter(unit__code="D01", report__period=SEP)]
    converter = fast.ChunkConverter(national.LAYOUTS["admin_license"], binary=True)
    for bad in (b"\x01", b"\x1f", b"\x00"):
        changed = texts[:2] + [texts[2].replace(b'"remark":"', b'"remark":"' + bad)]
        assert converter.columns(changed) is None
