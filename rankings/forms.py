"""The year and month range of a statistics page (GET parameters year, from, through)."""

from dataclasses import dataclass

from django import forms

from . import selectors

MONTHS = [(m, f"{m}月") for m in range(1, 13)]


class TableRangeForm(forms.Form):
    year = forms.TypedChoiceField(label="年份", coerce=int)

    def __init__(self, *args, years, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [(y, f"{y}年") for y in years]
        # "from" is a Python keyword, so the month fields are added by name.
        self.fields["from"] = forms.TypedChoiceField(label="起始月", choices=MONTHS, coerce=int)
        self.fields["through"] = forms.TypedChoiceField(label="截止月", choices=MONTHS, coerce=int)

    def clean(self):
        data = super().clean()
        if data.get("from") and data.get("through") and data["from"] > data["through"]:
            raise forms.ValidationError("起始月不能晚于截止月。")
        return data


@dataclass
class TableRange:
    form: TableRangeForm
    year: int
    first: int
    last: int

    @property
    def query(self):
        return {"year": self.year, "from": self.first, "through": self.last}

    @property
    def label(self):
        return f"{self.year}年{self.first}—{self.last}月"


def table_range(query, *, units=None):
    """The range a page shows: what the query asks for, else this year (or the latest year with
    accepted data) from January to its last accepted month.  `units` scopes those defaults."""
    years = selectors.years_with_data(units=units)
    fallback = selectors.default_year(units=units, years=years)
    year = _int(query.get("year"))
    if year not in years:
        year = fallback
    years = sorted({*years, fallback}, reverse=True)
    first, last = selectors.default_range(year, units=units)
    form = TableRangeForm(
        {"year": year, "from": query.get("from") or first, "through": query.get("through") or last}, years=years
    )
    if form.is_valid():
        first, last = form.cleaned_data["from"], form.cleaned_data["through"]
    return TableRange(form=form, year=year, first=first, last=last)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
