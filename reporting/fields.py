import orjson
from django.db import models
from django.utils.encoding import force_str


class JSONTextField(models.TextField):
    """A dict stored as JSON text.

    Record contents are written by COPY at tens of thousands of rows a second
    and read back whole, never queried inside: PostgreSQL's jsonb parse cost
    more than half of the COPY (measured: 100,000 license rows, 3.0 s jsonb vs
    1.2 s text into an unindexed table).  Search uses the indexed columns.
    """

    def from_db_value(self, value, expression, connection):
        return None if value is None else orjson.loads(value)

    def to_python(self, value):
        if value is None or isinstance(value, (dict, list)):
            return value
        return orjson.loads(value)

    def get_prep_value(self, value):
        if value is None or isinstance(value, str):
            return value
        return orjson.dumps(value).decode()

    def value_to_string(self, obj):
        return force_str(self.get_prep_value(self.value_from_object(obj)))


class BytewiseCharField(models.CharField):
    """A CharField compared byte by byte (collation "C") on PostgreSQL.

    For codes such as 文书号 that are matched exactly, never sorted for people:
    a unique index under a linguistic collation calls strcoll for every
    comparison, and on a 1,000,000-row records table that index alone cost
    about 0.7 s of server CPU per 100,000-row upload (benchmarks/bench_import.py).
    Equality is unchanged.  SQLite's default collation is already bytewise.
    """

    def db_parameters(self, connection):
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql" and not self.db_collation:
            params["collation"] = "C"
        return params
