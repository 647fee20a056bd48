"""The README's integrator example runs as written against the live stack (`make test`)."""
import asyncio
import os
import re
import subprocess
from pathlib import Path

from shared.auth import create_key
from shared.db import make_engine
from shared.settings import get_settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_integrator_example_runs_as_documented():
    text = README.read_text()
    script = re.search(r"<!-- integrator-example:start -->\s*```bash\n(.*?)```", text, re.S).group(1)

    async def key():
        engine = make_engine(get_settings(), pool_size=1)
        try:
            async with engine.begin() as conn:
                return (await create_key(conn, "cfa", "0751234J", label="readme"))[1]
        finally:
            await engine.dispose()
    env = {**os.environ, "KEY": asyncio.run(key()),
           "BASE": f"http://127.0.0.1:{os.environ.get('PARCOURS_CONTRACTS_PORT', '8001')}"}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "retry returned the first answer"
    assert lines[1] == "transmission: 200"
    assert '"type":"urn:parcours:problem:stale-version"' in lines[2] and '"current_version":2' in lines[2]
    assert '"code":"duration_too_short"' in lines[3] and '"article":"L6222-7-1"' in lines[3]
