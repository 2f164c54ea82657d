"""Validation against `oras.schemas`, without paying for `jsonschema` when a document is valid.

oras-py validates every manifest it pushes (and descriptors it builds) with `jsonschema`, whose
import costs more start-up time than the rest of a push's own code (about 0.05-0.1 s). The
schemas in `oras.schemas` use a handful of draft-07 keywords; `quick_valid` checks those
exactly and answers True only when the document is valid. Anything else (an invalid document,
or a schema with a keyword it does not know) goes to `jsonschema`, which decides and raises
its own `ValidationError`, as oras-py did.
"""

from __future__ import annotations

from typing import Any

#: Keywords that say nothing about validity.
_ANNOTATIONS = frozenset({"$schema", "title", "description"})

#: draft-07 type names -> whether a Python value (as json.loads gives it) is of that type.
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}


def quick_valid(document: Any, schema: dict[str, Any]) -> bool:
    """True only if `document` is valid against `schema`; False means "ask jsonschema" (it is
    invalid, or the schema uses a keyword this check does not know)."""
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS:
            continue
        if keyword == "type":
            names = [value] if isinstance(value, str) else value
            if not any(name in _TYPES and _TYPES[name](document) for name in names):
                return False
        elif keyword == "required":
            if isinstance(document, dict) and not all(key in document for key in value):
                return False
        elif keyword == "properties":
            if isinstance(document, dict) and not all(
                quick_valid(document[key], sub) for key, sub in value.items() if key in document
            ):
                return False
        elif keyword == "items" and isinstance(value, dict):
            if isinstance(document, list) and not all(quick_valid(i, value) for i in document):
                return False
        elif keyword == "additionalProperties" and value is True:
            continue
        elif keyword == "const":
            # Equal and of the same type: 2 and 2.0 or True and 1 go to jsonschema to decide.
            if type(document) is not type(value) or document != value:
                return False
        else:
            return False
    return True


def validate(document: Any, schema: dict[str, Any]) -> None:
    """`jsonschema.validate(document, schema)`, imported only when the quick check cannot
    tell that the document is valid (so it raises jsonschema's errors, as oras-py did)."""
    if quick_valid(document, schema):
        return
    import jsonschema

    jsonschema.validate(document, schema=schema)
