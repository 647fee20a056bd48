"""When a failed delivery is tried again (docs/webhooks.md, "Retries"): exponential backoff with
jitter, ``Retry-After`` honoured, for at least ``RETRY_WINDOW``; past it the endpoint is marked
failing and its deliveries wait until the tenant resumes it. Pure: the random draw is passed in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

FIRST_DELAY = timedelta(seconds=5)
BACKOFF_FACTOR = 2
MAX_DELAY = timedelta(hours=1)
MAX_DOUBLINGS = 10      # 5 s x 2^10 is past MAX_DELAY already
JITTER = 0.2            # each delay drawn in [1 - JITTER, 1 + JITTER] x its nominal value
RETRY_WINDOW = timedelta(hours=24)   # the "at least 24 hours" of retries
MAX_RETRY_AFTER = timedelta(hours=6)  # a receiver's Retry-After is honoured up to this

# Answers worth trying again (the issue: timeouts, 5xx, 429); every other failure too, since a
# receiver mis-configured for a while (401, 404) must not lose events: what differs is only
# that Retry-After is read on 429 and 503.
READS_RETRY_AFTER = (429, 503)


def backoff(attempts: int, draw: float) -> timedelta:
    """The delay after the ``attempts``-th failed attempt (1 for the first); ``draw`` in [0, 1)."""
    doublings = min(max(attempts - 1, 0), MAX_DOUBLINGS)   # capped before it is computed (attempt 45+)
    nominal = min(FIRST_DELAY * BACKOFF_FACTOR ** doublings, MAX_DELAY)
    return nominal * (1 - JITTER + 2 * JITTER * draw)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A ``Retry-After`` header (seconds or an HTTP date) as a delay, capped; None if absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        if value.isdigit():
            delay = timedelta(seconds=min(int(value), int(MAX_RETRY_AFTER.total_seconds())))
        else:
            delay = parsedate_to_datetime(value) - now
    except (TypeError, ValueError, OverflowError):
        return None
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def next_attempt(now: datetime, attempts: int, draw: float, status: int | None,
                 retry_after_header: str | None) -> datetime:
    honoured = retry_after(retry_after_header, now.astimezone(timezone.utc)) if status in READS_RETRY_AFTER else None
    return now + (honoured if honoured is not None else backoff(attempts, draw))


def gives_up(first_failed_at: datetime, now: datetime) -> bool:
    """Past the retry window: the endpoint is marked failing."""
    return now - first_failed_at >= RETRY_WINDOW
