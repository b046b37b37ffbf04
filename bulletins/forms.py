from django import forms
from django.utils import timezone

from rankings.forms import MONTHS

from .models import Article, Bulletin
from .narrative import DEFAULT_INDICATORS
from .services import bulletin_next_number


class BulletinForm(forms.ModelForm):
    """An issue's metadata.  On creation the number may be left empty: the next one is proposed."""

    class Meta:
        model = Bulletin
        fields = ["year", "number", "issue_date", "issuing_office", "masthead"]
        widgets = {"issue_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        if creating:
            self.fields["number"].required = False
            self.fields["number"].help_text = "留空则自动取当年下一期"
        else:
            # Year and number identify the issue (and its address); they are not edited.
            del self.fields["year"]
            del self.fields["number"]
        # Left empty, the office and masthead keep their defaults (settings.BULLETIN_*).
        self.fields["issuing_office"].required = False
        self.fields["masthead"].required = False
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-control")

    def clean_year(self):
        year = self.cleaned_data["year"]
        if not 2000 <= year <= 2100:
            raise forms.ValidationError("年份不正确。")
        return year

    def clean(self):
        data = super().clean()
        year, number = data.get("year"), data.get("number")
        if "year" in self.fields and year and number and Bulletin.objects.filter(year=year, number=number).exists():
            proposed = bulletin_next_number(year=year)
            self.add_error("number", f"〔{year}〕第{number}期已存在，请换一个期号（建议第{proposed}期）。")
        return data


class ArticleForm(forms.ModelForm):
    class Meta:
        model = Article
        fields = ["section", "title", "body", "source"]
        widgets = {
            "title": forms.Textarea(attrs={"rows": 2}),
            "body": forms.Textarea(attrs={"rows": 14}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("class", "form-select" if name == "section" else "form-control")
        self.fields["source"].widget.attrs["placeholder"] = "市信用办"


class GenerateForm(forms.Form):
    """The range of the generated 情况通报 (year, from, through) and the indicators named."""

    year = forms.IntegerField(label="统计年份", min_value=2000, max_value=2100)
    indicators = forms.MultipleChoiceField(label="点评指标", required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, columns=(), **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so the month fields are added by name.
        self.fields["from"] = forms.TypedChoiceField(label="起始月", choices=MONTHS, coerce=int)
        self.fields["through"] = forms.TypedChoiceField(label="截止月", choices=MONTHS, coerce=int)
        self.fields["indicators"].choices = [(c, c) for c in columns]
        self.order_fields(["year", "from", "through", "indicators"])

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("through") and data["from"] > data["through"]:
            raise forms.ValidationError("起始月不能晚于截止月。")
        return data


def default_indicators(columns):
    return [i.column for i in DEFAULT_INDICATORS if i.column in columns]


def initial_create(year=None):
    return {"year": year or timezone.localdate().year, "issue_date": timezone.localdate()}

