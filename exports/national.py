"""The national 双公示 standard's layout, written once: field codes, Chinese names, our fields, code values.

Version: 信用中国 "双公示" 数据标准 2.0 (行政许可信息 28 项, 行政处罚信息 30 项), the version provincial
platforms load today; the 2016 version (XK_XMMC, XK_XDR_SFZ …) is only accepted on upload
(reporting.schemas aliases).  Field codes and their order as the 2.0 templates and the platforms built
on them use them: e.g. the 信用中国-derived record layouts XK_XDR_MC … XK_XDR_SHZZ, XK_FRDB, XK_FR_ZJLX,
XK_XDR_ZJLX … XK_LYDW, XK_LYDWDM, BZ and CF_XDR_MC … CF_SJLY, CF_SJLYDM, BZ seen in public platform
clients (github.com, e.g. a 双鸭山 credit app's CreditList1Bean/CreditList2Bean and MySQL table
definitions of 行政处罚信息 with the standard's Chinese names as column comments).

Code values:
- 当前状态 (XK_ZT): 1 有效, 2 无效 (2.0; the 2016 version's 0 正常 is accepted on upload only).
- 证件类型 (XK_XDR_ZJLX / CF_XDR_ZJLX): 001 身份证, 002 护照号, 003 港澳居民来往内地通行证,
  004 台湾居民来往大陆通行证, 005 外国人永久居留身份证; 其他 has no code and is written as 其他.
- 行政相对人类别 (XK_XDR_LB / CF_XDR_LB): the standard enumerates 法人及非法人组织, 自然人, 个体工商户;
  provincial loaders take them as the codes 1, 2, 3 in that order.  We found no citable code table
  for this one (some platforms take the Chinese words): the mapping is the one line SUBJECT_TYPE_CODES.
- 许可类别 and 处罚类别 are written as the standard's words (普通 / 特许 / … ; 警告 / 罚款 / …).

Every code written here must import back (fixtures/value_synonyms.csv maps it to our canonical value):
tests/test_national_export.py checks each against that file.

Fields the standard has and we do not hold (行政相对人代码_2..6, 法定代表人证件类型/号码) are written as
empty columns in their place, so a loader sees the standard's layout.
"""

from dataclasses import dataclass, field

LICENSE = "admin_license"
PENALTY = "admin_penalty"

STATUS_CODES = {"有效": "1", "无效": "2"}
ID_TYPE_CODES = {
    "居民身份证": "001",
    "护照": "002",
    "港澳居民来往内地通行证": "003",
    "台湾居民来往大陆通行证": "004",
    "外国人永久居留身份证": "005",
}
SUBJECT_TYPE_CODES = {"法人及非法人组织": "1", "自然人": "2", "个体工商户": "3"}

# How a stored value is written: TEXT as it is, DATE as YYYY-MM-DD, AMOUNT as a plain decimal, CODE by `codes`.
TEXT, DATE, AMOUNT, CODE = "text", "date", "amount", "code"


@dataclass(frozen=True)
class Column:
    code: str  # the standard's field code (header with --headers code)
    name: str  # the standard's Chinese name (header with --headers zh)
    key: str = ""  # our field (reporting.schemas) or "" when we do not hold it: an empty column
    kind: str = TEXT
    codes: dict = field(default_factory=dict)  # canonical value -> the standard's code (kind CODE)


def _party(prefix):
    """The 13 columns about the subject, the same in both layouts."""
    return (
        Column(f"{prefix}_XDR_MC", "行政相对人名称", "subject_name"),
        Column(f"{prefix}_XDR_LB", "行政相对人类别", "subject_type", CODE, SUBJECT_TYPE_CODES),
        Column(f"{prefix}_XDR_SHXYM", "行政相对人代码_1（统一社会信用代码）", "credit_code"),
        Column(f"{prefix}_XDR_GSZC", "行政相对人代码_2（工商注册号）"),
        Column(f"{prefix}_XDR_ZZJG", "行政相对人代码_3（组织机构代码）"),
        Column(f"{prefix}_XDR_SWDJ", "行政相对人代码_4（税务登记号）"),
        Column(f"{prefix}_XDR_SYDW", "行政相对人代码_5（事业单位证书号）"),
        Column(f"{prefix}_XDR_SHZZ", "行政相对人代码_6（社会组织登记证号）"),
        Column(f"{prefix}_FRDB", "法定代表人", "legal_rep"),
        Column(f"{prefix}_FR_ZJLX", "法定代表人证件类型"),
        Column(f"{prefix}_FR_ZJHM", "法定代表人证件号码"),
        Column(f"{prefix}_XDR_ZJLX", "证件类型", "id_type", CODE, ID_TYPE_CODES),
        Column(f"{prefix}_XDR_ZJHM", "证件号码", "id_number"),
    )


LICENSE_COLUMNS = _party("XK") + (
    Column("XK_XKWS", "行政许可决定文书名称", "doc_name"),
    Column("XK_WSH", "行政许可决定文书号", "doc_number"),
    Column("XK_XKLB", "许可类别", "license_kind"),
    Column("XK_XKZS", "许可证书名称", "cert_name"),
    Column("XK_XKBH", "许可编号", "cert_number"),
    Column("XK_NR", "许可内容", "content"),
    Column("XK_JDRQ", "许可决定日期", "decision_date", DATE),
    Column("XK_YXQZ", "有效期自", "valid_from", DATE),
    Column("XK_YXQZI", "有效期至", "valid_to", DATE),  # 长期 is stored and written as 2099-12-31, as the standard does
    Column("XK_XKJG", "许可机关", "authority"),
    Column("XK_XKJGDM", "许可机关统一社会信用代码", "authority_code"),
    Column("XK_ZT", "当前状态", "status", CODE, STATUS_CODES),
    Column("XK_LYDW", "数据来源单位", "source_unit"),
    Column("XK_LYDWDM", "数据来源单位统一社会信用代码", "source_unit_code"),
    Column("BZ", "备注", "remark"),
)

PENALTY_COLUMNS = _party("CF") + (
    Column("CF_WSH", "行政处罚决定书文号", "doc_number"),
    Column("CF_WFXW", "违法行为类型", "violation_type"),
    Column("CF_SY", "违法事实", "facts"),
    Column("CF_YJ", "处罚依据", "basis"),
    Column("CF_CFLB", "处罚类别", "penalty_kind"),
    Column("CF_NR", "处罚内容", "penalty_content"),
    Column("CF_NR_FK", "罚款金额（万元）", "fine", AMOUNT),
    Column("CF_NR_WFFF", "没收违法所得、没收非法财物的金额（万元）", "confiscated", AMOUNT),
    Column("CF_NR_ZKDX", "暂扣或吊销证照名称及编号", "license_revoked"),
    Column("CF_JDRQ", "处罚决定日期", "decision_date", DATE),
    Column("CF_YXQ", "处罚有效期", "valid_until", DATE),
    Column("CF_GSJZQ", "公示截止期", "publish_until", DATE),
    Column("CF_CFJG", "处罚机关", "authority"),
    Column("CF_CFJGDM", "处罚机关统一社会信用代码", "authority_code"),
    Column("CF_SJLY", "数据来源单位", "source_unit"),
    Column("CF_SJLYDM", "数据来源单位统一社会信用代码", "source_unit_code"),
    Column("BZ", "备注", "remark"),
)


@dataclass(frozen=True)
class Layout:
    category: str  # our category code
    schema: str  # our record schema (reporting.schemas)
    name: str  # sheet name and label
    columns: tuple

    def headers(self, style):
        return [c.code if style == "code" else c.name for c in self.columns]


LAYOUTS = {
    LICENSE: Layout(LICENSE, "license", "行政许可", LICENSE_COLUMNS),
    PENALTY: Layout(PENALTY, "penalty", "行政处罚", PENALTY_COLUMNS),
}
