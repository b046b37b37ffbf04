"""The public disclosure's own table: one row per accepted license or penalty, as the public sees it.

Records keep their contents as JSON text (reporting.fields.JSONTextField, never queried inside), and a
person's name is stored whole.  The public list needs what the JSON holds (the penalty's 公示 end, the
subject's kind) in indexed columns, and its name search must match only what the page shows.  So each
accepted record of a license or penalty category gets a row here, written in the transaction that accepts
its month and removed in the one that reopens it (receivers.py), with the name already masked for persons.
The record itself stays the source: the detail page reads it (masked by rules.shown_values).
"""

from django.db import models

from reporting.fields import BytewiseCharField


class Kind(models.TextChoices):
    LICENSE = "license", "行政许可"
    PENALTY = "penalty", "行政处罚"


class PublicEntry(models.Model):
    # The record's own id (reporting.Record), also the id in the detail page's address.
    record_id = models.BigIntegerField("记录", primary_key=True)
    report_id = models.BigIntegerField("月度报表", db_index=True)
    kind = models.CharField("类别", max_length=10, choices=Kind.choices)
    decision_date = models.DateField("决定日期")
    # Penalties: the last day on the public site (rules.publicity_end); licenses: none.
    publicity_end = models.DateField("公示截止期", null=True, blank=True)
    subject_type = models.CharField("行政相对人类别", max_length=20, blank=True)
    name = models.CharField("行政相对人名称（公示）", max_length=200)
    name_searchable = models.BooleanField("可按名称查询", default=True)
    credit_code = models.CharField("统一社会信用代码", max_length=18, blank=True)
    doc_number = BytewiseCharField("文书号", max_length=100)
    subkind = models.CharField("许可类别/处罚类别", max_length=100, blank=True)
    authority = models.CharField("机关", max_length=200, blank=True)

    class Meta:
        verbose_name = "公示条目"
        verbose_name_plural = "公示条目"
        indexes = [
            # Lists, newest decision first; the 公示 end travels in the index for the penalties' filter.
            models.Index(fields=["kind", "-decision_date", "-record_id"], include=["publicity_end"],
                         name="disclosure_list"),
            models.Index(fields=["credit_code"], name="disclosure_code", condition=~models.Q(credit_code="")),
            # Collation "C" (BytewiseCharField): the btree also serves LIKE 'prefix%'.
            models.Index(fields=["doc_number"], name="disclosure_doc"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.doc_number}"
