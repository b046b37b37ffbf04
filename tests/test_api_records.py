"""PUT …/categories/{category}/records: the upload's validation, all-or-nothing and replace/append rules
through JSON rows; field codes and national values; bounds; counts and nil."""

import io
import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from api.models import ApiCall
from api.tokens import token_issue
from reporting.models import AuditEvent, ImportBatch, MonthlyReport, Record, ReportEntry, Unit

from .api_helpers import Api, headed, license_rows, this_month, url
from .factories import VALID_USCC, csv_bytes, record, records, resident_id

pytest_plugins = ["tests.api_fixtures"]  # fixtures: token, api
pytestmark = pytest.mark.django_db
LICENSES = url(category="admin_license")


def stored(category="admin_license", unit="D02"):
    return Record.objects.filter(unit__code=unit, category__code=category)


def test_replace_stores_every_row_and_answers_the_cli_contract(api):
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(3)})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["imported"], body["errors"], body["error_count"], body["total"]) == (3, [], 0, 3)
    assert sorted(stored().values_list("doc_number", flat=True)) == [f"营测〔2019〕{n}号" for n in range(3)]
    batch = ImportBatch.objects.get(pk=body["batch"])
    assert batch.user.username == "api_d02" and batch.user.unit.code == "D02"
    assert AuditEvent.objects.filter(batch=batch, action=AuditEvent.Action.IMPORTED, actor=batch.user).exists()


def test_replace_again_replaces_the_categorys_rows(api):
    api.put(LICENSES, {"mode": "replace", "rows": license_rows(3)})
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(2, start=10)})
    assert response.status_code == 200
    assert response.json()["imported"] == 2
    assert sorted(stored().values_list("doc_number", flat=True)) == ["营测〔2019〕10号", "营测〔2019〕11号"]
    assert ReportEntry.objects.get(report__unit__code="D02", category__code="admin_license").record_count == 2


def test_append_adds_rows_and_checks_doc_numbers_against_the_stored_ones(api):
    api.put(LICENSES, {"mode": "replace", "rows": license_rows(2)})
    response = api.put(LICENSES, {"mode": "append", "rows": license_rows(2, start=2)})
    assert response.status_code == 200
    assert (response.json()["imported"], response.json()["total"]) == (2, 4)

    clash = license_rows(1, start=7) + license_rows(1, start=1)  # 营测〔2019〕1号 is stored already
    response = api.put(LICENSES, {"mode": "append", "rows": clash})
    assert response.status_code == 422
    body = response.json()
    assert body["imported"] == 0 and body["error_count"] == 1
    assert body["errors"] == [{"row": 2, "column": "行政许可决定文书号",
                               "message": "文书号“营测〔2019〕1号”已在本单位本类别报送过（含本月已导入的记录），不能重复报送"}]
    assert stored().count() == 4  # all or nothing: 营测〔2019〕7号 was not stored either


def test_mode_must_be_chosen_once_the_category_has_rows(api):
    assert api.put(LICENSES, {"rows": license_rows(1)}).status_code == 200  # nothing stored yet: replace
    response = api.put(LICENSES, {"rows": license_rows(1, start=5)})
    assert response.status_code == 422
    assert "mode" in response.json()["detail"] and "已有 1 条记录" in response.json()["detail"]
    assert api.put(LICENSES, {"mode": "overwrite", "rows": license_rows(1)}).status_code == 422
    assert list(stored().values_list("doc_number", flat=True)) == ["营测〔2019〕0号"]


def test_errors_are_the_cli_error_objects_numbered_as_in_rows(api, tmp_path):
    rows = records("license", 4)
    rows[1]["credit_code"] = "91110000600037341A"  # wrong check character
    rows[2]["decision_date"] = "2019-13-40"
    rows[3]["status"] = "不知道"
    path = tmp_path / "licenses.csv"
    path.write_bytes(csv_bytes("license", rows))
    out = io.StringIO()
    with pytest.raises(Exception):  # noqa: B017 - the CLI refuses the file (non-zero exit)
        call_command("import_records", "--unit", "D02", "--period", this_month(), "--category", "admin_license",
                     "--json", str(path), stdout=out, stderr=io.StringIO())
    cli = json.loads(out.getvalue().strip().splitlines()[-1])

    response = Api(api.token).put(LICENSES, {"mode": "replace", "rows": headed(rows)})
    assert response.status_code == 422
    body = response.json()
    assert [e["row"] for e in body["errors"]] == [2, 3, 4]
    assert body["errors"] == [{**e, "row": e["row"] - 1} for e in cli["errors"]]  # CSV line 1 is the header
    assert (body["imported"], body["error_count"]) == (0, cli["error_count"]) == (0, 3)
    assert not stored().exists()


def test_field_codes_and_national_code_values_are_accepted_and_stored_canonical(api):
    person = {
        "XK_XDR": "张三", "XK_XDR_LB": "个人", "XK_XDR_ZJLX": "身份证", "XK_XDR_ZJHM": resident_id(7),
        "XK_XKWS": "食品经营许可决定书", "XK_WSH": "营审〔2019〕88号", "XK_XKLB": "普通", "XK_NR": "预包装食品销售",
        "XK_JDRQ": "2019/8/5", "XK_YXQZ": "20190805", "XK_YXQZI": "长期", "XK_XKJG": "营口市行政审批局",
        "XK_XKJGDM": VALID_USCC, "XK_ZT": "1", "XK_LYDW": "营口市行政审批局", "XK_LYDWDM": VALID_USCC,
    }
    company = {**person, "XK_XDR": "营口市某某贸易有限公司", "XK_XDR_LB": "法人和非法人组织", "XK_XDR_ZJLX": None,
               "XK_XDR_ZJHM": None, "XK_XDR_SHXYM": VALID_USCC, "XK_WSH": "营审〔2019〕89号", "XK_ZT": 2,
               "XK_XDR_ZJLX ": "", "XK_JDRQ": "2019年8月5日"}
    response = api.put(LICENSES, {"mode": "replace", "rows": [person, company]})
    assert response.status_code == 200, response.json()
    first, second = (r.data for r in stored().order_by("row_number"))
    assert (first["subject_type"], first["id_type"], first["status"]) == ("自然人", "居民身份证", "有效")
    assert first["id_number"] == resident_id(7)
    assert (first["decision_date"], first["valid_from"], first["valid_to"]) == ("2019-08-05", "2019-08-05", "2099-12-31")
    assert (second["subject_type"], second["status"], second["credit_code"]) == ("法人及非法人组织", "无效", VALID_USCC)


def test_an_id_type_code_sent_as_a_number_is_the_three_digit_code(api):
    rows = license_rows(3, subject_type="自然人", credit_code="", legal_rep="", id_number=resident_id(3))
    for n, row in enumerate(rows):
        row["证件类型"] = [1, 1.0, " 1"][n]
        row["证件号码"] = resident_id(3 + n)
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 200, response.json()
    assert {r.data["id_type"] for r in stored()} == {"居民身份证"}


def test_a_number_in_a_text_column_keeps_all_its_digits(api):
    row = license_rows(1)[0]
    row["许可编号"] = 123456789012345678
    row["备注"] = 0.5
    row["法定代表人"] = None
    response = api.put(LICENSES, {"mode": "replace", "rows": [row]})
    assert response.status_code == 200, response.json()
    data = stored().get().data
    assert (data["cert_number"], data["remark"], data["legal_rep"]) == ("123456789012345678", "0.5", "")


def test_dates_sent_as_excel_serial_numbers_with_or_without_a_time(api):
    rows = license_rows(4)
    rows[0]["许可决定日期"] = 43682  # 2019-08-05
    rows[1]["许可决定日期"] = 43682.5  # 2019-08-05 12:00, an Excel date-time
    rows[2]["许可决定日期"] = 20190805
    rows[3]["许可决定日期"] = -3.5
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["column"]) == (4, "许可决定日期") and "不是有效日期" in error["message"]
    response = api.put(LICENSES, {"mode": "replace", "rows": rows[:3]})
    assert response.status_code == 200, response.json()
    assert {r.data["decision_date"] for r in stored()} == {"2019-08-05"}


def test_a_long_number_sent_as_a_float_is_refused_not_guessed(api):
    row = license_rows(1, subject_type="自然人", id_type="居民身份证")[0]
    row["证件号码"] = 2.10802198001012e17
    response = api.put(LICENSES, {"mode": "replace", "rows": [row]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["column"] == "证件号码"
    assert "以字符串传送" in response.json()["errors"][0]["message"]


def test_unknown_keys_are_ignored_like_unknown_columns_and_listed(api):
    rows = [{**row, "XK_XDR_GSZC": "210800000012345", "内部编号": 17} for row in license_rows(2)]
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 200
    assert response.json()["ignored_keys"] == ["XK_XDR_GSZC", "内部编号"]
    assert "XK_XDR_GSZC" not in stored().first().data


def test_a_bom_or_zero_width_space_in_a_key_is_not_part_of_it(api):
    # A system that turns its UTF-8 CSV export into JSON keeps the BOM on the first header.
    rows = [{("\ufeff" if n == 0 else "\u200b") + key + " ": value for n, (key, value) in enumerate(row.items())}
            for row in license_rows(2)]
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 200, response.json()
    assert "ignored_keys" not in response.json()
    assert sorted(stored().values_list("subject_name", flat=True)) == sorted(r["行政相对人名称"] for r in license_rows(2))


def test_a_missing_required_field_is_named(api):
    rows = license_rows(2)
    for row in rows:
        del row["许可机关"]
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["row"] is None and error["column"] == "许可机关" and "XK_XKJG" in error["message"]
    # A penalty's hint names the penalty layout's codes only (the subject fields are shared with licenses).
    rows = headed(records("penalty", 1), "penalty")
    del rows[0]["行政相对人名称"]
    response = api.put(url(category="admin_penalty"), {"mode": "replace", "rows": rows})
    [error] = response.json()["errors"]
    assert "CF_XDR_MC" in error["message"] and "XK_" not in error["message"], error
    assert not stored().exists()


def test_badly_shaped_rows_are_422_with_their_row(api):
    rows = license_rows(3)
    rows[1] = ["not", "an", "object"]
    rows[2]["许可内容"] = {"nested": True}
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    assert [(e["row"], e["column"]) for e in response.json()["errors"]] == [(2, None), (3, "许可内容")]
    assert api.put(LICENSES, {"mode": "replace", "rows": []}).status_code == 422
    assert api.put(LICENSES, {"mode": "replace", "rows": "x"}).status_code == 422
    assert api.put(LICENSES, ["rows"]).status_code == 422
    assert not MonthlyReport.objects.filter(unit__code="D02").exists()  # refused before anything was created


def test_shape_errors_do_not_hide_the_value_errors_of_the_other_rows(api):
    # One answer lists every bad row: a client fixing the shape errors must not meet new errors next time.
    rows = license_rows(5)
    rows[1] = "not an object"
    rows[2]["许可决定日期"] = "2019-13-01"
    rows[3]["许可内容"] = ["a list"]
    rows[3]["行政相对人类别"] = "外星人"
    rows[4]["当前状态"] = "3"
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    body = response.json()
    assert [(e["row"], e["column"]) for e in body["errors"]] == [
        (2, None), (3, "许可决定日期"), (4, "许可内容"), (4, "行政相对人类别"), (5, "当前状态")]
    assert body["error_count"] == 5 and all(e["message"] for e in body["errors"])
    assert not MonthlyReport.objects.filter(unit__code="D02").exists()


def test_a_repeated_doc_number_names_the_first_row_as_numbered_in_rows(api):
    rows = license_rows(3)
    rows[2]["行政许可决定文书号"] = rows[0]["行政许可决定文书号"]
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["row"] == 3 and error["message"].endswith("与第 1 行重复"), error
    rows[1] = "not an object"  # the same through the check made beside the shape errors
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert [(e["row"], e["message"][-8:]) for e in response.json()["errors"]][1] == (3, "与第 1 行重复")


def test_two_keys_for_one_field_must_agree(api):
    row = license_rows(1)[0]
    row["XK_XDR"] = "另一个名称"
    response = api.put(LICENSES, {"mode": "replace", "rows": [row]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["column"] == "行政相对人名称"
    row["XK_XDR"] = row["行政相对人名称"]
    assert api.put(LICENSES, {"mode": "replace", "rows": [row]}).status_code == 200


def test_control_characters_are_refused_with_row_and_column(api):
    rows = license_rows(2)
    rows[1]["许可内容"] = "预包装\u0000食品"
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert (error["row"], error["column"]) == (2, "许可内容") and "NUL" in error["message"]
    assert not stored().exists()


def test_sending_the_same_rows_again_does_not_count_twice(api):
    rows = license_rows(2)
    api.put(LICENSES, {"mode": "replace", "rows": rows})
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 200
    body = response.json()
    assert body["duplicate"] is True and body["imported"] == 0 and body["total"] == 2
    assert stored().count() == 2


@override_settings(API_MAX_ROWS=3)
def test_too_many_rows_are_refused_with_413(api):
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(4)})
    assert response.status_code == 413
    assert "最多提交 3 行" in response.json()["detail"]
    assert not ImportBatch.objects.exists()


@override_settings(API_MAX_BODY_BYTES=30_000, DATA_UPLOAD_MAX_MEMORY_SIZE=3_000)
def test_the_api_body_limit_is_its_own_not_djangos_form_data_limit(api):
    # DATA_UPLOAD_MAX_MEMORY_SIZE (10 MB) is below API_MAX_BODY_BYTES (20 MB): a body between the two
    # used to end in RequestDataTooBig, a 500.  Bodies up to the API's limit are read; larger ones are 413.
    body = {"mode": "replace", "rows": license_rows(5)}
    assert 3_000 < len(json.dumps(body, ensure_ascii=False).encode()) < 30_000
    response = api.put(LICENSES, body)
    assert response.status_code == 200, response.json()
    assert stored().count() == 5
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(60, start=10)})
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "body_too_large"
    assert stored().count() == 5


@override_settings(API_MAX_BODY_BYTES=2000)
def test_a_body_over_the_limit_is_refused_with_413_before_parsing(api):
    response = api.put(LICENSES, {"mode": "replace", "rows": license_rows(5)})
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large" and "请求体过大" in response.json()["detail"]


def test_invalid_json_and_empty_bodies_are_400_in_chinese(api):
    response = api.call("put", LICENSES, raw='{"mode": "replace", "rows": [')
    assert response.status_code == 400 and "不是合法的 JSON" in response.json()["detail"]
    response = api.call("put", LICENSES, raw="")
    assert response.status_code == 400 and "请求体为空" in response.json()["detail"]
    response = api.call("put", LICENSES, raw='{"rows": NaN}')
    assert response.status_code == 400
    response = api.call("put", LICENSES, raw="[" * 100_000 + "]" * 100_000)
    assert response.status_code == 400


def test_a_form_content_type_is_still_read_as_json(api):
    body = json.dumps({"mode": "replace", "rows": license_rows(1)}, ensure_ascii=False)
    response = api.client.put(LICENSES, data=body, content_type="application/x-www-form-urlencoded",
                              HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 200, response.json()


def test_a_locked_month_is_refused_as_the_page_refuses_it(api):
    response = api.put(url(period="2019-08", category="admin_license"), {"mode": "replace", "rows": license_rows(1)})
    assert response.status_code == 409
    assert "已过锁定日" in response.json()["detail"]
    assert not MonthlyReport.objects.filter(unit__code="D02").exists()
    assert not Record.objects.exists()
    # Rows with errors get the same 409 (not a list of errors to fix for a month that cannot change).
    response = api.put(url(period="2019-08", category="admin_license"), {"mode": "replace", "rows": [{"XK_XDR": "x"}]})
    assert response.status_code == 409 and response.json()["code"] == "not_editable"
    assert not MonthlyReport.objects.filter(unit__code="D02").exists()


def test_a_month_not_started_is_refused(api):
    response = api.put(url(period="2999-01", category="admin_license"), {"mode": "replace", "rows": license_rows(1)})
    assert response.status_code == 422 and "尚未开始" in response.json()["detail"]


def test_count_categories_take_a_count_and_any_category_nil(users):
    _, text = token_issue(unit=Unit.objects.get(code="C01"))
    county = Api(text)
    count_url = url("C01", category="dishonest_rep_interviews")
    response = county.put(count_url, {"count": 12})
    assert response.status_code == 200 and response.json()["count"] == 12
    entry = ReportEntry.objects.get(report__unit__code="C01", category__code="dishonest_rep_interviews")
    assert (entry.count, entry.is_nil) == (12, False)
    assert county.put(count_url, {"mode": "replace", "rows": license_rows(1)}).status_code == 422
    assert county.put(count_url, {"count": -1}).status_code == 422
    assert county.put(count_url, {"count": True}).status_code == 422
    assert county.put(url("C01", category="admin_license"), {"count": 3}).status_code == 422
    # D02 is a department: the counties' count categories do not apply to it.
    assert Api(_token_for("D02")).put(url(category="dishonest_rep_interviews"),
                                                       {"count": 1}).status_code == 404

    penalties = url("C01", category="admin_penalty")
    assert county.put(penalties, {"nil": True}).status_code == 200
    assert ReportEntry.objects.get(report__unit__code="C01", category__code="admin_penalty").is_nil is True
    assert county.put(penalties, {"nil": False}).status_code == 200
    assert ReportEntry.objects.get(report__unit__code="C01", category__code="admin_penalty").is_nil is False
    assert county.put(penalties, {"nil": True, "count": 1}).status_code == 422


def _token_for(code):
    return token_issue(unit=Unit.objects.get(code=code))[1]


def test_a_trailing_slash_reaches_the_same_endpoint(api):
    response = api.put(LICENSES + "/", {"mode": "replace", "rows": license_rows(1)})
    assert response.status_code == 200
    assert stored().count() == 1


def test_penalties_and_subject_records_go_through_their_own_schemas(api):
    penalty = headed(records("penalty", 2), "penalty")
    penalty[0] = {("CF_WSH" if k == "行政处罚决定书文号" else k): v for k, v in penalty[0].items()}
    response = api.put(url(category="admin_penalty"), {"mode": "replace", "rows": penalty})
    assert response.status_code == 200, response.json()
    subject = headed([record("subject", 1)], "subject")
    response = api.put(url(category="joint_punishment_case"), {"mode": "replace", "rows": subject})
    assert response.status_code == 200, response.json()
    assert stored("joint_punishment_case").count() == 1


def test_every_call_leaves_one_call_log_row(api):
    api.put(LICENSES, {"mode": "replace", "rows": license_rows(3)}, HTTP_IDEMPOTENCY_KEY="k-1",
            REMOTE_ADDR="10.1.2.3")
    api.put(LICENSES, {"mode": "append", "rows": [{"x": 1}]})
    call, refused = ApiCall.objects.order_by("id")
    assert (call.method, call.status_code, call.rows_imported, call.idempotency_key) == ("PUT", 200, 3, "k-1")
    assert (call.unit.code, call.token.unit.code, call.client_ip, call.path) == ("D02", "D02", "10.1.2.3", LICENSES)
    assert (refused.status_code, refused.rows_imported) == (422, 0)
    assert refused.message


def test_a_row_that_looks_like_a_header_is_refused_rather_than_skipped(api):
    rows = license_rows(2)
    rows.insert(0, {key: key for key in rows[0]})  # a system that sent its header line as a row
    response = api.put(LICENSES, {"mode": "replace", "rows": rows})
    assert response.status_code == 422
    assert response.json()["errors"][0]["row"] == 1 and "表头" in response.json()["errors"][0]["message"]
    assert not stored().exists()
