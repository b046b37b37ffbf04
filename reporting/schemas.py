"""Record schemas of DOMAIN.md: the columns of each kind of records upload.

A schema is plain data (no database): the template builder, the upload
validator and the record browser all read it.  `key` is the name a value is
stored under in `Record.data`; `header` is the Chinese column header users
see and that uploads are matched by, together with its `aliases`: the field
codes of the national 双公示 standard (2.0: XK_XDR, CF_WSH …; 2016: XK_XMMC,
XK_XDR_SFZ …) and the variants units' own systems export.

Rules that involve several fields are declared here once, as `rules`: the
validator applies them and the template's 填表说明 describes them, both from
this declaration.
"""

from dataclasses import dataclass, field

SUBJECT_TYPES = ("法人及非法人组织", "自然人", "个体工商户")
LICENSE_KINDS = ("普通", "特许", "认可", "核准", "登记", "其他")
LICENSE_STATES = ("有效", "无效")
ID_TYPES = ("居民身份证", "护照", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "外国人永久居留身份证", "其他")

# Field kinds understood by reporting.validation.
TEXT = "text"
CODE = "uscc"  # 统一社会信用代码
DATE = "date"
CHOICE = "choice"
DECIMAL = "decimal"
ID_NUMBER = "id_number"  # 证件号码: checked as 居民身份证 when the type says so
URL = "url"


@dataclass(frozen=True)
class Field:
    key: str
    header: str
    kind: str = TEXT
    required: bool = False
    choices: tuple = ()
    max_length: int = 500
    help: str = ""
    example: str = ""
    # Other header texts this column is recognised by (national field codes, common variants).
    aliases: tuple = ()
    # Long free text: line breaks inside the cell are kept (elsewhere they are folded away).
    multiline: bool = False
    # An end date that may be "长期" (no end): stored as 2099-12-31, as the national standard writes it.
    open_ended: bool = False

    @property
    def header_texts(self):
        return (self.header, *self.aliases)


# --- rules across fields ---------------------------------------------------------
# Each rule names the fields it concerns; `describe(schema, key)` is its sentence in
# 填表说明 for one of them.  reporting.validation applies them in the order declared.


@dataclass(frozen=True)
class NotFuture:
    key: str

    def concerns(self, key):
        return key == self.key

    def describe(self, schema, key):
        return "不得晚于今天"


@dataclass(frozen=True)
class DateOrder:
    earlier: str
    later: str

    def concerns(self, key):
        return key in (self.earlier, self.later)

    def describe(self, schema, key):
        if key == self.earlier:
            return f"不得晚于“{schema.field(self.later).header}”"
        return f"不得早于“{schema.field(self.earlier).header}”"


@dataclass(frozen=True)
class RequiredWhen:
    """`key` is required when the field `when` has the value `equals`."""

    key: str
    when: str
    equals: str

    def concerns(self, key):
        return key == self.key

    def describe(self, schema, key):
        return f"{schema.field(self.when).header}为“{self.equals}”时必填"

    def message(self, schema):
        return f"{schema.field(self.when).header}为“{self.equals}”时，{schema.field(self.key).header}必填"


@dataclass(frozen=True)
class ResidentId:
    """`key` is checked as a 居民身份证 number (GB 11643) unless `type_key` names another document."""

    key: str
    type_key: str = ""
    resident: str = "居民身份证"

    def concerns(self, key):
        return key == self.key

    def describe(self, schema, key):
        if self.type_key:
            return (f"{schema.field(self.type_key).header}为{self.resident}或未填写时，按 GB 11643 校验："
                    "18位，前17位为数字，末位为数字或X")
        return "按 GB 11643 校验：18位，前17位为数字，末位为数字或X"


@dataclass(frozen=True)
class OneOf:
    """At least one of `keys` is filled; the error is reported on the first."""

    keys: tuple

    def concerns(self, key):
        return key in self.keys

    def describe(self, schema, key):
        others = "、".join(f"“{schema.field(k).header}”" for k in self.keys if k != key)
        return f"与{others}至少填写一项"

    def message(self, schema):
        return "和".join(schema.field(k).header for k in self.keys) + "至少填写一项"


CONDITIONAL = (RequiredWhen, OneOf)  # rules that make an optional field required


@dataclass(frozen=True)
class Schema:
    code: str
    name: str
    fields: tuple
    # Key of the document number that must be unique per unit and category.
    doc_number_key: str = ""
    # Keys copied into indexed columns of Record for search and statistics.
    subject_key: str = ""
    date_key: str = ""
    # Rules across fields (NotFuture, DateOrder, RequiredWhen, ResidentId, OneOf), in the order applied.
    rules: tuple = ()
    # Whether records of this schema count for 双公示 timeliness.
    disclosure: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def headers(self):
        return [f.header for f in self.fields]

    def rules_for(self, key):
        return [rule for rule in self.rules if rule.concerns(key)]

    def field(self, key):
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


EXAMPLE_AUTHORITY_CODE = "11210800MB1234560X"  # a valid GB 32100 code, as 填表说明 shows it

_SUBJECT_PARTY = (
    Field("subject_name", "行政相对人名称", required=True, max_length=200,
          help="法人、非法人组织或个体工商户名称，或自然人姓名", example="营口市某某贸易有限公司",
          aliases=("XK_XDR", "XK_XDR_MC", "CF_XDR_MC", "CF_XDR", "相对人名称", "行政管理相对人名称",
                   "行政相对人", "当事人名称", "当事人")),
    Field("subject_type", "行政相对人类别", CHOICE, required=True, choices=SUBJECT_TYPES,
          help="从下拉列表选择：法人及非法人组织 / 自然人 / 个体工商户", example="法人及非法人组织",
          aliases=("XK_XDR_LB", "CF_XDR_LB", "相对人类别", "行政相对人类型", "相对人类型")),
    Field("credit_code", "统一社会信用代码", CODE,
          help="18位，按 GB 32100-2015 校验", example="91110000600037341L",
          aliases=("XK_XDR_SHXYM", "CF_XDR_SHXYM", "行政相对人代码_1（统一社会信用代码）", "行政相对人代码_1",
                   "相对人统一社会信用代码", "社会信用代码", "统一信用代码")),
    Field("legal_rep", "法定代表人", max_length=50, help="法人及非法人组织的法定代表人", example="张三",
          aliases=("XK_FRDB", "CF_FRDB", "XK_FR", "CF_FR", "法定代表人姓名", "法定代表人（负责人）", "法人代表")),
    Field("id_type", "证件类型", CHOICE, choices=ID_TYPES,
          help="行政相对人类别为自然人时填写", example="居民身份证",
          aliases=("XK_XDR_ZJLX", "CF_XDR_ZJLX", "相对人证件类型", "证件类别")),
    Field("id_number", "证件号码", ID_NUMBER, max_length=50,
          help="自然人必填", example="11010519491231002X",
          aliases=("XK_XDR_ZJHM", "CF_XDR_ZJHM", "XK_XDR_SFZ", "CF_XDR_SFZ", "相对人证件号码", "居民身份证号",
                   "居民身份证号码", "身份证号", "身份证号码")),
)

_SUBJECT_PARTY_RULES = (
    RequiredWhen("credit_code", "subject_type", "法人及非法人组织"),
    RequiredWhen("id_number", "subject_type", "自然人"),
    ResidentId("id_number", "id_type"),
)

LICENSE = Schema(
    code="license",
    name="行政许可",
    fields=_SUBJECT_PARTY + (
        Field("doc_name", "行政许可决定文书名称", required=True, max_length=200, example="食品经营许可决定书",
              aliases=("XK_XKWS", "许可决定文书名称", "决定文书名称")),
        Field("doc_number", "行政许可决定文书号", required=True, max_length=100,
              help="同一单位同一类别内不得重复", example="营审批食许〔2019〕0001号",
              aliases=("XK_WSH", "许可决定文书号", "行政许可决定书文号", "决定文书号", "许可文书号", "文书号")),
        Field("license_kind", "许可类别", CHOICE, required=True, choices=LICENSE_KINDS,
              help="普通/特许/认可/核准/登记/其他", example="普通",
              aliases=("XK_XKLB", "XK_SPLB", "审批类别", "许可类型")),
        Field("cert_name", "许可证书名称", max_length=200, example="食品经营许可证",
              aliases=("XK_XKZS", "证书名称", "许可证名称")),
        Field("cert_number", "许可编号", max_length=100, example="JY12108000000001",
              aliases=("XK_XKBH", "许可证编号", "许可证号", "证书编号")),
        Field("content", "许可内容", required=True, max_length=4000, example="预包装食品销售", multiline=True,
              aliases=("XK_NR", "许可事项")),
        Field("decision_date", "许可决定日期", DATE, required=True,
              help="须在决定之日起7个工作日内报送", example="2019-08-05",
              aliases=("XK_JDRQ", "决定日期", "许可日期")),
        Field("valid_from", "有效期自", DATE, required=True, example="2019-08-05",
              aliases=("XK_YXQZ", "有效期起", "有效期开始日期", "有效期起始日期")),
        Field("valid_to", "有效期至", DATE, required=True, example="2024-08-04", open_ended=True,
              aliases=("XK_YXQZI", "XK_JZQ", "有效期止", "有效期截止日期", "许可截止期", "截止日期")),
        Field("authority", "许可机关", required=True, max_length=200, example="营口市行政审批局",
              aliases=("XK_XKJG", "XK_XZJG", "许可部门", "审批机关")),
        Field("authority_code", "许可机关统一社会信用代码", CODE, required=True, example=EXAMPLE_AUTHORITY_CODE,
              aliases=("XK_XKJGDM", "许可机关代码", "许可部门统一社会信用代码")),
        Field("status", "当前状态", CHOICE, required=True, choices=LICENSE_STATES, example="有效",
              aliases=("XK_ZT", "状态", "许可状态")),
        Field("source_unit", "数据来源单位", required=True, max_length=200, example="营口市行政审批局",
              aliases=("XK_LYDW", "数据来源", "来源单位")),
        Field("source_unit_code", "数据来源单位统一社会信用代码", CODE, required=True, example=EXAMPLE_AUTHORITY_CODE,
              aliases=("XK_LYDWDM", "数据来源单位代码", "来源单位统一社会信用代码")),
        Field("remark", "备注", max_length=1000, multiline=True, aliases=("BZ", "备注信息")),
    ),
    doc_number_key="doc_number",
    subject_key="subject_name",
    date_key="decision_date",
    rules=(NotFuture("decision_date"), DateOrder("valid_from", "valid_to"), *_SUBJECT_PARTY_RULES),
    disclosure=True,
)

PENALTY = Schema(
    code="penalty",
    name="行政处罚",
    fields=_SUBJECT_PARTY + (
        Field("doc_number", "行政处罚决定书文号", required=True, max_length=100,
              help="同一单位同一类别内不得重复", example="营市监罚〔2019〕12号",
              aliases=("CF_WSH", "处罚决定书文号", "决定书文号", "行政处罚决定文书号", "文书号")),
        Field("violation_type", "违法行为类型", required=True, max_length=200, example="销售不符合食品安全标准的食品",
              aliases=("CF_WFXW", "违法行为")),
        Field("facts", "违法事实", required=True, max_length=4000, example="经查，当事人……", multiline=True,
              aliases=("CF_SY", "处罚事由", "主要违法事实")),
        Field("basis", "处罚依据", required=True, max_length=2000, multiline=True,
              example="《中华人民共和国食品安全法》第一百二十四条", aliases=("CF_YJ",)),
        Field("penalty_kind", "处罚类别", required=True, max_length=100, example="罚款",
              aliases=("CF_CFLB", "CF_CFLB1", "处罚种类", "处罚类型")),
        Field("penalty_content", "处罚内容", required=True, max_length=2000, example="罚款人民币伍仟元整",
              multiline=True, aliases=("CF_NR", "CF_JG", "处罚结果")),
        Field("fine", "罚款金额（万元）", DECIMAL, help="非负数，单位万元", example="0.5",
              aliases=("CF_NR_FK", "罚款金额", "罚款金额（万）")),
        Field("confiscated", "没收违法所得、没收非法财物的金额（万元）", DECIMAL, help="非负数，单位万元", example="0",
              aliases=("CF_NR_WFFF", "没收违法所得、没收非法财物的金额", "没收金额（万元）")),
        Field("license_revoked", "暂扣或吊销证照名称及编号", max_length=200,
              aliases=("CF_NR_ZKDX", "暂扣或者吊销证照名称及编号")),
        Field("decision_date", "处罚决定日期", DATE, required=True,
              help="须在决定之日起7个工作日内报送", example="2019-08-05", aliases=("CF_JDRQ", "决定日期")),
        Field("valid_until", "处罚有效期", DATE, required=True, example="2020-08-04",
              aliases=("CF_YXQ", "有效期")),
        Field("publish_until", "公示截止期", DATE, example="2022-08-04", aliases=("CF_GSJZQ", "公示期限")),
        Field("authority", "处罚机关", required=True, max_length=200, example="营口市市场监督管理局",
              aliases=("CF_CFJG", "CF_XZJG", "处罚部门")),
        Field("authority_code", "处罚机关统一社会信用代码", CODE, required=True, example=EXAMPLE_AUTHORITY_CODE,
              aliases=("CF_CFJGDM", "处罚机关代码", "处罚部门统一社会信用代码")),
        Field("source_unit", "数据来源单位", required=True, max_length=200, example="营口市市场监督管理局",
              aliases=("CF_SJLY", "CF_LYDW", "数据来源", "来源单位")),
        Field("source_unit_code", "数据来源单位统一社会信用代码", CODE, required=True, example=EXAMPLE_AUTHORITY_CODE,
              aliases=("CF_SJLYDM", "CF_LYDWDM", "数据来源单位代码", "来源单位统一社会信用代码")),
        Field("remark", "备注", max_length=1000, multiline=True, aliases=("BZ", "备注信息")),
    ),
    doc_number_key="doc_number",
    subject_key="subject_name",
    date_key="decision_date",
    rules=(NotFuture("decision_date"), DateOrder("decision_date", "valid_until"), *_SUBJECT_PARTY_RULES),
    disclosure=True,
)

SUBJECT = Schema(
    code="subject",
    name="市场主体记录",
    fields=(
        Field("subject_name", "主体名称", required=True, max_length=200, example="营口市某某贸易有限公司",
              aliases=("企业名称", "单位名称", "市场主体名称", "主体名称（企业名称）", "名称")),
        Field("credit_code", "统一社会信用代码", CODE, help="法人及非法人组织填写", example="91110000600037341L",
              aliases=("社会信用代码", "统一信用代码")),
        Field("id_number", "证件号码", ID_NUMBER, max_length=50, help="自然人填写居民身份证号", example="",
              aliases=("身份证号", "身份证号码", "居民身份证号", "居民身份证号码")),
        Field("matter", "事项", required=True, max_length=2000, example="列入失信联合惩戒对象名单", multiline=True,
              aliases=("事由", "认定事由", "主要事项")),
        Field("doc_number", "文号", max_length=100, example="营信用发〔2019〕3号", aliases=("文书号", "认定文号")),
        Field("decision_date", "认定日期", DATE, required=True, example="2019-08-05",
              aliases=("日期", "列入日期", "决定日期")),
        Field("authority", "认定单位", required=True, max_length=200, example="营口市发展和改革委员会",
              aliases=("认定部门", "认定机关")),
        Field("remark", "备注", max_length=1000, multiline=True, aliases=("备注信息",)),
    ),
    subject_key="subject_name",
    date_key="decision_date",
    rules=(NotFuture("decision_date"), ResidentId("id_number"), OneOf(("credit_code", "id_number"))),
)

ACTIVITY = Schema(
    code="activity",
    name="工作开展情况",
    fields=(
        Field("title", "标题", required=True, max_length=200, example="开展“诚信建设万里行”主题宣传活动",
              aliases=("名称", "活动名称", "主题")),
        Field("date", "日期", DATE, required=True, example="2019-08-05", aliases=("开展日期", "活动日期")),
        Field("summary", "内容摘要", required=True, max_length=4000, example="在站前区人民广场发放宣传材料……",
              multiline=True, aliases=("内容", "摘要", "主要内容")),
        Field("link", "链接", URL, max_length=500, help="以 http:// 或 https:// 开头", example="https://www.creditchina.gov.cn/",
              aliases=("网址", "链接地址")),
        Field("remark", "备注", max_length=1000, multiline=True, aliases=("备注信息",)),
    ),
    subject_key="title",
    date_key="date",
    rules=(NotFuture("date"),),
)

SCHEMAS = {s.code: s for s in (LICENSE, PENALTY, SUBJECT, ACTIVITY)}


def get_schema(code):
    return SCHEMAS[code]
