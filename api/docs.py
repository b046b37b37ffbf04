"""The API's Chinese documentation page, generated from its OpenAPI schema and the record schemas."""

import functools
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from reporting.models import Category
from reporting.schemas import CHOICE, CODE, DATE, DECIMAL, ID_NUMBER, TEXT, URL

METHOD_ORDER = ("get", "put", "post", "patch", "delete")
ERROR_COMPONENT = "Error"
STATUS_TEXT = {
    "200": "成功", "400": "请求体不是合法的 JSON", "401": "未认证", "404": "未找到", "409": "状态冲突",
    "405": "方法不支持", "413": "请求过大", "422": "无法处理", "429": "请求过于频繁",
}
KIND_TEXT = {TEXT: "文本", CODE: "统一社会信用代码", DATE: "日期", CHOICE: "可选值", DECIMAL: "数字",
             ID_NUMBER: "证件号码", URL: "链接"}


@functools.cache
def api_schema():
    """The OpenAPI document of /api/v1/ (the same as /api/v1/schema/ serves), generated once per process."""
    return SchemaGenerator(urlconf="api.schema_urls").get_schema(request=None, public=True)


def _type(schema, components=None):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = (components or {}).get(name, {})
        return _type(target) if "enum" in target else name
    if "allOf" in schema:
        return " / ".join(_type(s) for s in schema["allOf"])
    if "oneOf" in schema:
        return " / ".join(_type(s) for s in schema["oneOf"])
    kind = schema.get("type", "任意")
    if kind == "array":
        return f"array[{_type(schema.get('items', {}))}]"
    if kind == "object" and "additionalProperties" in schema:
        inner = schema["additionalProperties"]
        return f"object{{键: {_type(inner) if isinstance(inner, dict) else '任意'}}}"
    text = kind + ("（可为 null）" if schema.get("nullable") else "")
    if "enum" in schema:
        text += "：" + " / ".join(str(v) for v in schema["enum"] if v is not None)
    return text


def _fields(schema, components, prefix="", depth=0):
    """The properties of a schema (following $ref, one level into arrays and maps of objects)."""
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    rows = []
    required = set(schema.get("required", ()))
    for name, prop in schema.get("properties", {}).items():
        rows.append({"name": prefix + name, "type": _type(prop, components), "required": name in required,
                     "description": prop.get("description", ""), "read_only": prop.get("readOnly", False)})
        inner = prop.get("items") or prop.get("additionalProperties")
        if depth < 1 and isinstance(inner, dict) and "$ref" in inner:
            suffix = "[]." if "items" in prop else "{编码}."
            rows += _fields(inner, components, prefix + name + suffix, depth + 1)
    return rows


def _operations(document):
    components = document.get("components", {}).get("schemas", {})
    operations = []
    for path, item in document.get("paths", {}).items():
        for method in METHOD_ORDER:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            examples = [{"summary": e.get("summary", name), "json": json.dumps(e.get("value"), ensure_ascii=False,
                                                                               indent=2)}
                        for name, e in body.get("examples", {}).items()]
            responses = []
            for status, response in sorted(op.get("responses", {}).items()):
                content = response.get("content", {}).get("application/json", {})
                schema = content.get("schema", {})
                is_error = schema.get("$ref", "").endswith(f"/{ERROR_COMPONENT}")
                responses.append({"status": status, "title": STATUS_TEXT.get(status, ""),
                                  "description": response.get("description", ""), "is_error": is_error,
                                  "fields": _fields(schema, components) if schema and not is_error else []})
            parameters = sorted(op.get("parameters", []), key=lambda p: (p["in"] != "path", path.find(f"{{{p['name']}}}")))
            operations.append({
                "method": method.upper(), "path": path, "id": op.get("operationId", ""),
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "parameters": [{"name": p["name"], "in": {"path": "路径", "header": "请求头", "query": "查询参数"}
                                .get(p["in"], p["in"]), "required": p.get("required", False),
                                "type": _type(p.get("schema", {}), components), "description": p.get("description", "")}
                               for p in parameters],
                "request_fields": _fields(body["schema"], components) if body.get("schema") else [],
                "examples": examples,
                "responses": responses,
            })
    return operations


def _categories():
    rows = []
    for category in Category.objects.filter(is_active=True).order_by("order", "code"):
        entry = {"category": category, "fields": []}
        if category.is_records:
            for f in category.get_schema().fields:
                entry["fields"].append({
                    "header": f.header, "required": f.required, "kind": KIND_TEXT.get(f.kind, f.kind),
                    "codes": [a for a in f.aliases if a.isascii()],
                    "aliases": [a for a in f.aliases if not a.isascii()],
                    "choices": f.choices, "example": f.example, "help": f.help,
                })
        rows.append(entry)
    return rows


@login_required
def api_docs(request):
    """Read-only: renders the generated schema and the categories' fields."""
    document = api_schema()
    operations = _operations(document)
    statuses = sorted({r["status"] for op in operations for r in op["responses"]} | {"405"})
    components = document.get("components", {}).get("schemas", {})
    error_fields = _fields({"$ref": f"#/components/schemas/{ERROR_COMPONENT}"}, components)
    return render(request, "api/docs.html", {
        "info": document.get("info", {}),
        "operations": operations,
        "statuses": [{"status": s, "title": STATUS_TEXT.get(s, "")} for s in statuses],
        "error_fields": error_fields,
        "categories": _categories(),
        "base_url": request.build_absolute_uri("/api/v1/").rstrip("/"),
        "example_unit": request.user.unit.code if request.user.unit_id else "D02",
        "example_period": timezone.localdate().strftime("%Y-%m"),
        "max_rows": settings.API_MAX_ROWS,
        "max_mb": settings.API_MAX_BODY_BYTES // (1024 * 1024),
        "throttle_rate": settings.API_THROTTLE_RATE,
        "idempotency_hours": settings.API_IDEMPOTENCY_HOURS,
    })
