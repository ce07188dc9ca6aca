"""Arrow schemas derived from the pydantic row models, so Parquet never drifts from the types.

One definition per row type lives in pydantic; `arrow_schema(Model)` turns it into a
`pyarrow.Schema` by mapping each field's annotation. Only the types the rows use are supported;
anything else raises with the field name so a new field cannot silently become a string column.
"""

from __future__ import annotations

import types
import typing
from enum import Enum
from typing import Any, Literal, get_args, get_origin

import pyarrow as pa
from pydantic import BaseModel

_SCALARS: dict[Any, pa.DataType] = {
    int: pa.int64(),
    float: pa.float64(),
    str: pa.string(),
    bool: pa.bool_(),
    bytes: pa.binary(),
}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def arrow_type(annotation: Any, where: str) -> tuple[pa.DataType, bool]:
    """Arrow type and nullability for one pydantic annotation."""
    inner, nullable = _unwrap_optional(annotation)
    if inner in _SCALARS:
        return _SCALARS[inner], nullable
    origin = get_origin(inner)
    if origin is Literal:
        values = get_args(inner)
        if all(isinstance(v, str) for v in values):
            return pa.string(), nullable
        if all(isinstance(v, int) for v in values):
            return pa.int64(), nullable
    if isinstance(inner, type) and issubclass(inner, Enum):
        return pa.string(), nullable
    if origin in (list, tuple, typing.Sequence):
        (item,) = get_args(inner)[:1]
        item_type, _ = arrow_type(item, where)
        return pa.list_(item_type), nullable
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return pa.struct(arrow_schema(inner)), nullable
    raise TypeError(f"no Arrow type for field {where!r} annotated {annotation!r}")


def arrow_schema(model: type[BaseModel]) -> pa.Schema:
    """The Arrow schema of a pydantic row model, field order preserved."""
    fields = []
    for name, info in model.model_fields.items():
        data_type, nullable = arrow_type(info.annotation, f"{model.__name__}.{name}")
        fields.append(pa.field(name, data_type, nullable=nullable))
    return pa.schema(fields)
