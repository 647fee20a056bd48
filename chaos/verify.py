"""The operators' own checks, run as they would run them (`parcours ops ...`, see
docs/architecture.md "Rebuild, verify, swap" and "Hash chain") against the trial's stack:
each projection rebuilt from the store's feed and from Kafka and compared with the live one,
and every stream's hash chain recomputed."""
from __future__ import annotations

from dataclasses import dataclass

from chaos.processes import run
from shared.settings import REPO_ROOT

PARCOURS = REPO_ROOT / ".venv" / "bin" / "parcours"
RUNS = {f"verify {p} --source {s}": ["ops", "verify", p, "--source", s]
        for p in ("financing", "quality") for s in ("feed", "kafka")} | {"verify-chain": ["ops", "verify-chain"]}


@dataclass
class Verification:
    name: str
    passed: bool
    output: str


async def verify_all(env: dict[str, str], timeout: float = 300) -> list[Verification]:
    """One after the other (each rebuild holds a scratch schema of its own)."""
    done = []
    for name, args in RUNS.items():
        status, out = await run([str(PARCOURS), *args], env, REPO_ROOT, timeout)
        done.append(Verification(name, status == 0, out[-3000:]))
    return done
