"""Deliveries over HTTP (httpx): one POST per attempt, no redirects followed, no proxy from the
environment, a timeout for the whole attempt, at most ``read_limit`` bytes of the answer read;
and the host's addresses resolved (the sending rules check them before each attempt)."""
from __future__ import annotations

import asyncio
import socket
import time

import httpx

from services.webhooks.application.sending import Response


async def resolve(host: str) -> list[str]:
    """The host's IPv4 and IPv6 addresses (empty when it has none)."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return sorted({info[4][0].split("%", 1)[0] for info in infos})


class HttpTransport:
    def __init__(self, timeout: float, read_limit: int, user_agent: str = "Parcours-Webhooks/1.0"):
        self.timeout, self.read_limit = timeout, read_limit
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                        timeout=httpx.Timeout(timeout),
                                        limits=httpx.Limits(max_connections=512, max_keepalive_connections=64),
                                        headers={"user-agent": user_agent})

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Response:
        started = time.perf_counter()

        def ms() -> int:
            return int((time.perf_counter() - started) * 1000)
        try:
            async with asyncio.timeout(self.timeout):
                async with self.client.stream("POST", url, content=body, headers=headers) as answer:
                    read = 0
                    async for chunk in answer.aiter_raw():
                        read += len(chunk)
                        if read >= self.read_limit:
                            break
        except (TimeoutError, httpx.TimeoutException):
            return Response(None, "timeout", ms(), error=f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Response(None, "network_error", ms(), error=f"{type(exc).__name__}: {exc}"[:500])
        ok = 200 <= answer.status_code < 300
        return Response(answer.status_code, "delivered" if ok else "http_error", ms(),
                        retry_after=answer.headers.get("retry-after"),
                        error=None if ok else f"HTTP {answer.status_code}")

    async def close(self) -> None:
        await self.client.aclose()
