"""A webhook endpoint: where a tenant wants its events pushed, which types, and in which state
(docs/webhooks.md). Pure rules: the URL a tenant may register (https, no credentials, never an
address of the internal network unless the operator allows its host), the event types it may
ask for, the limits of one registration."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable
from urllib.parse import urlsplit

from contract_events.catalogue import CATALOGUE
from contract_events.financing_catalogue import FINANCING_CATALOGUE

STATUSES = ("active", "paused", "failing")
# A tenant may set these; ``failing`` is the service's (retry window exhausted).
SETTABLE_STATUSES = ("active", "paused")
MAX_ENDPOINTS_PER_TENANT = 20
MAX_URL_LENGTH = 2048
MAX_EVENT_TYPES = 100
EVENT_TYPES: tuple[str, ...] = tuple(sorted({*CATALOGUE, *FINANCING_CATALOGUE}))
ALL = "*"


@dataclass(frozen=True)
class Endpoint:
    endpoint_id: str
    owner_role: str
    owner_org: str
    url: str
    description: str
    event_types: tuple[str, ...]
    status: str
    created_at: datetime
    updated_at: datetime
    failing_since: datetime | None
    version: int


def selection_problems(selection: Iterable[str]) -> list[dict]:
    """Why an event type selection is not valid: each item is a type of the catalogues, a family
    (``contract.*``, ``invoice.*``) or ``*`` for all."""
    problems = []
    for i, item in enumerate(selection):
        if item != ALL and not expand([item]):
            problems.append({"field": f"event_types.{i}", "code": "unknown_event_type",
                             "message": f"{item!r} is no event type (GET /v1/webhooks/event-types lists them)."})
    return problems


def expand(selection: Iterable[str]) -> tuple[str, ...]:
    """The event types a selection names (families and ``*`` expanded)."""
    chosen = set()
    for item in selection:
        if item == ALL:
            return EVENT_TYPES
        if item.endswith(".*"):
            chosen |= {t for t in EVENT_TYPES if t.startswith(item[:-1])}
        elif item in EVENT_TYPES:
            chosen.add(item)
    return tuple(sorted(chosen))


@dataclass(frozen=True)
class Target:
    """A URL split into what the rules look at."""
    scheme: str
    host: str
    port: int


def parse_target(url: str) -> tuple[Target | None, list[dict]]:
    """The URL's target, or the rules it breaks (``webhook_url_invalid``)."""
    def bad(message: str):
        return None, [{"field": "url", "code": "webhook_url_invalid", "message": message}]
    if len(url) > MAX_URL_LENGTH:
        return bad(f"At most {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return bad("Not a URL.")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return bad("An absolute https:// URL.")
    if parts.username or parts.password:
        return bad("No credentials in the URL (the signature authenticates the sender).")
    if parts.fragment:
        return bad("No fragment (#...) in the URL.")
    return Target(parts.scheme, parts.hostname.lower().rstrip("."), port or (443 if parts.scheme == "https" else 80)), []


def host_allowed(host: str, allowed_hosts: Iterable[str]) -> bool:
    return host in {h.strip().lower() for h in allowed_hosts if h.strip()}


def scheme_problems(target: Target, allowed_hosts: Iterable[str]) -> list[dict]:
    """https only, except for the hosts the operator allows (loopback for tests and the demo)."""
    if target.scheme == "https" or host_allowed(target.host, allowed_hosts):
        return []
    return [{"field": "url", "code": "webhook_url_not_https",
             "message": "Deliveries go to https:// URLs only (this host is not on the operator's list)."}]


def ip_literal(host: str) -> str | None:
    """The host when it is an IP address written out (``[::1]`` without its brackets)."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def internal(address: str) -> bool:
    """An address of the internal network: private, loopback, link-local, multicast, reserved,
    unspecified (IPv4-mapped IPv6 read as IPv4)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def address_problems(target: Target, addresses: Iterable[str], allowed_hosts: Iterable[str]) -> list[dict]:
    """The host's addresses: none internal unless the host is allowed; at least one."""
    addresses = list(addresses)
    if not addresses:
        return [{"field": "url", "code": "webhook_url_unresolvable", "message": f"{target.host} has no address."}]
    if host_allowed(target.host, allowed_hosts):
        return []
    inner = sorted({a for a in addresses if internal(a)})
    if inner:
        return [{"field": "url", "code": "webhook_url_internal",
                 "message": f"{target.host} resolves to an internal address ({', '.join(inner)}): refused."}]
    return []
