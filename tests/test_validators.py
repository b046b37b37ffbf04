"""The field rules of DOMAIN.md, one by one, with good and bad values."""

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporting.validators import (
    USCC_ALPHABET,
    FieldError,
    cell_text,
    check_resident_id,
    check_uscc,
    mask_id_number,
    normalise_code,
    normalise_header,
    parse_date,
    parse_decimal,
    uscc_check_char,
    uscc_check_char_by_weights,
)

from .factories import VALID_ID, VALID_USCC, resident_id, uscc


def with_wrong_last_char(code, alphabet):
    return code[:17] + next(c for c in alphabet if c != code[17])


# --- 统一社会信用代码 (GB 32100-2015) ---------------------------------------------


def test_uscc_reference_example_is_valid():
    assert check_uscc("91110000600037341L") == "91110000600037341L"


@pytest.mark.parametrize("n", [0, 1, 30, 31, 961, 123_456])
def test_uscc_factory_codes_are_valid(n):
    assert check_uscc(uscc(n)) == uscc(n)


def test_uscc_check_char_is_computed_from_weights():
    assert uscc_check_char("91110000600037341") == "L"


@given(st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17))
def test_uscc_check_char_in_base_34_equals_the_weighted_sum(first17):
    assert uscc_check_char(first17) == uscc_check_char_by_weights(first17)


def test_uscc_wrong_check_char_is_refused():
    with pytest.raises(FieldError, match="统一社会信用代码校验位错误"):
        check_uscc("91110000600037341M")


@pytest.mark.parametrize("value, actual", [("91110000600037341", 17), ("91110000600037341LL", 19), ("9", 1)])
def test_uscc_wrong_length_is_refused(value, actual):
    with pytest.raises(FieldError, match=f"统一社会信用代码应为18位，实际为{actual}位"):
        check_uscc(value)


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_uscc_illegal_letters_are_refused(letter):
    code = "9111000060003734" + letter + "L"
    with pytest.raises(FieldError, match=f"统一社会信用代码含有非法字符“{letter}”"):
        check_uscc(code)


def test_uscc_full_width_digits_and_spaces_are_normalised():
    assert check_uscc("９１１１ ００００６０００３７３４１Ｌ") == VALID_USCC
    assert check_uscc(" 911100006000\u300037341L ") == VALID_USCC


def test_uscc_lower_case_is_accepted_and_upper_cased():
    assert check_uscc("91110000600037341l") == VALID_USCC


# --- 居民身份证号 (GB 11643) -------------------------------------------------------


def test_resident_id_with_x_check_char_is_valid():
    assert check_resident_id("11010519491231002X") == VALID_ID


def test_resident_id_lower_case_x_and_full_width_are_normalised():
    assert check_resident_id("１１０１０５１９４９１２３１００２ｘ") == VALID_ID


@pytest.mark.parametrize("n", [0, 5, 27, 999])
def test_resident_id_factory_numbers_are_valid(n):
    assert check_resident_id(resident_id(n)) == resident_id(n)


def test_resident_id_wrong_check_char_is_refused():
    with pytest.raises(FieldError, match="居民身份证号码校验位错误"):
        check_resident_id("110105194912310021")


def test_resident_id_bad_birth_date_is_refused():
    body = "21080219800230001"  # 30 February
    from reporting.validators import id_check_char

    with pytest.raises(FieldError, match="出生日期无效"):
        check_resident_id(body + id_check_char(body))


@pytest.mark.parametrize("value, actual", [("11010519491231002", 17), ("110105194912310021X", 19), ("110105491231002", 15)])
def test_resident_id_wrong_length_is_refused(value, actual):
    with pytest.raises(FieldError, match=f"居民身份证号码应为18位，实际为{actual}位"):
        check_resident_id(value)


def test_resident_id_letters_inside_are_refused():
    with pytest.raises(FieldError, match="前17位须为数字"):
        check_resident_id("1101051949123100AX")


# --- dates -----------------------------------------------------------------------


AUG_5 = datetime.date(2019, 8, 5)


@pytest.mark.parametrize(
    "value",
    [
        AUG_5,
        datetime.datetime(2019, 8, 5, 14, 30),
        43682,  # Excel serial number of 2019-08-05
        43682.0,
        43682.75,  # a serial with a time of day
        "2019-08-05",
        "2019-8-5",
        "2019/8/5",
        "2019/08/05",
        "2019年8月5日",
        "20190805",
        20190805,  # 20190805 typed into a number cell
        "２０１９－０８－０５",
        "２０１９年８月５日",
        " 2019 - 08 - 05 ",
        "2019-08-05 00:00:00",
        "2019-08-05T10:00",
    ],
)
def test_date_spellings_are_accepted(value):
    assert parse_date(value) == AUG_5


@pytest.mark.parametrize("value", ["2019-02-30", "2019/13/1", "2019年2月29日", "20190230"])
def test_impossible_dates_are_refused(value):
    with pytest.raises(FieldError, match="不是有效日期（月份或日期超出范围）"):
        parse_date(value)


@pytest.mark.parametrize("value", ["去年八月", "abc", "2019-08", "08/05/2019", "5.8.2019"])
def test_garbage_dates_are_refused(value):
    with pytest.raises(FieldError, match="不是可识别的日期"):
        parse_date(value)


@pytest.mark.parametrize("value", [0, -1, 3_000_000, True])
def test_out_of_range_numbers_are_not_dates(value):
    with pytest.raises(FieldError):
        parse_date(value)


# --- decimals --------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [(0, 0.0), (0.5, 0.5), ("1,234.5", 1234.5), ("０.５", 0.5), (" 3 ", 3.0)])
def test_decimals_are_parsed(value, expected):
    assert parse_decimal(value) == expected


@pytest.mark.parametrize("value", [-0.01, "-1", "－5"])
def test_negative_decimals_are_refused(value):
    with pytest.raises(FieldError, match="不能为负数"):
        parse_decimal(value)


@pytest.mark.parametrize("value", ["五千元", "1.2.3", "nan", "inf", True])
def test_non_numbers_are_refused(value):
    with pytest.raises(FieldError):
        parse_decimal(value)


# --- masking, headers, cells -----------------------------------------------------


def test_mask_id_number_keeps_first_six_and_last_four():
    assert mask_id_number("11010519491231002X") == "110105********002X"


def test_mask_id_number_hides_short_numbers_almost_entirely():
    assert mask_id_number("E1234567") == "E*******"


def test_mask_id_number_leaves_empty_values_alone():
    assert mask_id_number("") == ""
    assert mask_id_number(None) is None


@pytest.mark.parametrize(
    "raw",
    ["行政相对人名称", "*行政相对人名称", "＊行政相对人名称", " 行政相对人 名称 ", "行政相对人\u3000名称", "* 行政相对人名称*"],
)
def test_normalise_header_ignores_width_spaces_and_required_mark(raw):
    assert normalise_header(raw) == "行政相对人名称"


def test_normalise_header_unifies_brackets():
    assert normalise_header("罚款金额(万元)") == normalise_header("罚款金额（万元）") == "罚款金额（万元）"


def test_normalise_header_turns_full_width_latin_half_width():
    assert normalise_header("ＳＨＡ２５６") == "SHA256"


def test_normalise_code_strips_all_spaces_and_upper_cases():
    assert normalise_code(" ab\tc\u3000ｄ ") == "ABCD"


@pytest.mark.parametrize(
    "value, text", [(None, ""), (12.0, "12"), (12.5, "12.5"), ("  x ", "x"), (AUG_5, "2019-08-05")]
)
def test_cell_text(value, text):
    assert cell_text(value) == text
