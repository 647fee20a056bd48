"""Demo data for ``make run``: one key per role, written to the data directory (once)."""
from __future__ import annotations

import os
from pathlib import Path

from shared.auth import create_key
from shared.db import make_engine
from shared.settings import REPO_ROOT, get_settings

DEMO_KEYS = [("cfa", "0751234J"), ("cfa", "0931234L"), ("opco", "ATLAS"), ("opco", "AKTO"), ("ops", "ops")]


async def load_demo() -> str:
    out = Path(os.environ.get("PARCOURS_DATA_DIR", REPO_ROOT / ".data")) / "demo-keys.txt"
    if out.exists():
        return f"demo keys already in {out}"
    engine = make_engine(get_settings(), pool_size=1)
    lines = []
    try:
        async with engine.begin() as conn:
            for role, org in DEMO_KEYS:
                _, raw = await create_key(conn, role, org, label="demo")
                lines.append(f"{role}\t{org}\t{raw}")
    finally:
        await engine.dispose()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    out.chmod(0o600)
    return f"demo keys written to {out}"
