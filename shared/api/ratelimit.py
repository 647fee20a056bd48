"""Per-key rate limits (token bucket, per service process): 429 with Retry-After past the burst."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_second: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = per_second, burst, clock
        self._buckets: dict[str, _Bucket] = {}

    def acquire(self, key: str) -> float:
        """0 when the request may go; otherwise the seconds to wait before retrying."""
        now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(float(self.burst), now)
        b.tokens = min(self.burst, b.tokens + (now - b.updated) * self.rate)
        b.updated = now
        if b.tokens >= 1:
            b.tokens -= 1
            return 0.0
        return (1 - b.tokens) / self.rate

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
