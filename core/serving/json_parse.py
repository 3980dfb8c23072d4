"""The JSON request document, as TF Serving reads it (tensorflow_serving/util/json_tensor.cc):
rapidjson's parse and error texts, the request's `signature_name`, and the small checks every
body's rules share (json_tensor.py for :predict, json_examples.py for :classify / :regress).

- `parse_json(body)`: rapidjson's parse with kParseNanAndInfFlag and kParseStopWhenDoneFlag
  (NaN/Infinity tokens accepted, trailing bytes after the document ignored), and its refusal of
  numbers a double cannot hold (`1e400`: "Number too big to be stored in double").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any


class RequestError(ValueError):
    """A refused request: the HTTP status and the message for `{"error": ...}`."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


# -- parsing -----------------------------------------------------------------------------------
_RAPIDJSON_WORDS = [  # Python's json message -> rapidjson's GetParseError_En text
    ("Expecting value", "Invalid value."),
    ("Expecting property name", "Missing a name for object member."),
    ("Expecting ':' delimiter", "Missing a colon after a name of object member."),
    ("Unterminated string", "Missing a closing quotation mark in string."),
    ("Invalid control character", "Invalid encoding in string."),
    ("Invalid \\escape", "Invalid escape character in string."),
]
_MAY_OVERFLOW = re.compile(rb"[0-9.][eE][+-]?[0-9]{3,}|[0-9]{300,}")


class _TooBig(ValueError):
    pass


def _float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _TooBig(text)
    return value


def _int(text: str) -> int | float:
    value = int(text)
    if -(2**63) <= value < 2**64:
        return value
    return _float(text)  # rapidjson keeps a larger integer as a double


def parse_json(body: bytes) -> dict[str, Any]:
    """The request document, or TF Serving's `JSON Parse error: ...`."""
    if not body.strip():
        raise RequestError("JSON Parse error: The document is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            f"JSON Parse error: Invalid encoding in string. at offset: {exc.start}"
        ) from None
    decoder = (
        json.JSONDecoder(parse_float=_float, parse_int=_int)
        if _MAY_OVERFLOW.search(body)
        else json.JSONDecoder()
    )
    start = len(text) - len(text.lstrip())
    try:
        doc, _ = decoder.raw_decode(text, start)  # stop when done
    except _TooBig as exc:
        offset = text.find(str(exc))
        raise RequestError(
            f"JSON Parse error: Number too big to be stored in double. at offset: {offset}"
        ) from None
    except RecursionError:  # rapidjson parses iteratively; Python's parser has a depth limit
        raise RequestError("JSON Parse error: the document is nested too deeply") from None
    except json.JSONDecodeError as exc:
        words = next((r for p, r in _RAPIDJSON_WORDS if exc.msg.startswith(p)), exc.msg)
        raise RequestError(f"JSON Parse error: {words} at offset: {exc.pos}") from None
    if not isinstance(doc, dict):
        raise RequestError(f"JSON Value: {debug(doc)} Is not object")
    return doc


def debug(value: Any) -> str:
    """JsonValueToDebugString: the value, cut at 256 characters."""
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)[:256]


def json_type(value: Any) -> str:
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def is_b64(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def signature_name(doc: dict[str, Any]) -> str:
    """The request's `signature_name` ("" when absent), which must be a string."""
    name = doc.get("signature_name", "")
    if not isinstance(name, str):
        raise RequestError(
            f"JSON Value: {debug(doc)} not formatted correctly. 'signature_name' key must be "
            "a string value."
        )
    return name


def b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise RequestError("Unable to base64 decode") from None


def listed(doc: dict[str, Any], key: str, not_a_list: str, empty: str) -> list:
    """`doc[key]` (present), which must be a non-empty list; TF Serving's texts otherwise."""
    value = doc[key]
    if not isinstance(value, list):
        raise RequestError(f"JSON Value: {debug(doc)} {not_a_list}")
    if not value:
        raise RequestError(f"JSON Value: {debug(doc)} {empty}")
    return value
