"""A plain /docs page rendered from the OpenAPI schema (Swagger UI would need a CDN)."""

from __future__ import annotations

from html import escape
from typing import Any

_METHODS = ("get", "post", "put", "patch", "delete")


def docs_html(schema: dict[str, Any]) -> str:
    """One section per operation: method, path, summary, description, parameters, statuses."""
    info = schema.get("info", {})
    sections = [
        _operation(method, path, operation)
        for path, item in schema.get("paths", {}).items()
        for method, operation in item.items()
        if method in _METHODS
    ]
    title = escape(f"{info.get('title', 'API')} {info.get('version', '')}".strip())
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: HTTP API</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<header class="top"><h1>{title}: HTTP API</h1>
<p>The machine-readable schema is at <a href="/openapi.json">/openapi.json</a>;
the web page is at <a href="/">/</a>.</p>
<pre class="example">curl -F files=@photo.jpg http://HOST:PORT/v1/detect</pre></header>
<main class="docs">
{"".join(sections)}
</main>
</body>
</html>
"""


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    """The HTML of one operation."""
    params = "".join(
        f"<li><code>{escape(p['name'])}</code> ({escape(p.get('in', ''))}): "
        f"{escape(p.get('description', '') or _type_of(p))}</li>"
        for p in operation.get("parameters", [])
    )
    statuses = "".join(
        f"<li><code>{escape(str(code))}</code> {escape(answer.get('description', ''))}</li>"
        for code, answer in operation.get("responses", {}).items()
    )
    description = escape(operation.get("description", "")).replace("\n\n", "<br><br>")
    return f"""<section class="op">
<h2><span class="method">{method.upper()}</span> <code>{escape(path)}</code></h2>
<p><strong>{escape(operation.get("summary", ""))}</strong></p>
<p>{description}</p>
{f"<h3>Parameters</h3><ul>{params}</ul>" if params else ""}
<h3>Answers</h3><ul>{statuses}</ul>
</section>
"""


def _type_of(parameter: dict[str, Any]) -> str:
    """A parameter's type in words, from its schema."""
    schema = parameter.get("schema", {})
    kinds = [option.get("type", "") for option in schema.get("anyOf", [schema])]
    return " or ".join(kind for kind in kinds if kind)
