"""Excel import/export of unit contacts in the admin: one row per unit, all or nothing, as reporting.resources."""

from import_export import widgets
from import_export.fields import Field

from reporting.resources import AllOrNothingResource, UnitCodeWidget

from .models import UnitContact


class RequiredUnitCodeWidget(UnitCodeWidget):
    def clean(self, value, row=None, **kwargs):
        unit = super().clean(value, row=row, **kwargs)
        if unit is None:
            raise ValueError("单位编码不能为空")
        return unit


# An empty cell is an empty text, not NULL.
TEXT = widgets.CharWidget(allow_blank=True)


class UnitContactResource(AllOrNothingResource):
    unit = Field(attribute="unit", column_name="单位编码", widget=RequiredUnitCodeWidget())
    unit_name = Field(attribute="unit__name", column_name="单位名称", readonly=True)
    person = Field(attribute="person", column_name="联系人", widget=TEXT)
    phone = Field(attribute="phone", column_name="联系电话", widget=TEXT)
    emails = Field(attribute="emails", column_name="电子邮件", widget=TEXT)
    note = Field(attribute="note", column_name="备注", widget=TEXT)

    class Meta:
        model = UnitContact
        name = "单位联系人"
        fields = ["unit", "unit_name", "person", "phone", "emails", "note"]
        export_order = fields
        import_id_fields = ["unit"]
        use_transactions = True
        rollback_on_validation_errors = True
        skip_unchanged = True
        report_skipped = True
        clean_model_instances = True

    def get_queryset(self):
        return super().get_queryset().select_related("unit")
