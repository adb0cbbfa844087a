"""JSON Schemas of agreements and requests (package data) and error reporting by field path."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

AGREEMENT_SCHEMA = "sharing-agreement.schema.json"
REQUEST_SCHEMA = "sharing-request.schema.json"


@lru_cache(maxsize=4)
def load_schema(name: str = AGREEMENT_SCHEMA) -> dict[str, Any]:
    """Return a shipped JSON Schema (``sharing-agreement.schema.json`` or the request one)."""
    text = resources.files("soilbiome").joinpath("data", name).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=4)
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name), format_checker=FormatChecker())


def format_path(parts: Any) -> str:
    """Render a jsonschema path deque as ``parties[1].country`` (``$`` for the root)."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out or "$"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def schema_problems(data: Any, name: str = AGREEMENT_SCHEMA) -> list[tuple[str, str]]:
    """Validate ``data`` against a shipped schema and return every ``(field, message)``.

    A missing required property is reported at its own path (``license.spdx``), an unexpected
    one at the path of the unexpected key, so a steward can find each problem directly.
    """
    problems: list[tuple[str, str]] = []
    for err in _validator(name).iter_errors(data):
        path = list(err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, dict):
            for key in err.validator_value:
                if key not in err.instance:
                    problems.append((format_path([*path, key]), "required field is missing"))
            continue
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = set(err.schema.get("properties", {}))
            for key in err.instance:
                if key not in allowed and not str(key).startswith("x-"):
                    problems.append(
                        (format_path([*path, key]),
                         "unknown field (check spelling; use x- for extensions)")
                    )
            continue
        if err.validator == "enum":
            msg = f"{_short(err.instance)} is not one of {', '.join(map(str, err.validator_value))}"
        elif err.validator == "pattern":
            msg = f"{_short(err.instance)} does not match {err.validator_value}"
        elif err.validator == "anyOf" and err.context:
            msg = "; ".join(sorted({c.message for c in err.context}))
        else:
            msg = err.message
        problems.append((format_path(path), msg))
    # de-duplicate, keep order
    return list(dict.fromkeys(problems))
