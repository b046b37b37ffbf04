"""Forms validate input only; the services decide what the input means."""

import datetime
import re

from django import forms
from django.conf import settings

from .models import ImportBatch, ReportStatus, UnitKind
from .validators import mask_id_number

ALLOWED_EXTENSIONS = (".xlsx", ".csv")
_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(text):
    """'2019-08' -> date(2019, 8, 1), or None."""
    m = _PERIOD.match(text or "")
    if not m:
        return None
    year, month = int(m[1]), int(m[2])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return None
    return datetime.date(year, month, 1)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="选择文件",
        error_messages={"required": "请选择要上传的文件。", "empty": "上传的文件是空的。"},
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.csv", "class": "form-control form-control-sm"}),
    )
    # Asked only when the category already has rows: replacing them is never silent.
    mode = forms.ChoiceField(
        label="本类别已有记录时", required=False, choices=ImportBatch.Mode.choices, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "请选择“替换本类别已有记录”或“追加到已有记录”。"},
    )

    @staticmethod
    def max_mb():
        return settings.UPLOAD_MAX_BYTES // (1024 * 1024)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if name.endswith(".xls"):
            raise forms.ValidationError(
                "不支持旧版 Excel（.xls）文件，请在 Excel 或 WPS 中“另存为” .xlsx 格式后再上传。"
            )
        if not name.endswith(ALLOWED_EXTENSIONS):
            raise forms.ValidationError("只接受 .xlsx（Excel 工作簿）或 .csv 文件。")
        limit = settings.UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"文件过大（{upload.size / 1024 / 1024:.1f} MB），上限为 {limit / 1024 / 1024:.0f} MB，请拆分后分批上传。"
            )
        return upload


class CountForm(forms.Form):
    count = forms.IntegerField(
        label="数量",
        min_value=0,
        max_value=10_000_000,
        error_messages={
            "required": "请填写数量。",
            "invalid": "数量应为整数。",
            "min_value": "数量不能为负数。",
            "max_value": "数量过大，请核对。",
        },
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0, "step": 1}),
    )


class ReviewForm(forms.Form):
    ACTIONS = (("accept", "审核通过"), ("return", "退回"), ("reopen", "重新打开"))

    action = forms.ChoiceField(choices=ACTIONS, error_messages={"invalid_choice": "无效的审核操作。"})
    reason = forms.CharField(label="原因", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        data = super().clean()
        if data.get("action") in ("return", "reopen") and not data.get("reason", "").strip():
            self.add_error("reason", "退回或重新打开时必须填写原因。")
        return data


class ExceptionForm(forms.Form):
    """特许修改: grant until a date, with a reason, or withdraw."""

    ACTIONS = (("grant", "开通特许修改"), ("withdraw", "撤销特许修改"))

    action = forms.ChoiceField(choices=ACTIONS, error_messages={"invalid_choice": "无效的特许修改操作。"})
    until = forms.DateField(label="可修改至", required=False, error_messages={"invalid": "日期格式应为 YYYY-MM-DD。"})
    reason = forms.CharField(label="原因", required=False, max_length=500,
                             error_messages={"max_length": "原因不能超过 500 字。"})

    def clean(self):
        data = super().clean()
        if data.get("action") == "grant":
            if not data.get("until") and "until" not in self.errors:
                self.add_error("until", "请填写特许修改的截止日期。")
            if not data.get("reason", "").strip():
                self.add_error("reason", "开通特许修改时必须填写原因。")
        return data


class QueueFilterForm(forms.Form):
    kind = forms.ChoiceField(label="单位类型", required=False, choices=[("", "全部类型"), *UnitKind.choices])
    month = forms.CharField(
        label="月份",
        required=False,
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部状态"), *ReportStatus.choices])

    def clean_month(self):
        text = self.cleaned_data["month"].strip()
        if not text:
            return None
        period = parse_period(text)
        if period is None:
            raise forms.ValidationError("月份格式应为 YYYY-MM，如 2019-08。")
        return period


class RecordForm(forms.Form):
    """One record's fields as text, for a correction in place.  Only shapes the input: the rules are the
    upload's (services.record_update runs the row through reporting.validation).

    Masked fields (证件号码 for unit staff) start empty: left empty, the stored value is kept.
    """

    def __init__(self, data=None, *, schema, record, masked=()):
        super().__init__(data)
        self.schema, self.masked = schema, masked
        self.headers = {f.header: f.key for f in schema.fields}
        for f in schema.fields:
            stored = record.data.get(f.key)
            text = "" if stored is None else str(int(stored) if isinstance(stored, float) and stored.is_integer()
                                                 else stored)
            attrs = {"class": "form-control form-control-sm"}
            if f.key in masked:
                attrs["placeholder"] = f"{mask_id_number(text)}（不修改请留空）" if text else "（未填写）"
                text = ""
            elif f.kind == "date":
                attrs["placeholder"] = "如 2019-08-05"
            if f.kind == "choice":
                widget = forms.Select(choices=[("", "—"), *[(c, c) for c in f.choices]],
                                      attrs={"class": "form-select form-select-sm"})
            elif f.multiline:
                widget = forms.Textarea(attrs={**attrs, "rows": 2})
            else:
                widget = forms.TextInput(attrs=attrs)
            self.fields[f.key] = forms.CharField(
                label=f.header, required=False, initial=text, widget=widget, strip=False,
                help_text=f.help, max_length=max(f.max_length * 2, 100),
                error_messages={"max_length": "内容过长。"},
            )
            self.fields[f.key].is_required_field = f.required

    def values(self):
        """{field key: text} to store; a masked field left empty keeps its stored value (left out)."""
        return {key: value for key, value in self.cleaned_data.items() if not (key in self.masked and value == "")}

    def add_errors(self, errors):
        for error in errors:
            key = self.headers.get(error["column"])
            self.add_error(key, error["message"])
            if key is not None:
                widget = self.fields[key].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"

    def disable(self):
        for field in self.fields.values():
            field.disabled = True
