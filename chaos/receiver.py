"""The trial's webhook receiver (issue 17): uvicorn and starlette on a free loopback port, in the
trial's own process, answering every POST 200 and keeping, in arrival order, its ``webhook-id``
and the CloudEvent's source, subject, partitionkey and sequence (chaos/checks.py judges them
against the topics). It checks no signature: what is judged is that each event arrives, not
how it is signed (the service's own tests do that). Its endpoint is registered with the stack's
ops key for every event type (``register``)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from chaos.checks import Arrival
from shared.net import free_port

PATH = "/hooks"


class _Server(uvicorn.Server):
    """A uvicorn server that leaves the process's signals alone: the trial's own handlers (Ctrl-C,
    SIGTERM: stop the stack) must keep working while the receiver listens."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


class LoopbackServer:
    """An ASGI app served by uvicorn in this process on a free loopback port (the trial's receiver
    and the tests' scripted receivers, tests/webhook_receiver.py)."""

    def __init__(self, app):
        self.app, self.port = app, 0
        self._server: _Server | None = None
        self._task: asyncio.Task | None = None

    async def start(self, deadline: float = 30.0) -> int:
        """Listens; returns the port."""
        self.port = free_port()
        self._server = _Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_config=None,
                                              log_level="warning", access_log=False, lifespan="off"))
        self._task = asyncio.create_task(self._server.serve())
        end = time.monotonic() + deadline
        while not self._server.started:
            if self._task.done():
                self._task.result()   # it could not listen: raise why
                raise RuntimeError("the server stopped before it listened")
            if time.monotonic() > end:
                raise TimeoutError(f"the server did not listen within {deadline} s")
            await asyncio.sleep(0.05)
        return self.port

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self._task), 10)
        except Exception:   # not gone in 10 s (a request hanging): go anyway
            self._server.force_exit = True
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class Receiver:
    def __init__(self):
        self.arrivals: list[Arrival] = []
        self.ids: set[str] = set()     # the webhook ids received, for the settling's checks
        self.url = ""
        self._server = LoopbackServer(Starlette(routes=[Route(PATH, self.handle, methods=["POST"])]))

    async def handle(self, request: Request) -> Response:
        webhook_id = request.headers.get("webhook-id", "")
        try:
            ce = json.loads(await request.body())
        except ValueError:
            ce = {}
        ce = ce if isinstance(ce, dict) else {}
        seq = ce.get("sequence")
        self.arrivals.append(Arrival(webhook_id, str(ce.get("source", "")), str(ce.get("subject", "")),
                                     str(ce.get("partitionkey", "")),
                                     int(seq) if isinstance(seq, (int, str)) and str(seq).isdigit() else None))
        self.ids.add(webhook_id)
        return Response(status_code=200)

    async def start(self, deadline: float = 30.0) -> "Receiver":
        self.url = f"http://127.0.0.1:{await self._server.start(deadline)}{PATH}"
        return self

    async def stop(self) -> None:
        await self._server.stop()


async def register(webhooks_url: str, ops_key: str, url: str, deadline: float = 60.0) -> dict:
    """Register ``url`` for every event type (``*``) with the ops key (an ops key's endpoint
    receives every event); retried on a connection error or a 5xx until ``deadline``. Returns the
    endpoint as the service answered it (201)."""
    body = {"url": url, "event_types": ["*"], "description": "fault trial receiver (chaos/receiver.py)"}
    headers = {"Authorization": f"Bearer {ops_key}", "Idempotency-Key": f"chaos-receiver-{secrets.token_hex(6)}"}
    end = time.monotonic() + deadline
    async with httpx.AsyncClient(timeout=10) as client:
        while True:
            problem = ""
            try:
                r = await client.post(f"{webhooks_url}/v1/webhooks", json=body, headers=headers)
                if r.status_code == 201:
                    return r.json()
                problem = f"{r.status_code} {r.text[:500]}"
                if r.status_code < 500 and r.status_code != 429:
                    raise RuntimeError(f"the webhooks service refused the trial's endpoint: {problem}")
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > end:
                raise RuntimeError(f"could not register the trial's webhook endpoint in {deadline} s: {problem}")
            await asyncio.sleep(0.5)
