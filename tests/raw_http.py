"""HTTP/1.1 over a plain socket, for what a client library hides: chunked bodies that keep
coming, several requests on one kept-alive connection."""
from __future__ import annotations

import json
import select
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


def connect(base_url: str, timeout: float = 30.0) -> socket.socket:
    parts = urlsplit(base_url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    return sock


def read_answer(sock: socket.socket) -> Answer:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before an answer: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Answer(int(lines[0].split()[1]), headers, rest[:length])


def request(sock: socket.socket, method: str, target: str, headers: dict[str, str] | None = None,
            body: bytes = b"") -> Answer:
    head = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}",
            *(f"{k}: {v}" for k, v in (headers or {}).items())]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    return read_answer(sock)


def post_chunked(base_url: str, path: str, headers: dict[str, str], total: int,
                 chunk_size: int = 64 * 1024) -> tuple[Answer, int]:
    """POST ``total`` bytes in chunks, stopping as soon as the server answers or stops reading;
    returns the answer and how many body bytes were sent."""
    sock = connect(base_url, timeout=10.0)
    try:
        head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Transfer-Encoding: chunked",
                "Content-Type: application/json", *(f"{k}: {v}" for k, v in headers.items())]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        piece = b'{"x": "' + b"a" * (chunk_size - 7)
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        sent = 0
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError, TimeoutError, socket.timeout):
                break
            sent += len(piece)
        else:
            sock.sendall(b"0\r\n\r\n")
        return read_answer(sock), sent
    finally:
        sock.close()
