"""Processes of one trial stack: where their pids are written, whether a pid belongs to the
stack's data directory (its command line or its PARCOURS_DATA_DIR says so), SIGKILL, waiting
for a killed process to be gone, and running a command (stack.sh, the ops CLI) that is killed
with its whole session if the trial is interrupted. A pid that does not belong is never
signalled."""
from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

from shared.net import port_open


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""


def pid_of(data_dir: Path, component: str) -> int | None:
    """The pid stack.sh wrote for a service or Kafka, or the postmaster's for PostgreSQL."""
    path = data_dir / "pg" / "postmaster.pid" if component == "postgres" else data_dir / "run" / f"{component}.pid"
    first = _read(path).split(b"\n", 1)[0].strip()
    return int(first) if first.isdigit() else None


def postmaster_pid(data_dir: Path) -> int | None:
    pid = pid_of(data_dir, "postgres")
    return pid if pid is not None and belongs(pid, data_dir) else None


def belongs(pid: int, data_dir: Path) -> bool:
    """Whether the process runs for this data directory: named in its command line (PostgreSQL's
    -D, Kafka's server.properties) or in its environment (the services started by stack.sh)."""
    proc = Path(f"/proc/{pid}")
    marker = str(data_dir).encode()
    if marker in _read(proc / "cmdline"):
        return True
    return b"PARCOURS_DATA_DIR=" + marker in _read(proc / "environ").split(b"\0")


def alive(pid: int) -> bool:
    """Running and not a zombie (as stack.sh's alive())."""
    status = _read(Path(f"/proc/{pid}/status"))
    return bool(status) and b"\nState:\tZ" not in status


def exited(pid: int) -> bool:
    """Gone for good: a killed process's main thread turns zombie before its other threads (a
    JVM's) have exited and its sockets are closed; only then is it gone."""
    status = _read(Path(f"/proc/{pid}/status"))
    return not status or (b"\nState:\tZ" in status and b"\nThreads:\t1\n" in status)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _read(entry / "stat").rsplit(b")", 1)[-1].split()
            if len(stat) > 1 and stat[1] == str(pid).encode():
                found.append(int(entry.name))
    return found


def owned(data_dir: Path) -> list[int]:
    """Every live process of this data directory (this process and its parents excluded)."""
    mine = {os.getpid(), os.getppid()}
    return [int(p.name) for p in Path("/proc").iterdir()
            if p.name.isdigit() and int(p.name) not in mine and alive(int(p.name)) and belongs(int(p.name), data_dir)]


def kill9(pid: int, data_dir: Path) -> bool:
    """SIGKILL ``pid`` if it belongs to ``data_dir``; False if it does not (nothing is sent)."""
    if not belongs(pid, data_dir):
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


async def wait_gone(pids: list[int], deadline: float) -> bool:
    """Poll until every one of ``pids`` has exited, for at most ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while not all(exited(p) for p in pids):
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.05)
    return True


async def run(args: list[str], env: dict[str, str], cwd: Path, timeout: float) -> tuple[int, str]:
    """Run a command in a session of its own; returns (exit status, stdout + stderr). On a
    timeout (status -9) or a cancellation, SIGKILL its session: what it was starting goes too."""
    proc = await asyncio.create_subprocess_exec(*args, env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        return proc.returncode, out.decode(errors="replace")
    except asyncio.TimeoutError:
        _kill_session(proc.pid)
        await proc.wait()
        return -9, f"timed out after {timeout:.0f} s"
    except BaseException:
        _kill_session(proc.pid)
        await asyncio.shield(proc.wait())
        raise


def _kill_session(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def wait_closed(ports: list[int], deadline: float) -> bool:
    """Poll until nothing accepts on ``ports``, for at most ``deadline`` seconds."""
    end = time.monotonic() + deadline
    while any(port_open(p) for p in ports):
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.05)
    return True
