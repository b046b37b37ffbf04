"""The block-wise validator gives exactly what checking row by row gives.

reporting.validation checks a column of a block of rows at a time, for speed
(benchmarks/bench_import.py).  tests/oracle_validation.py checks one row at a
time, written straight from the rules without the validator's own helpers.  On
random messy tables (every field kind, blanks, stray spaces, full-width
characters, line breaks, control characters and Excel's _x0000_, national
spellings and codes, numbers where text belongs, bad codes, future and
reversed dates, duplicate and already-stored 文书号, short and blank rows,
columns left out) both must give the same errors in the same order, the same
valid rows with the same values, and the same counts, whatever the block size.
"""

import datetime

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting import validation
from reporting.excel import UploadRefused
from reporting.schemas import SCHEMAS

from . import oracle_validation as oracle
from .factories import VALID_ID, VALID_USCC, record, resident_id, uscc

TODAY = datetime.date(2019, 9, 1)
EXISTING = frozenset({"营测〔2019〕1号", "营测〔2019〕7号"})


def _text(f):
    ok = f.example or "内容"
    return st.sampled_from([ok, f" {ok} ", "", "  ", None, "甲" * (f.max_length + 1), 12, 12.0, 3.5, "a\tb",
                            "反斜杠\\", "引号\"", datetime.date(2019, 8, 5), "\u3000全角\u3000", "百分号%s%%",
                            "换行\n中间", "\x01控制符", "\u2028分隔符\x7f", "空字符\x00", "转义_x0000_",
                            "正常_x4E2D_", "Zhang\r\nSan", " 两端 \n ", 123456789012.0, 1.5e20, "无", " / ", "——"])


def _choice(f):
    options = list(f.choices)
    return st.sampled_from(options + [f" {options[0]} ", "", None, "不存在的选项", 1, 2.0, "001", "身份证",
                                      "个人", "企业", "正常", "失效", "普通许可", "台胞证", "\x00",
                                      options[-1].replace("（", "(")])


def _date(f):
    return st.sampled_from([
        datetime.date(2019, 8, 5), datetime.date(2019, 7, 1), datetime.date(2020, 1, 1), datetime.date(2019, 9, 2),
        datetime.datetime(2019, 8, 5, 10, 30), "2019-08-05", "2019/8/5", "2019年8月5日", "20190805",
        "２０１９－０８－０５", "2019-02-30", "昨天", "", None, 43682, 43682.0, 20190805, -1, True,
        "2019.8.5", "2019-08-05 00:00:00", "2019/8/5 0:00", "43682", "2019年8月5", "长期", "/", "无",
    ])


def _code(f):
    return st.sampled_from([VALID_USCC, uscc(3), uscc(4), f" {uscc(5).lower()} ", "９１１１００００６０００３７３４１Ｌ",
                            VALID_USCC[:-1] + "0", VALID_USCC[:17], "91110000600037341I", "", None, 12345,
                            "'" + VALID_USCC, "‘" + VALID_USCC.lower(), 1.2e17, "9111\n0000600037341L"])


def _id_number(f):
    return st.sampled_from([VALID_ID, resident_id(1), resident_id(2).lower(), "110105194912310020", "E12345678",
                            "", None, f" {VALID_ID} ", "1101051949123100", "'" + VALID_ID, 1.1010519491231002e17,
                            110105194912310.0])


def _decimal(f):
    return st.sampled_from(["0.5", 0.5, 3, "1,200.5", "-1", "abc", "", None, True, float("nan"), "１２", "5万元",
                            "1，200 万元", "5000元", "￥3", "-", "无"])


def _url(f):
    return st.sampled_from(["https://www.creditchina.gov.cn/", "http://x.cn", "ftp://x.cn", "", None,
                            "https://" + "a" * 600])


_KIND = {"text": _text, "choice": _choice, "date": _date, "uscc": _code, "id_number": _id_number,
         "decimal": _decimal, "url": _url}


def _doc_number(f):
    return st.sampled_from([f"营测〔2019〕{n}号" for n in range(12)] + ["", None, " 营测〔2019〕3号 "])


def _cell(schema, f):
    if f.key == schema.doc_number_key:
        return _doc_number(f)
    if f.key == "id_type":
        return st.sampled_from(["", "居民身份证", "护照", None, "身份证", "001", "护照号", "二代身份证"])
    if f.key == "subject_type":
        return st.sampled_from(["法人及非法人组织", "自然人", "个体工商户", "", "其他", "个人", "法人", "个体户"])
    return _KIND[f.kind](f)


def _good(schema, f, n):
    """A valid value, so that whole columns pass (the fast path) in tables with few messy cells."""
    if f.key == schema.doc_number_key:
        return f"营测〔2019〕{100 + n}号"
    return {"text": f.example or "内容", "choice": f.choices[0] if f.choices else "", "date": datetime.date(2019, 8, 5),
            "uscc": uscc(n % 3), "id_number": "", "decimal": 0.5, "url": "https://x.cn/"}[f.kind]


@st.composite
def tables(draw, schema):
    # Some optional columns left out, the rest in a shuffled order.
    fields = [f for f in schema.fields if f.required or draw(st.booleans()) or draw(st.booleans())]
    fields = draw(st.permutations(fields))
    header = [("*" if f.required else "") + draw(st.sampled_from(f.header_texts))
              + draw(st.sampled_from(["", "", "（必填）", "【示例见填表说明】"])) for f in fields]
    messy_percent = draw(st.sampled_from([0, 0, 1, 5, 30, 100]))
    rows = []
    for n in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["cells", "cells", "cells", "cells", "blank", "short"]))
        if kind == "blank":
            rows.append(draw(st.sampled_from([[], ["", "  "], [None] * len(fields)])))
            continue
        cells = [draw(_cell(schema, f)) if draw(st.integers(0, 99)) < messy_percent else _good(schema, f, n)
                 for f in fields]
        if kind == "short":
            cells = cells[: draw(st.integers(1, len(cells)))]
        rows.append(cells + draw(st.sampled_from([[], ["多余的列"]])))
    return [(1, header)] + [(n, cells) for n, cells in enumerate(rows, start=2)]


def _both(schema, table, block_rows, monkeypatch):
    def run(validate):
        try:
            result = validate(schema, [(n, list(c)) for n, c in table], existing_doc_numbers=EXISTING, today=TODAY)
        except UploadRefused:
            return ("refused",)  # the oracle's words are its own; both must refuse
        return (
            result.errors,
            len(result.error_rows) if isinstance(result, oracle.OracleResult) else result.error_row_count,
            result.total_rows,
            result.valid_count,
            [(r.row, r.data, r.doc_number, r.subject_name, r.credit_code, r.id_number, r.record_date)
             for r in result.rows],
        )

    monkeypatch.setattr(validation, "BLOCK_ROWS", block_rows)
    expected, got = run(oracle.validate_table), run(validation.validate_table)
    if got[0] != "refused":
        # The stored JSON is byte for byte what orjson writes for the row's dict in schema order.
        keys = [f.key for f in schema.fields]
        for row in validation.validate_table(schema, [(n, list(c)) for n, c in table],
                                             existing_doc_numbers=EXISTING, today=TODAY).rows:
            assert row.data_json.encode() == orjson.dumps({key: row.data[key] for key in keys})
    return expected, got


@pytest.mark.parametrize("code", sorted(SCHEMAS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_block_checks_equal_row_by_row_checks(code, data, monkeypatch):
    schema = SCHEMAS[code]
    table = data.draw(tables(schema))
    block_rows = data.draw(st.sampled_from([1, 3, 7, 2048]))
    expected, got = _both(schema, table, block_rows, monkeypatch)
    assert got == expected


def test_the_oracle_sees_errors_at_all(monkeypatch):
    """Guard against a vacuous comparison: the random tables do produce errors and valid rows."""
    schema = SCHEMAS["license"]
    header = [f.header for f in schema.fields]
    good = list(record("license").values())
    bad = list(good)
    bad[0] = ""
    table = [(1, header), (2, good), (3, bad)]
    expected, got = _both(schema, table, 2048, monkeypatch)
    assert got == expected
    errors, error_rows, total, valid, rows = got
    assert error_rows == 1 and total == 2 and valid == 1 and len(rows) == 1
    assert errors[0]["message"] == "必填项不能为空"
