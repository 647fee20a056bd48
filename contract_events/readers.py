"""Readers' views of the published payloads: the same fields and constraints, only the fields a
reader needs required, unknown fields kept (a reader must accept fields added later). Derived
from the published models, so the shape is still written once."""
from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, create_model

from contract_events.catalogue import CATALOGUE


@lru_cache
def reader_model(event_type: str, required: frozenset[str] = frozenset()) -> type[BaseModel]:
    model = CATALOGUE[event_type][0]
    fields = {}
    for name, info in model.model_fields.items():
        constrained = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        fields[name] = (constrained, ...) if name in required else (Optional[constrained], None)
    return create_model(f"{model.__name__}Reader", __config__=ConfigDict(extra="allow", populate_by_name=True),
                        **fields)
