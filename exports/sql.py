"""The export's rows built by PostgreSQL: the layout of exports.national as SQL expressions.

At a million rows, parsing each record's JSON, mapping codes and quoting CSV in Python cost 30-40 µs
a row on our 2-core hosts (orjson and the csv module included): 30-45 s.  PostgreSQL does the same
work in C on its own core, once per record (`json_to_record` parses the JSON text once), while this
process only moves bytes: COPY … TO STDOUT (CSV) or one text column of sheet XML per row (xlsx).

The SQL must give exactly what exports.services._Converter gives (the SQLite path, and the tests on
both databases hold them to the same expected values): codes by the national maps, amounts as plain
decimals (trim_scale: 5.0 -> 5, 1e-06 -> 0.000001), blanks for fields we do not hold, and for CSV an
apostrophe before text starting with = + - @ tab or CR (reporting.exports.FORMULA_PREFIXES).
"""

from . import national

ROW_MARK = "\x01"  # stands for the row number in xlsx cell references; never in stored text (validation)


def _literal(text):
    return "'" + text.replace("'", "''") + "'"


def _value(column):
    """The column's value as text, NULL when empty (before any CSV or XML treatment)."""
    if not column.key:
        return "NULL"
    field = f'd."{column.key}"'
    if column.kind == national.CODE:
        cases = " ".join(f"WHEN {_literal(value)} THEN {_literal(code)}" for value, code in column.codes.items())
        return f"CASE {field} {cases} ELSE NULLIF({field}, '') END"
    if column.kind == national.AMOUNT:
        return (f"CASE WHEN {field} ~ '^[0-9.eE+-]+$' THEN trim_scale({field}::numeric)::text "
                f"ELSE NULLIF({field}, '') END")
    return f"NULLIF({field}, '')"


_FORMULA = "'^[=+@\\t\\r-]'"


def csv_expressions(layout):
    """One expression per column, for COPY (SELECT …) TO STDOUT WITH (FORMAT csv)."""
    out = []
    for column in layout.columns:
        value = _value(column)
        if column.key and column.kind == national.TEXT:
            value = f"CASE WHEN d.\"{column.key}\" ~ E{_FORMULA} THEN '''' || d.\"{column.key}\" ELSE {value} END"
        out.append(value)
    return out


def _xml_escaped(value):
    return f"replace(replace(replace({value}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def xlsx_expression(layout, letters):
    """One text expression: the row's cells as sheet XML, with ROW_MARK for the row number."""
    parts = []
    for column, letter in zip(layout.columns, letters, strict=True):
        if not column.key:
            continue
        value = _value(column)
        ref = f'<c r="{letter}{ROW_MARK}"'
        if column.kind == national.AMOUNT:
            cell = f"'{ref}><v>' || {value} || '</v></c>'"
        else:
            text = f"'<t>' || {_xml_escaped(value)}"
            if column.kind == national.TEXT:  # multi-line text keeps its line breaks
                text = (f"CASE WHEN strpos({value}, E'\\n') > 0 THEN '<t xml:space=\"preserve\">' "
                        f"ELSE '<t>' END || {_xml_escaped(value)}")
            cell = f"'{ref} t=\"inlineStr\"><is>' || {text} || '</t></is></c>'"
        parts.append(f"COALESCE({cell}, '')")
    return " || ".join(parts)


def record_columns(schema_fields):
    """The json_to_record column list: every stored field as text (numbers come as their JSON text)."""
    return ", ".join(f'"{key}" text' for key in schema_fields)
