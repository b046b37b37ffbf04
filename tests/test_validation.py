"""validate_table on tables built in memory: header matching, row rules, error collection."""

import datetime

import pytest

from reporting.excel import UploadRefused
from reporting.schemas import SCHEMAS
from reporting.validation import BLOCK_ROWS, validate_table

from .factories import VALID_ID, VALID_USCC, header_row, record, records, resident_id, uscc

TODAY = datetime.date(2019, 9, 1)


def table(schema_code, rows, headers=None, keys=None, first_row=1, above=()):
    """Rows as Excel would give them: [(row number, cells)], `above` being lines before the header."""
    schema = SCHEMAS[schema_code]
    keys = keys or [f.key for f in schema.fields]
    headers = headers or [schema.field(k).header for k in keys]
    lines = [list(line) for line in above] + [list(headers)] + [[r.get(k, "") for k in keys] for r in rows]
    return [(first_row + i, cells) for i, cells in enumerate(lines)]


def validate(schema_code, rows, **kwargs):
    existing = kwargs.pop("existing_doc_numbers", frozenset())
    return validate_table(SCHEMAS[schema_code], table(schema_code, rows, **kwargs),
                          existing_doc_numbers=existing, today=TODAY)


def errors_of(result):
    return [(e["row"], e["column"], e["message"]) for e in result.errors]


def messages_at(result, row, column):
    return [e["message"] for e in result.errors if e["row"] == row and e["column"] == column]


# --- headers -----------------------------------------------------------------------


def test_valid_license_rows_come_back_normalised():
    result = validate("license", records("license", 3))
    assert result.is_valid
    assert result.header_row == 1
    assert result.total_rows == 3
    assert [r.row for r in result.rows] == [2, 3, 4]
    first = result.rows[0]
    assert first.doc_number == "营测〔2019〕0号"
    assert first.subject_name == "营口市某某贸易有限公司"
    assert first.credit_code == uscc(0)
    assert first.record_date == datetime.date(2019, 8, 5)
    assert first.data["decision_date"] == "2019-08-05"
    assert first.data["license_kind"] == "普通"


def test_headers_are_matched_by_text_in_any_order():
    keys = [f.key for f in reversed(SCHEMAS["license"].fields)]
    result = validate("license", records("license", 2), keys=keys)
    assert result.is_valid, result.errors
    assert result.columns["subject_name"] == len(keys) - 1
    assert result.rows[1].credit_code == uscc(1)


def test_headers_with_required_marks_spaces_and_full_width_characters_are_matched():
    headers = [f"　＊ {h} " if i % 2 else f" {h}\u3000" for i, h in enumerate(header_row("penalty"))]
    headers = [h.replace("（", "(").replace("）", ")") for h in headers]  # 罚款金额(万元) typed half-width
    result = validate("penalty", records("penalty", 2, fine="0.5"), headers=headers)
    assert result.is_valid, result.errors
    assert set(result.columns) == {f.key for f in SCHEMAS["penalty"].fields}
    assert result.rows[0].data["fine"] == 0.5


def test_optional_columns_may_be_left_out():
    keys = [f.key for f in SCHEMAS["activity"].fields if f.required]
    result = validate("activity", records("activity", 1), keys=keys)
    assert result.is_valid
    assert result.rows[0].data["link"] == ""


def test_missing_required_column_is_refused_naming_it():
    keys = [f.key for f in SCHEMAS["license"].fields if f.key not in ("doc_number", "status")]
    with pytest.raises(UploadRefused, match="缺少必填列：行政许可决定文书号、当前状态"):
        validate("license", records("license", 1), keys=keys)


def test_table_without_any_known_header_is_refused():
    rows = [(1, ["姓名", "年龄"]), (2, ["张三", 30])]
    with pytest.raises(UploadRefused, match="找不到表头"):
        validate_table(SCHEMAS["activity"], rows, today=TODAY)


@pytest.mark.parametrize("rows", [[], [(1, [])], [(1, ["", None, "  "]), (2, [None])]])
def test_empty_sheet_is_refused(rows):
    with pytest.raises(UploadRefused, match="工作表是空的"):
        validate_table(SCHEMAS["license"], rows, today=TODAY)


def test_header_without_data_rows_is_refused():
    with pytest.raises(UploadRefused, match="表头下面没有任何数据行"):
        validate("license", [])


def test_header_on_row_three_under_a_title_gives_excel_row_numbers():
    rows = records("subject", 3)
    rows[1]["matter"] = ""
    above = [["2019年8月 联合惩戒案例"], []]
    result = validate("subject", rows, above=above)
    assert result.header_row == 3
    assert [r.row for r in result.rows] == [4, 6]
    assert errors_of(result) == [(5, "事项", "必填项不能为空")]


def test_blank_rows_are_skipped_and_not_counted():
    rows = records("activity", 2)
    rows.insert(1, {})
    rows.insert(2, {"title": "  ", "summary": "\u3000"})
    rows.append({})
    result = validate("activity", rows)
    assert result.is_valid
    assert result.total_rows == 2
    assert [r.row for r in result.rows] == [2, 5]


def test_short_rows_are_read_as_empty_trailing_cells():
    schema = SCHEMAS["activity"]
    rows = [(1, schema.headers), (2, ["标题", "2019-08-05", "摘要"])]
    result = validate_table(schema, rows, today=TODAY)
    assert result.is_valid
    assert result.rows[0].data["remark"] == ""


# --- required fields and enumerations -----------------------------------------------


def test_required_fields_left_empty_are_errors():
    result = validate("license", [record("license", 0, doc_name="", content="  ", authority=None)])
    assert errors_of(result) == [
        (2, "行政许可决定文书名称", "必填项不能为空"),
        (2, "许可内容", "必填项不能为空"),
        (2, "许可机关", "必填项不能为空"),
    ]
    assert result.rows == []


@pytest.mark.parametrize(
    "key, header, bad",
    [("subject_type", "行政相对人类别", "外籍人士"), ("license_kind", "许可类别", "一般"), ("status", "当前状态", "暂停")],
)
def test_enumerations_refuse_other_values(key, header, bad):
    result = validate("license", [record("license", 0, **{key: bad})])
    assert [(e["column"], e["message"]) for e in result.errors] == [
        (header, f"“{bad}”不是可选值，应为：" + "、".join(SCHEMAS["license"].field(key).choices)),
    ]


def test_enumerations_tolerate_spaces_and_full_width():
    result = validate("license", [record("license", 0, license_kind=" 核 准 ", status="有效\u3000")])
    assert result.is_valid
    assert result.rows[0].data["license_kind"] == "核准"
    assert result.rows[0].data["status"] == "有效"


def test_too_long_text_is_an_error():
    result = validate("license", [record("license", 0, legal_rep="张" * 51)])
    assert messages_at(result, 2, "法定代表人") == ["内容过长（51 字），最多 50 字"]


def test_negative_fine_is_an_error():
    result = validate("penalty", [record("penalty", 0, fine="-1")])
    assert errors_of(result) == [(2, "罚款金额（万元）", "不能为负数")]


# --- subject party rules ------------------------------------------------------------


def test_organisation_without_credit_code_is_an_error():
    result = validate("license", [record("license", 0, subject_type="法人及非法人组织", credit_code="")])
    assert errors_of(result) == [
        (2, "统一社会信用代码", "行政相对人类别为“法人及非法人组织”时，统一社会信用代码必填"),
    ]


def test_organisation_with_bad_credit_code_gets_one_error_only():
    result = validate("license", [record("license", 0, credit_code="91110000600037341M")])
    assert errors_of(result) == [(2, "统一社会信用代码", "统一社会信用代码校验位错误，请核对是否抄错")]


def test_person_without_id_number_is_an_error():
    row = record("license", 0, subject_type="自然人", credit_code="", id_type="居民身份证", id_number="")
    result = validate("license", [row])
    assert errors_of(result) == [(2, "证件号码", "行政相对人类别为“自然人”时，证件号码必填")]


def test_person_with_valid_id_number_is_accepted_and_normalised():
    row = record("license", 0, subject_type="自然人", credit_code="", id_type="居民身份证",
                 id_number="１１０１０５１９４９１２３１００２ｘ")
    result = validate("license", [row])
    assert result.is_valid, result.errors
    assert result.rows[0].id_number == VALID_ID
    assert result.rows[0].data["id_number"] == VALID_ID


@pytest.mark.parametrize("id_type", ["居民身份证", ""])
def test_id_checksum_is_checked_for_resident_ids_and_when_type_is_empty(id_type):
    row = record("license", 0, subject_type="自然人", credit_code="", id_type=id_type, id_number="110105194912310021")
    result = validate("license", [row])
    assert errors_of(result) == [(2, "证件号码", "居民身份证号码校验位错误，请核对是否抄错")]


def test_id_checksum_is_not_checked_for_passports():
    row = record("license", 0, subject_type="自然人", credit_code="", id_type="护照", id_number="e12345678")
    result = validate("license", [row])
    assert result.is_valid
    assert result.rows[0].id_number == "E12345678"


def test_sole_trader_needs_neither_code_nor_id():
    result = validate("license", [record("license", 0, subject_type="个体工商户", credit_code="")])
    assert result.is_valid


def test_subject_schema_needs_credit_code_or_id_number():
    rows = [
        record("subject", 0, credit_code=""),
        record("subject", 1, credit_code="", id_number=resident_id(1)),
        record("subject", 2),
    ]
    result = validate("subject", rows)
    assert errors_of(result) == [(2, "统一社会信用代码", "统一社会信用代码和证件号码至少填写一项")]
    assert [r.row for r in result.rows] == [3, 4]
    assert result.rows[0].id_number == resident_id(1)


def test_subject_schema_checks_id_numbers_as_resident_ids():
    result = validate("subject", [record("subject", 0, credit_code="", id_number="110105194912310021")])
    assert errors_of(result) == [(2, "证件号码", "居民身份证号码校验位错误，请核对是否抄错")]


def test_authority_credit_codes_are_checked_and_normalised():
    row = record("license", 0, authority_code="９１１１００００６０００３７３４１ｌ", source_unit_code="123")
    result = validate("license", [row])
    assert errors_of(result) == [(2, "数据来源单位统一社会信用代码", "统一社会信用代码应为18位，实际为3位")]
    ok = validate("license", [record("license", 0, authority_code="９１１１００００６０００３７３４１ｌ")])
    assert ok.rows[0].data["authority_code"] == VALID_USCC


# --- dates --------------------------------------------------------------------------


def test_dates_in_any_accepted_spelling_are_stored_as_iso():
    row = record("license", 0, decision_date=datetime.datetime(2019, 8, 5), valid_from="2019/8/5",
                 valid_to="2024年8月4日")
    result = validate("license", [row])
    assert result.is_valid
    data = result.rows[0].data
    assert (data["decision_date"], data["valid_from"], data["valid_to"]) == ("2019-08-05", "2019-08-05", "2024-08-04")


def test_valid_from_after_valid_to_is_an_error():
    result = validate("license", [record("license", 0, valid_from="2024-08-05", valid_to="2019-08-05")])
    assert errors_of(result) == [(2, "有效期至", "有效期至（2019-08-05）不能早于有效期自（2024-08-05）")]


def test_penalty_valid_until_before_decision_is_an_error():
    result = validate("penalty", [record("penalty", 0, decision_date="2019-08-05", valid_until="2019-08-04")])
    assert messages_at(result, 2, "处罚有效期") == ["处罚有效期（2019-08-04）不能早于处罚决定日期（2019-08-05）"]


def test_future_decision_date_is_an_error():
    result = validate("license", [record("license", 0, decision_date="2019-09-02", valid_from="2019-09-02")])
    assert errors_of(result) == [(2, "许可决定日期", "日期 2019-09-02 晚于今天，不能是将来的日期")]


def test_decision_date_today_is_accepted():
    assert validate("license", [record("license", 0, decision_date=TODAY.isoformat())]).is_valid


def test_invalid_date_is_an_error():
    result = validate("license", [record("license", 0, valid_to="2024-02-30")])
    assert errors_of(result) == [(2, "有效期至", "“2024-02-30”不是有效日期（月份或日期超出范围）")]


def test_activity_date_in_future_is_an_error():
    result = validate("activity", [record("activity", 0, date="2030-01-01")])
    assert errors_of(result) == [(2, "日期", "日期 2030-01-01 晚于今天，不能是将来的日期")]


# --- 文书号 ---------------------------------------------------------------------------


def test_duplicate_doc_number_in_the_file_names_the_first_row():
    rows = records("license", 4)
    rows[3]["doc_number"] = rows[1]["doc_number"]
    result = validate("license", rows)
    assert errors_of(result) == [(5, "行政许可决定文书号", "文书号“营测〔2019〕1号”与第 3 行重复")]
    assert [r.row for r in result.rows] == [2, 3, 4]


def test_doc_number_already_stored_is_an_error():
    result = validate("penalty", records("penalty", 2), existing_doc_numbers=frozenset({"营测〔2019〕1号"}))
    assert errors_of(result) == [
        (3, "行政处罚决定书文号", "文书号“营测〔2019〕1号”已在本单位本类别的其他月份报送过，不能重复报送"),
    ]


def test_subject_doc_numbers_may_repeat():
    rows = records("subject", 2, doc_number="营信用发〔2019〕3号")
    assert validate("subject", rows).is_valid


# --- activity -----------------------------------------------------------------------


@pytest.mark.parametrize("link", ["www.creditchina.gov.cn", "ftp://x.cn/a", "javascript:alert(1)"])
def test_activity_link_must_be_http(link):
    result = validate("activity", [record("activity", 0, link=link)])
    assert errors_of(result) == [(2, "链接", "链接应以 http:// 或 https:// 开头")]


@pytest.mark.parametrize("link", ["http://www.yingkou.gov.cn/", "https://www.creditchina.gov.cn/x?id=1", ""])
def test_activity_link_accepts_http_https_and_empty(link):
    assert validate("activity", [record("activity", 0, link=link)]).is_valid


# --- collecting every error ---------------------------------------------------------


def test_all_errors_are_collected_several_per_row_and_several_rows():
    rows = records("license", 6)
    rows[0].update(subject_name="", license_kind="一般", valid_from="2025-01-01", valid_to="2024-01-01")
    rows[2].update(credit_code="91110000600037341M", decision_date="昨天")
    rows[5].update(status="", doc_number=rows[4]["doc_number"])
    result = validate("license", rows)
    assert errors_of(result) == [
        (2, "行政相对人名称", "必填项不能为空"),
        (2, "许可类别", "“一般”不是可选值，应为：普通、特许、认可、核准、登记、其他"),
        (2, "有效期至", "有效期至（2024-01-01）不能早于有效期自（2025-01-01）"),
        (4, "统一社会信用代码", "统一社会信用代码校验位错误，请核对是否抄错"),
        (4, "许可决定日期", "“昨天”不是可识别的日期，请填写如 2019-08-05、2019/8/5、2019年8月5日 或 20190805"),
        (7, "当前状态", "必填项不能为空"),
        (7, "行政许可决定文书号", "文书号“营测〔2019〕4号”与第 6 行重复"),
    ]
    assert result.error_row_count == 3 and result.error_count == 7
    assert result.total_rows == 6
    assert [r.row for r in result.rows] == [3, 5, 6]


def test_errors_on_a_large_table_are_all_reported():
    rows = records("activity", 500)
    for n in range(0, 500, 50):
        rows[n]["title"] = ""
    result = validate("activity", rows)
    assert len(result.errors) == 10
    assert [e["row"] for e in result.errors] == list(range(2, 502, 50))
    assert len(result.rows) == 490


def test_progress_is_reported_about_every_5000_rows_and_at_the_end():
    calls = []
    validate_table(SCHEMAS["activity"], table("activity", records("activity", 20_000)), today=TODAY,
                   progress=lambda done, total: calls.append((done, total)), total=20_001)
    done = [d for d, _ in calls]
    assert all(total == 20_001 for _, total in calls)
    assert done == sorted(done) and done[-1] == 20_001
    # Reported after whole blocks of rows: never more often than every 5000 rows, never a block late.
    assert all(5000 <= b - a < 5000 + BLOCK_ROWS for a, b in zip([0, *done[:-2]], done[:-1], strict=True))
    assert 3 <= len(calls) <= 5


def test_a_table_may_be_any_iterable_of_rows():
    result = validate_table(SCHEMAS["activity"], iter(table("activity", records("activity", 12))), today=TODAY)
    assert [r.row for r in result.rows] == list(range(2, 14))


def test_rows_far_below_blank_lines_are_found():
    rows = [(n, ["", None]) for n in range(1, 15)] + [(15, ["x"])]
    with pytest.raises(UploadRefused, match="找不到表头"):
        validate_table(SCHEMAS["activity"], rows, today=TODAY)


def test_mixed_credit_code_examples_from_the_domain_are_valid():
    assert validate("license", [record("license", 0, credit_code=VALID_USCC)]).is_valid
