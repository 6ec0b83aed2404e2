"""JSON answers serialised in the endpoint's own thread."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from fastapi import Response
from pydantic import BaseModel, TypeAdapter

# A hot read route returns its answer already rendered: FastAPI would otherwise validate the
# returned models again on one more hop to the thread pool and then serialise them on the event
# loop, where a 50-match page (20 % of the loop's time, issue 14) holds up every other request.
# The route keeps its `response_model`, so the schema is unchanged; the bytes are the same as
# FastAPI's (pydantic's JSON serialiser, by alias).


@cache
def _list_adapter(model: type[BaseModel]) -> TypeAdapter[list[Any]]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


def json_response(value: BaseModel, status_code: int = 200) -> Response:
    """An answer (200 unless told) with `value` as JSON."""
    return Response(
        value.__pydantic_serializer__.to_json(value, by_alias=True),
        status_code=status_code,
        media_type="application/json",
    )


def json_list_response(model: type[BaseModel], values: Sequence[BaseModel]) -> Response:
    """A 200 answer with a JSON array of `model` instances."""
    return Response(
        _list_adapter(model).dump_json(list(values), by_alias=True),
        media_type="application/json",
    )
