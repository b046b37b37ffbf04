"""Excel import/export of the reference data in the admin (django-import-export).

Units, categories and users travel as spreadsheets with Chinese headers.  An
import is all or nothing: django-import-export keeps the valid rows of a file
with errors unless told otherwise, so every resource here rolls the whole
import back on any validation error (`AllOrNothingResource`).  Password
hashes are never exported nor imported; users created by an import cannot log
in until an administrator sets their password, and must then replace it at
their first login.
"""

import io
import zipfile

import openpyxl
import tablib
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from import_export import resources, widgets
from import_export.fields import Field
from import_export.formats import base_formats
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from .models import Category, Unit, UnitKind, User, ValueSynonym
from .schemas import SCHEMAS

# Text starting with these is run as a formula (or a DDE call) when a spreadsheet opens a CSV.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --- formats ----------------------------------------------------------------------


class WorkbookRefused(ValueError):
    """An uploaded spreadsheet that must not be opened; the message is for the administrator."""


def refuse_unsafe_workbook(content):
    """openpyxl has no zip-bomb guard: read the archive's directory before letting it parse anything."""
    if not content.startswith(b"PK\x03\x04"):
        raise WorkbookRefused("文件内容不是 Excel 工作簿（.xlsx）。")
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except zipfile.BadZipFile:
        raise WorkbookRefused("文件已损坏，无法作为 .xlsx 打开。") from None
    if len(entries) > settings.UPLOAD_MAX_ZIP_ENTRIES:
        raise WorkbookRefused("文件结构异常，已拒绝处理。")
    if sum(e.file_size for e in entries) > settings.UPLOAD_MAX_UNCOMPRESSED_BYTES:
        raise WorkbookRefused("文件解压后体积过大，已拒绝处理。")


class SafeXLSX(base_formats.XLSX):
    """XLSX that is checked before it is parsed and writes every text as text.

    Through tablib, openpyxl turns any string starting with "=" into a live
    formula; import-export's own escaping only strips that "=".  Blank rows
    (a spreadsheet's usual trailing ones) are dropped on import.
    """

    def create_dataset(self, in_stream):
        refuse_unsafe_workbook(in_stream)
        dataset = super().create_dataset(in_stream)
        rows = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            if any(v is not None and str(v).strip() for v in row):
                rows.append(row)
        return rows

    def export_data(self, dataset, **kwargs):
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        sheet.title = (dataset.title or "数据")[:31]
        sheet.append(list(dataset.headers or []))
        for row in dataset:
            sheet.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in row])
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
        out = io.BytesIO()
        workbook.save(out)
        return out.getvalue()


class SafeCSV(base_formats.CSV):
    """CSV export with formula-like text prefixed by an apostrophe, as spreadsheets expect."""

    def export_data(self, dataset, **kwargs):
        safe = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            safe.append(["'" + v if isinstance(v, str) and v.startswith(FORMULA_PREFIXES) else v for v in row])
        return super().export_data(safe, **kwargs)


FORMATS = [SafeXLSX, SafeCSV]


# --- widgets ----------------------------------------------------------------------


class ChoiceWidget(widgets.Widget):
    """Exports a choice's Chinese label; imports the label or the stored value."""

    def __init__(self, choices, **kwargs):
        super().__init__(**kwargs)
        self.labels = {value: str(label) for value, label in choices}
        self.values = {label: value for value, label in self.labels.items()}

    def clean(self, value, row=None, **kwargs):
        text = "" if value is None else str(value).strip()
        return self.values.get(text, text)

    def render(self, value, obj=None, **kwargs):
        return self.labels.get(value, value or "")


class WholeNumberWidget(widgets.IntegerWidget):
    """Exported as a number; anything but a whole number is a validation error with a Chinese reason."""

    def __init__(self, **kwargs):
        super().__init__(coerce_to_string=False, **kwargs)

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row=row, **kwargs)
        except (ArithmeticError, TypeError, ValueError):
            raise ValueError(f"“{value}”应为整数") from None


class YesNoWidget(widgets.BooleanWidget):
    """是/否 in the spreadsheet; 1/0 and true/false are read as well.  Empty means 是."""

    TRUE_VALUES = ["是", *widgets.BooleanWidget.TRUE_VALUES]
    FALSE_VALUES = ["否", *widgets.BooleanWidget.FALSE_VALUES]

    def clean(self, value, row=None, **kwargs):
        text = value.strip() if isinstance(value, str) else value
        if text in self.NULL_VALUES:
            return True
        if text in self.TRUE_VALUES:
            return True
        if text in self.FALSE_VALUES:
            return False
        raise ValueError(f"“{value}”应填写“是”或“否”")

    def render(self, value, obj=None, **kwargs):
        return "是" if value else "否"


class KindsWidget(widgets.Widget):
    """Category.applies_to: unit kinds separated by spaces, commas or 、 (codes or Chinese labels)."""

    def clean(self, value, row=None, **kwargs):
        labels = {str(label): kind for kind, label in UnitKind.choices}
        words = str(value or "").replace(",", " ").replace("，", " ").replace("、", " ").split()
        kinds = [labels.get(w, w) for w in words]
        unknown = [w for w, kind in zip(words, kinds, strict=True) if kind not in UnitKind.values]
        if unknown:
            raise ValueError("未知的单位类型：{}（应为 {}）".format("、".join(unknown), " ".join(UnitKind.values)))
        if not kinds:
            raise ValueError("至少填写一种单位类型")
        return " ".join(dict.fromkeys(kinds))


class UnitCodeWidget(widgets.ForeignKeyWidget):
    """A user's unit by its code (D01); empty for office staff."""

    def __init__(self, **kwargs):
        super().__init__(Unit, "code", **kwargs)

    def clean(self, value, row=None, **kwargs):
        code = str(value or "").strip().upper()
        if not code:
            return None
        try:
            return super().clean(code, row=row, **kwargs)
        except Unit.DoesNotExist:
            raise ValueError(f"没有编码为“{code}”的信源单位") from None


class GroupsWidget(widgets.ManyToManyWidget):
    """Groups by name, separated by commas or 、; an unknown name is an error, never silently dropped."""

    def __init__(self, **kwargs):
        super().__init__(Group, separator=",", field="name", **kwargs)

    def clean(self, value, row=None, **kwargs):
        names = [n.strip() for n in str(value or "").replace("，", ",").replace("、", ",").split(",") if n.strip()]
        groups = list(Group.objects.filter(name__in=names))
        unknown = sorted(set(names) - {g.name for g in groups})
        if unknown:
            raise ValueError("没有名为“{}”的用户组".format("、".join(unknown)))
        return groups


# --- resources --------------------------------------------------------------------


class AllOrNothingResource(resources.ModelResource):
    """A resource whose imports store every row or none.

    `Meta.rollback_on_validation_errors` is not read by django-import-export
    itself (only the `import_data` argument is, and it defaults to False): it
    is applied here, so every door into the import — admin, shell, tests —
    rolls back a file with any invalid row.
    """

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None,
                    collect_failed_rows=False, rollback_on_validation_errors=False, **kwargs):
        rollback = rollback_on_validation_errors or getattr(self._meta, "rollback_on_validation_errors", False)
        return super().import_data(
            dataset, dry_run=dry_run, raise_errors=raise_errors, use_transactions=use_transactions,
            collect_failed_rows=collect_failed_rows, rollback_on_validation_errors=rollback, **kwargs,
        )


class UnitResource(AllOrNothingResource):
    code = Field(attribute="code", column_name="编码")
    short_name = Field(attribute="short_name", column_name="简称")
    name = Field(attribute="name", column_name="全称")
    kind = Field(attribute="kind", column_name="类型", widget=ChoiceWidget(UnitKind.choices))
    order = Field(attribute="order", column_name="排序", widget=WholeNumberWidget())
    is_active = Field(attribute="is_active", column_name="启用", widget=YesNoWidget())

    class Meta:
        model = Unit
        name = "信源单位"
        fields = ["code", "short_name", "name", "kind", "order", "is_active"]
        export_order = fields
        import_id_fields = ["code"]
        use_transactions = True
        rollback_on_validation_errors = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def before_import_row(self, row, **kwargs):
        if row.get("编码"):
            row["编码"] = str(row["编码"]).strip().upper()


class CategoryResource(AllOrNothingResource):
    code = Field(attribute="code", column_name="编码")
    name = Field(attribute="name", column_name="名称")
    measure = Field(attribute="measure", column_name="填报方式", widget=ChoiceWidget(Category.Measure.choices))
    schema = Field(attribute="schema", column_name="记录格式",
                   widget=ChoiceWidget([(s.code, s.name) for s in SCHEMAS.values()]))
    applies_to = Field(attribute="applies_to", column_name="适用单位类型", widget=KindsWidget())
    order = Field(attribute="order", column_name="排序", widget=WholeNumberWidget())
    is_active = Field(attribute="is_active", column_name="启用", widget=YesNoWidget())

    class Meta:
        model = Category
        name = "报送类别"
        fields = ["code", "name", "measure", "schema", "applies_to", "order", "is_active"]
        export_order = fields
        import_id_fields = ["code"]
        use_transactions = True
        rollback_on_validation_errors = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        errors.update(category_errors(instance))
        super().validate_instance(instance, errors, validate_unique)


def category_errors(category):
    """Rules the model does not enforce: records categories need a schema, count categories have none."""
    if category.measure == Category.Measure.RECORDS and not category.schema:
        return {"schema": "逐条记录类别必须选择记录格式"}
    if category.measure == Category.Measure.COUNT and category.schema:
        return {"schema": "数量类别不使用记录格式，请留空"}
    return {}


class UserResource(AllOrNothingResource):
    username = Field(attribute="username", column_name="用户名")
    display_name = Field(attribute="display_name", column_name="姓名")
    email = Field(attribute="email", column_name="电子邮件")
    unit = Field(attribute="unit", column_name="所属单位编码", widget=UnitCodeWidget())
    groups = Field(attribute="groups", column_name="用户组", widget=GroupsWidget(), m2m_add=False)
    is_active = Field(attribute="is_active", column_name="启用", widget=YesNoWidget())

    class Meta:
        model = User
        name = "用户"
        # An explicit list: password, is_superuser, is_staff and permissions never travel.
        fields = ["username", "display_name", "email", "unit", "groups", "is_active"]
        export_order = fields
        import_id_fields = ["username"]
        use_transactions = True
        rollback_on_validation_errors = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return super().get_queryset().select_related("unit").prefetch_related("groups")

    def import_instance(self, instance, row, **kwargs):
        # import-export reads many-to-many columns only after saving: check the group names up front,
        # so that an unknown group is reported like any other invalid value.
        errors = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        groups = self.fields["groups"]
        if groups.column_name in row:
            try:
                groups.clean(row)
            except ValueError as exc:
                errors["groups"] = ValidationError(str(exc), code="invalid")
        if errors:
            raise ValidationError(errors)

    def init_instance(self, row=None):
        user = super().init_instance(row)
        user.set_unusable_password()  # an administrator sets it; hashes never come from a file
        user.must_change_password = True
        return user


class ValueSynonymResource(AllOrNothingResource):
    field = Field(attribute="field", column_name="字段", widget=ChoiceWidget(ValueSynonym.FieldKey.choices))
    spelling = Field(attribute="spelling", column_name="写法")
    canonical = Field(attribute="canonical", column_name="规范值")
    note = Field(attribute="note", column_name="说明")

    class Meta:
        model = ValueSynonym
        name = "字段值同义写法"
        fields = ["field", "spelling", "canonical", "note"]
        export_order = fields
        import_id_fields = ["field", "spelling"]
        use_transactions = True
        rollback_on_validation_errors = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True
