"""Validate a params file against its JSON schema with messages that name file, key and allowed values."""

from __future__ import annotations

from pathlib import Path

import jsonschema

from ..errors import ConfigError


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "<top level>"


def _allowed(error: jsonschema.ValidationError) -> str:
    if error.validator == "enum":
        return ", ".join(repr(v) for v in error.validator_value)
    if error.validator == "additionalProperties":
        props = error.schema.get("properties", {})
        return ", ".join(sorted(props)) if props else "(none)"
    if error.validator in ("type", "minimum", "maximum", "exclusiveMinimum", "minItems", "maxItems", "pattern"):
        return f"{error.validator} {error.validator_value!r}"
    if error.validator == "required":
        return f"required keys: {', '.join(error.validator_value)}"
    return str(error.validator_value)


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        base = _key_path(error)
        keys = ", ".join(f"{base}.{k}" if base != "<top level>" else k for k in extra)
        return f"unknown key {keys}; allowed keys here: {_allowed(error)}"
    if error.validator in ("allOf", "anyOf", "oneOf") and error.context:
        return _describe(min(error.context, key=lambda e: len(list(e.absolute_path))))
    return f"{_key_path(error)}: {error.message} (allowed: {_allowed(error)})"


def validate(data: object, schema: dict, source: Path) -> None:
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [f"{source}: {_describe(e)}" for e in errors[:5]]
        more = f"\n... and {len(errors) - 5} more" if len(errors) > 5 else ""
        raise ConfigError("invalid params file\n  " + "\n  ".join(lines) + more + f"\nFix {source} and re-run.")
