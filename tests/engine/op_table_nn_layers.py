"""The nn layer entries (conv, norms, fold) of the op table (see op_table.py)."""

from __future__ import annotations

from op_case import OpCase

OPS: list[OpCase] = []
