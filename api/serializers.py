"""The bodies of the API, for the OpenAPI schema (the views read request bodies themselves)."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="中文说明")
    code = serializers.CharField(help_text="错误代码，如 not_authenticated、unit_not_found、not_editable、throttled")


class RowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="rows 中的第几行（从 1 开始）；整体性错误为 null")
    column = serializers.CharField(allow_null=True, help_text="字段的中文表头；整行的错误为 null")
    message = serializers.CharField(help_text="中文原因")


@extend_schema_field({"type": "object",
                      "additionalProperties": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
                                               "nullable": True},
                      "example": {"行政相对人名称": "营口市某某贸易有限公司", "XK_ZT": "1"}})
class RowField(serializers.DictField):
    pass


class CategoryPutSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(
        choices=[("replace", "替换本类别已有记录"), ("append", "追加到已有记录")], required=False,
        help_text="replace：替换本类别本月已有的记录；append：追加（文书号不得与已存记录重复）。"
                  "本类别本月已有记录时必须指定；没有记录时默认 replace。")
    rows = serializers.ListField(
        child=RowField(), required=False,
        help_text="逐条记录类别：每行一个对象，键为模板的表头文字或国家标准字段代码（如 XK_XDR），"
                  "值为文本、数字、true/false 或 null。不能识别的键被忽略并在响应的 ignored_keys 中列出。")
    count = serializers.IntegerField(min_value=0, required=False, help_text="数量类别：本月数量（不小于 0 的整数）")
    nil = serializers.BooleanField(required=False, help_text="true：声明本类别本月无数据；false：撤销声明")


class ImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField(help_text="本次导入的记录数（被拒绝或重复提交时为 0）")
    errors = RowErrorSerializer(many=True, help_text="前 1,000 处错误，与命令行 import_records --json 相同")
    error_count = serializers.IntegerField(help_text="错误总数")
    total = serializers.IntegerField(required=False, help_text="导入后本类别本月共有的记录数")
    duplicate = serializers.BooleanField(required=False, help_text="与已导入的内容完全相同，未重复计数")
    ignored_keys = serializers.ListField(child=serializers.CharField(), required=False,
                                         help_text="不能识别、已忽略的键")
    batch = serializers.IntegerField(required=False, help_text="导入记录编号（报表页可查看）")
    mode = serializers.CharField(required=False)
    message = serializers.CharField(required=False, help_text="中文结果说明")
    detail = serializers.CharField(required=False, help_text="被拒绝时的中文说明")


class CountResultSerializer(serializers.Serializer):
    count = serializers.IntegerField(required=False)
    nil = serializers.BooleanField()
    message = serializers.CharField()


class CategoryStateSerializer(serializers.Serializer):
    records = serializers.IntegerField(help_text="记录条数")
    count = serializers.IntegerField(allow_null=True, help_text="数量类别的数量；未填为 null")
    nil = serializers.BooleanField(help_text="是否已声明本月无数据")


class ReportStatusSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[("draft", "填报中"), ("submitted", "已提交"), ("accepted", "已通过"),
                                              ("returned", "已退回")])
    url = serializers.CharField(help_text="报表页面的地址")
    on_time = serializers.BooleanField(allow_null=True, help_text="是否按时报送；尚未提交为 null")
    categories = serializers.DictField(child=CategoryStateSerializer(), help_text="键为类别编码")


class SubmitSerializer(serializers.Serializer):
    confirm_nil = serializers.BooleanField(
        required=False, default=True,
        help_text="默认 true：尚未填报的类别在提交时记为本月无数据（与命令行 submit_report 相同）；"
                  "false：有未填报的类别时拒绝提交（422，categories 列出这些类别）。")


class SubmitResultSerializer(ReportStatusSerializer):
    nil_declared = serializers.ListField(child=serializers.CharField(), help_text="提交时记为本月无数据的类别编码")
    outliers = serializers.ListField(child=serializers.CharField(), help_text="数量异常提示（已记入操作记录）")
    message = serializers.CharField()
