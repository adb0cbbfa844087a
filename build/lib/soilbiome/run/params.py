"""Pipeline parameters checked against ``pipeline/nextflow_schema.json`` before any task runs.

Nextflow accepts any ``--name value`` and silently ignores the ones no process reads, so a
misspelled ``--outdirr`` or ``--dada2_trunc_len_ff`` ends in a run that did something else
than asked. No Nextflow plugin can be fetched on our machines (nf-schema would need the plugin
registry), so the start-up gate of ``main.nf`` calls :func:`check_params` instead, the way
nf-schema's ``validateParameters()`` works:

* every parameter must be in the schema; an unknown one is refused with the closest known
  name (``--outdirr``: did you mean ``--outdir``?); Nextflow's kebab-case and camelCase
  spellings (``--batch-name`` arrives as ``batch-name`` and ``batchName``) are refused with
  the snake_case name, because Nextflow would not apply them to ``batch_name``;
* types, minimum/maximum, patterns and choices (``enum``) are checked with ``jsonschema``
  against the schema's own definitions; parameters left unset (``null``) are not checked;
* ``--help`` prints the parameters grouped as in the schema (:func:`help_text`).

The checked parameters are written as ``pipeline_info/params.json`` (JSON object, schema
order, unset ones as ``null``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from soilbiome.errors import InputError
from soilbiome.io.jsonfile import write_json

#: Parameters Nextflow or the gate use that need not be declared in a schema group.
BUILTIN = frozenset({"help"})


class ParameterError(InputError):
    """One or more pipeline parameters are unknown or invalid; ``problems`` lists each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = f"{len(problems)} problem(s) with the pipeline parameters"
        super().__init__(head + ":\n  " + "\n  ".join(problems))


def load_schema(path: str | Path) -> dict:
    """Read a ``nextflow_schema.json`` (nf-core style: ``$defs`` groups joined by ``allOf``)."""
    path = Path(path)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("parameter schema not found", location=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"parameter schema is not valid JSON ({exc})",
                         location=str(path)) from None
    if not isinstance(schema, dict) or not groups(schema):
        raise InputError("parameter schema has no parameter groups ($defs)", location=str(path))
    return schema


def groups(schema: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """The schema's parameter groups in ``allOf`` order: ``(group key, definition)``."""
    defs = schema.get("$defs") or schema.get("definitions") or {}
    order = [ref.get("$ref", "").rsplit("/", 1)[-1] for ref in schema.get("allOf", [])]
    order += [k for k in defs if k not in order]
    return [(k, defs[k]) for k in order if k in defs and isinstance(defs[k], dict)]


def properties(schema: Mapping[str, Any]) -> dict[str, dict]:
    """Every declared parameter -> its property schema, in schema order."""
    out: dict[str, dict] = {}
    for _, group in groups(schema):
        out.update(group.get("properties") or {})
    out.update(schema.get("properties") or {})
    return out


def _snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_")
    return name.lower()


PATH_FORMATS = ("file-path", "directory-path", "path")


def _coerce(value: Any, prop: Mapping[str, Any]) -> Any:
    """Undo Nextflow's guessing of command-line types where the schema says ``string``.

    ``--dada2_pool true`` arrives as a boolean and ``--group_by 2024`` as a number; both are
    meant as the strings the schema asks for.
    """
    if prop.get("type") == "string" and isinstance(value, bool):
        return "true" if value else "false"
    if prop.get("type") == "string" and isinstance(value, int | float):
        return str(value)
    return value


def _describe(error: Any, name: str, value: Any) -> str:
    shown = json.dumps(value)
    validator = error.validator
    if validator == "type":
        return f"--{name} {shown}: must be {_type_name(error.validator_value)}"
    if validator == "enum":
        choices = ", ".join(str(c) for c in error.validator_value)
        return f"--{name} {shown}: must be one of {choices}"
    if validator in ("minimum", "exclusiveMinimum"):
        return f"--{name} {shown}: must be at least {error.validator_value}" + (
            " (exclusive)" if validator == "exclusiveMinimum" else "")
    if validator in ("maximum", "exclusiveMaximum"):
        return f"--{name} {shown}: must be at most {error.validator_value}" + (
            " (exclusive)" if validator == "exclusiveMaximum" else "")
    if validator == "pattern":
        return f"--{name} {shown}: does not match the pattern {error.validator_value}"
    return f"--{name} {shown}: {error.message}"


def _type_name(types: Any) -> str:
    names = {"integer": "a whole number", "number": "a number", "boolean": "true or false",
             "string": "text"}
    if isinstance(types, list):
        return " or ".join(names.get(t, t) for t in types)
    return names.get(types, str(types))


def check_params(params: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameters against the schema; return them in schema order, coerced.

    Parameters
    ----------
    params : mapping
        Every parameter of the run (Nextflow's ``params``), unset ones as ``None``.
    schema : mapping
        The loaded ``nextflow_schema.json``.

    Returns
    -------
    dict
        The run's parameters, declared ones first in schema order.

    Raises
    ------
    ParameterError
        Listing every unknown parameter (with a suggestion) and every invalid value.
    """
    from jsonschema import Draft202012Validator

    declared = properties(schema)
    known = set(declared) | BUILTIN
    problems: list[str] = []
    reported: set[str] = set()
    for name in params:
        if name in known:
            continue
        snake = _snake(name)
        if snake in known:
            if snake not in reported:
                reported.add(snake)
                problems.append(f"--{_cli_spelling(name, params)}: write it as --{snake} "
                                "(Nextflow does not apply other spellings to it)")
            continue
        close = difflib.get_close_matches(snake, sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean --{close[0]}?" if close else ""
        problems.append(f"--{name}: unknown parameter{hint}")
    checked: dict[str, Any] = {}
    for name, prop in declared.items():
        if name not in params:
            continue
        value = params[name]
        if value is None:
            checked[name] = None
            continue
        if value is True and prop.get("format") in PATH_FORMATS:
            # Nextflow turns a bare `--agreement` (or `--agreement ""`) into true
            problems.append(f"--{name}: needs a path, but was given without a value")
            continue
        value = _coerce(value, prop)
        checked[name] = value
        sub = {k: v for k, v in prop.items() if k not in ("description", "help_text", "fa_icon",
                                                           "hidden", "format", "default")}
        for error in Draft202012Validator(sub).iter_errors(value):
            problems.append(_describe(error, name, value))
    if problems:
        raise ParameterError(problems)
    for name, value in params.items():
        if name not in checked and name in known and name not in BUILTIN:
            checked[name] = value
    return checked


def _cli_spelling(name: str, params: Mapping[str, Any]) -> str:
    """The kebab-case form when Nextflow added both it and a camelCase twin."""
    kebab = _snake(name).replace("_", "-")
    return kebab if kebab in params else name


def write_params(params: Mapping[str, Any], out: str | Path) -> Path:
    """Write ``params.json`` atomically (indented JSON object)."""
    out = Path(out)
    write_json(out, dict(params), default=str)
    return out


def help_text(schema: Mapping[str, Any], *, command: str = "nextflow run pipeline/main.nf",
              show_hidden: bool = False) -> str:
    """The parameters grouped as in the schema, one line each, for ``--help``.

    Parameters
    ----------
    schema : mapping
    command : str
        How the pipeline is started (first line of the help).
    show_hidden : bool
        Include parameters marked ``hidden``.

    Returns
    -------
    str
    """
    lines = [str(schema.get("title") or "Pipeline parameters"), "",
             f"Usage: {command} -profile <profile> --input samplesheet.csv "
             "--refdb_sheet databases.csv --refdb NAME [options]", ""]
    for _, group in groups(schema):
        props = {k: v for k, v in (group.get("properties") or {}).items()
                 if show_hidden or not v.get("hidden")}
        if not props:
            continue
        lines.append(f"{group.get('title') or 'Parameters'}:")
        if group.get("description"):
            lines.append(f"  {group['description']}")
        width = max(len(k) for k in props) + 2
        required = set(group.get("required") or [])
        for name, prop in props.items():
            kind = prop.get("type", "")
            kind = "|".join(kind) if isinstance(kind, list) else kind
            extra = []
            if "enum" in prop:
                extra.append("choices: " + ", ".join(str(c) for c in prop["enum"]))
            if "minimum" in prop or "maximum" in prop:
                lo, hi = prop.get("minimum", ""), prop.get("maximum", "")
                extra.append(f"range: {lo}..{hi}")
            if "default" in prop and prop["default"] not in ("", None):
                extra.append(f"default: {prop['default']}")
            if name in required:
                extra.append("required")
            tail = f" [{'; '.join(extra)}]" if extra else ""
            lines.append(f"  --{name:<{width}}{kind:<8} {prop.get('description', '')}{tail}")
        lines.append("")
    lines.append("Nextflow's own options (-profile, -resume, -work-dir ...) take one dash.")
    return "\n".join(lines)
