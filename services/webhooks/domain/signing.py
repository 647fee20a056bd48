"""Signing a delivery the Standard Webhooks way (https://www.standardwebhooks.com, "Signature
scheme"): HMAC-SHA256, keyed by the endpoint's secret, over ``<webhook-id>.<webhook-timestamp>.<body>``,
sent as ``v1,<base64 signature>``; during a rotation one signature per valid secret, separated
by spaces, so a receiver holding either secret verifies. Secrets are ``whsec_`` + base64 of 32
random bytes, the format the specification's libraries read. Pure."""
from __future__ import annotations

import base64
import hashlib
import hmac

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32   # 256-bit keys (the specification asks for 24 to 64 bytes)


def secret_text(key: bytes) -> str:
    """The secret as shown to the tenant (once) and read by the specification's libraries."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signature_header(keys: list[bytes], message_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: one ``v1,...`` per key, newest first."""
    return " ".join(signature(k, message_id, timestamp, body) for k in keys)


def delivery_headers(keys: list[bytes], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(keys, message_id, timestamp, body)}
