"""The quality service (Qualiopi 30-32 evidence). For now: health, auth and its event feed."""
from __future__ import annotations

from fastapi import FastAPI

from shared.api.app import build_app
from shared.api.feed import feed_router
from shared.eventstore.store import EventStore
from shared.settings import Settings, get_settings

SOURCE = "/parcours/quality"


def create_app(settings: Settings | None = None) -> FastAPI:
    return build_app("quality", settings or get_settings(), [feed_router(EventStore("quality"), SOURCE)],
                     description="Qualiopi indicators 30-32 evidence for CFAs.")
