"""Record schemas of DOMAIN.md: the columns of each kind of records upload.

A schema is plain data (no database): the template builder, the upload
validator and the record browser all read it.  `key` is the name a value is
stored under in `Record.data`; `header` is the Chinese column header users
see and that uploads are matched by.
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
    # Pairs (earlier, later) of date keys that must be in order.
    date_order: tuple = ()
    # Date keys that may not lie in the future.
    not_future: tuple = ()
    # Whether records of this schema count for 双公示 timeliness.
    disclosure: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def headers(self):
        return [f.header for f in self.fields]

    def field(self, key):
        for f in self.fields:
            if f.key == key:
                return f
        raise KeyError(key)


_SUBJECT_PARTY = (
    Field("subject_name", "行政相对人名称", required=True, max_length=200,
          help="法人、非法人组织或个体工商户名称，或自然人姓名", example="营口市某某贸易有限公司"),
    Field("subject_type", "行政相对人类别", CHOICE, required=True, choices=SUBJECT_TYPES,
          help="从下拉列表选择：法人及非法人组织 / 自然人 / 个体工商户", example="法人及非法人组织"),
    Field("credit_code", "统一社会信用代码", CODE,
          help="18位，行政相对人类别为法人及非法人组织时必填，按 GB 32100-2015 校验", example="91110000600037341L"),
    Field("legal_rep", "法定代表人", max_length=50, help="法人及非法人组织的法定代表人", example="张三"),
    Field("id_type", "证件类型", CHOICE, choices=ID_TYPES,
          help="行政相对人类别为自然人时填写", example="居民身份证"),
    Field("id_number", "证件号码", ID_NUMBER, max_length=50,
          help="自然人必填；居民身份证按 GB 11643 校验（18位，末位可为X）", example="11010519491231002X"),
)

LICENSE = Schema(
    code="license",
    name="行政许可",
    fields=_SUBJECT_PARTY + (
        Field("doc_name", "行政许可决定文书名称", required=True, max_length=200, example="食品经营许可决定书"),
        Field("doc_number", "行政许可决定文书号", required=True, max_length=100,
              help="同一单位同一类别内不得重复", example="营审批食许〔2019〕0001号"),
        Field("license_kind", "许可类别", CHOICE, required=True, choices=LICENSE_KINDS,
              help="普通/特许/认可/核准/登记/其他", example="普通"),
        Field("cert_name", "许可证书名称", max_length=200, example="食品经营许可证"),
        Field("cert_number", "许可编号", max_length=100, example="JY12108000000001"),
        Field("content", "许可内容", required=True, max_length=4000, example="预包装食品销售"),
        Field("decision_date", "许可决定日期", DATE, required=True,
              help="不得晚于今天；须在决定之日起7个工作日内报送", example="2019-08-05"),
        Field("valid_from", "有效期自", DATE, required=True, help="不得晚于有效期至", example="2019-08-05"),
        Field("valid_to", "有效期至", DATE, required=True, example="2024-08-04"),
        Field("authority", "许可机关", required=True, max_length=200, example="营口市行政审批局"),
        Field("authority_code", "许可机关统一社会信用代码", CODE, required=True, example="11210800MB1234567X"),
        Field("status", "当前状态", CHOICE, required=True, choices=LICENSE_STATES, example="有效"),
        Field("source_unit", "数据来源单位", required=True, max_length=200, example="营口市行政审批局"),
        Field("source_unit_code", "数据来源单位统一社会信用代码", CODE, required=True, example="11210800MB1234567X"),
        Field("remark", "备注", max_length=1000),
    ),
    doc_number_key="doc_number",
    subject_key="subject_name",
    date_key="decision_date",
    date_order=(("valid_from", "valid_to"),),
    not_future=("decision_date",),
    disclosure=True,
)

PENALTY = Schema(
    code="penalty",
    name="行政处罚",
    fields=_SUBJECT_PARTY + (
        Field("doc_number", "行政处罚决定书文号", required=True, max_length=100,
              help="同一单位同一类别内不得重复", example="营市监罚〔2019〕12号"),
        Field("violation_type", "违法行为类型", required=True, max_length=200, example="销售不符合食品安全标准的食品"),
        Field("facts", "违法事实", required=True, max_length=4000, example="经查，当事人……"),
        Field("basis", "处罚依据", required=True, max_length=2000, example="《中华人民共和国食品安全法》第一百二十四条"),
        Field("penalty_kind", "处罚类别", required=True, max_length=100, example="罚款"),
        Field("penalty_content", "处罚内容", required=True, max_length=2000, example="罚款人民币伍仟元整"),
        Field("fine", "罚款金额（万元）", DECIMAL, help="非负数，单位万元", example="0.5"),
        Field("confiscated", "没收违法所得、没收非法财物的金额（万元）", DECIMAL, help="非负数，单位万元", example="0"),
        Field("license_revoked", "暂扣或吊销证照名称及编号", max_length=200),
        Field("decision_date", "处罚决定日期", DATE, required=True,
              help="不得晚于今天；须在决定之日起7个工作日内报送", example="2019-08-05"),
        Field("valid_until", "处罚有效期", DATE, required=True, help="不得早于处罚决定日期", example="2020-08-04"),
        Field("publish_until", "公示截止期", DATE, example="2022-08-04"),
        Field("authority", "处罚机关", required=True, max_length=200, example="营口市市场监督管理局"),
        Field("authority_code", "处罚机关统一社会信用代码", CODE, required=True, example="11210800MB1234567X"),
        Field("source_unit", "数据来源单位", required=True, max_length=200, example="营口市市场监督管理局"),
        Field("source_unit_code", "数据来源单位统一社会信用代码", CODE, required=True, example="11210800MB1234567X"),
        Field("remark", "备注", max_length=1000),
    ),
    doc_number_key="doc_number",
    subject_key="subject_name",
    date_key="decision_date",
    date_order=(("decision_date", "valid_until"),),
    not_future=("decision_date",),
    disclosure=True,
)

SUBJECT = Schema(
    code="subject",
    name="市场主体记录",
    fields=(
        Field("subject_name", "主体名称", required=True, max_length=200, example="营口市某某贸易有限公司"),
        Field("credit_code", "统一社会信用代码", CODE,
              help="法人及非法人组织填写；自然人改填证件号码，两者至少填一项", example="91110000600037341L"),
        Field("id_number", "证件号码", ID_NUMBER, max_length=50,
              help="自然人填写居民身份证号（18位，末位可为X）", example=""),
        Field("matter", "事项", required=True, max_length=2000, example="列入失信联合惩戒对象名单"),
        Field("doc_number", "文号", max_length=100, example="营信用发〔2019〕3号"),
        Field("decision_date", "认定日期", DATE, required=True, help="不得晚于今天", example="2019-08-05"),
        Field("authority", "认定单位", required=True, max_length=200, example="营口市发展和改革委员会"),
        Field("remark", "备注", max_length=1000),
    ),
    subject_key="subject_name",
    date_key="decision_date",
    not_future=("decision_date",),
    extra={"code_or_id": True},
)

ACTIVITY = Schema(
    code="activity",
    name="工作开展情况",
    fields=(
        Field("title", "标题", required=True, max_length=200, example="开展“诚信建设万里行”主题宣传活动"),
        Field("date", "日期", DATE, required=True, help="不得晚于今天", example="2019-08-05"),
        Field("summary", "内容摘要", required=True, max_length=4000, example="在站前区人民广场发放宣传材料……"),
        Field("link", "链接", URL, max_length=500, help="以 http:// 或 https:// 开头", example="https://www.creditchina.gov.cn/"),
        Field("remark", "备注", max_length=1000),
    ),
    subject_key="title",
    date_key="date",
    not_future=("date",),
)

SCHEMAS = {s.code: s for s in (LICENSE, PENALTY, SUBJECT, ACTIVITY)}


def get_schema(code):
    return SCHEMAS[code]
