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
