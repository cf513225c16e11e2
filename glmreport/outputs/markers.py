"""Markers that refine plain types in the results contract (read by ``codec`` and ``schema``).

- :data:`RelPath`: a path relative to the results folder; the reader resolves it inside the
  folder (never outside, never through a link leading out).
- :data:`JSONValue`: any JSON value (method-specific parameters and numbers, user columns).
- field metadata :data:`FLATTEN` (the object's keys beyond its other fields are gathered in
  this mapping) and :data:`OMIT_DEFAULT` (the key may be absent, and is written only when it
  differs from its default).
"""

from __future__ import annotations

from typing import Annotated

RELPATH = "relative path inside the results folder"
JSON = "any JSON value"
#: A path relative to the results folder (POSIX separators).
RelPath = Annotated[str, RELPATH]
#: Any JSON value: null, true/false, a number, a string, a list or an object.
JSONValue = Annotated[object, JSON]
FLATTEN = "flatten"
OMIT_DEFAULT = "omit_default"
