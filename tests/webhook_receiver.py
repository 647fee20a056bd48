"""A real HTTP receiver of webhooks for the tests, served on a free loopback port (chaos/receiver.py's
LoopbackServer), answering each POST with the next scripted answer (a status, or ``"hang"``: no answer until the test ends), and
keeping every request it got (headers and body bytes)."""
from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chaos.receiver import LoopbackServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    script: list = field(default_factory=list)     # answers for the next requests, then 200
    requests: list[Received] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def delivered(self) -> list[Received]:
        """The requests answered 200, in arrival order."""
        return [r for r, answer in zip(self.requests, self._answers) if answer == 200]

    def __post_init__(self):
        self._answers: list = []

    async def handle(self, request: Request) -> Response:
        received = Received({k.lower(): v for k, v in request.headers.items()}, await request.body())
        answer = self.script.pop(0) if self.script else 200
        self.requests.append(received)
        self._answers.append(answer)
        if answer == "hang":
            await self.release.wait()
            return Response(status_code=200)
        if isinstance(answer, tuple):
            status, headers = answer
            return Response(status_code=status, headers=headers)
        return Response(status_code=answer)


@asynccontextmanager
async def receiving(*script):
    """A receiver on a free port; its ``url`` is ``http://127.0.0.1:<port>/hooks``."""
    receiver = Receiver(script=list(script))
    server = LoopbackServer(Starlette(routes=[Route("/hooks", receiver.handle, methods=["POST"])]))
    receiver.url = f"http://127.0.0.1:{await server.start()}/hooks"
    try:
        yield receiver
    finally:
        receiver.release.set()
        await server.stop()
