"""Where a stage's CPU goes: the CPU time of each process group of the stack (the services, their
workers, PostgreSQL, Kafka, the load generator) read from /proc at the start and the end of a
window, per call and against the machine's capacity (CPUs x seconds).

A target out of reach on this machine is shown by this arithmetic: if the processes of the stack
spend C CPU-seconds on a call, N CPUs cannot serve more than N / C calls a second, however the
work is spread. Linux only (/proc); each process's times are in clock ticks (10 ms at 100 Hz),
a window of a few seconds and thousands of calls is far above that resolution.

PostgreSQL's backends come and go inside a window (a pool's overflow connections): one that ends
is waited for by the postmaster, whose cutime + cstime then holds all of its CPU, so the servers'
own times are counted with their ended children's and the difference of two samples holds each
backend's CPU in the window once. The server is shared (other databases: the stack's own
services, other test runs): its live backends serving another database are a group apart, left
out of the stack's total; the ones of them that end inside the window are in the postmaster's
cutime, not told apart (on a quiet machine, none)."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK")

# the groups in the order of the report
CONTRACTS, FINANCING, POSTGRES, KAFKA, BENCH = "contracts", "financing", "PostgreSQL", "Kafka", "load generator"
POLL = "visibility poll"   # the live stage's PostgreSQL backend polling financing's table: the benchmark's own
GROUPS = (CONTRACTS, FINANCING, POSTGRES, KAFKA, BENCH, POLL)
OTHER_DATABASES = "PostgreSQL, other databases"   # not the stack's work: out of the total


@dataclass(frozen=True)
class Stat:
    """One line of /proc/<pid>/stat: the times in clock ticks."""
    pid: int
    ppid: int
    comm: str
    own: int          # utime + stime: every thread of the process
    started: int = 0  # since boot, in ticks: a pid used again is another process
    reaped: int = 0   # cutime + cstime: its children that ended and were waited for


def parse_stat(line: str) -> Stat:
    """/proc/<pid>/stat; the command name is in brackets and may hold spaces and brackets itself,
    so the fields are counted from its last closing bracket (proc(5): ppid is field 4, utime 14,
    stime 15, cutime 16, cstime 17, starttime 22)."""
    head, _, tail = line.rpartition(")")
    pid, _, comm = head.partition(" (")
    f = tail.split()   # f[0] is field 3 (the state)
    return Stat(int(pid), int(f[1]), comm, int(f[11]) + int(f[12]), int(f[19]), int(f[13]) + int(f[14]))


def machine_busy(line: str) -> int:
    """The first line of /proc/stat (``cpu  user nice system idle iowait irq softirq steal ...``):
    the ticks every CPU spent on any process or interrupt (guest time is already in user)."""
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in line.split()[1:8])
    return user + nice + system + irq + softirq


def backend_database(title: str) -> str | None:
    """The database of a PostgreSQL backend from its process title (``postgres: user database
    host(port) state``); None for the server's own processes (``postgres: checkpointer``)."""
    words = title.split()
    if len(words) >= 4 and words[0] == "postgres:" and (words[3].endswith(")") or words[3] == "[local]"):
        return words[2]
    return None


def assign(stats: dict[int, Stat], roots: dict[int, str]) -> dict[int, str]:
    """Each process's group: that of its nearest ancestor (itself included) among ``roots``;
    processes under no root (the rest of the machine) are left out. The nearest root wins: the
    services are children of the load generator but are not its CPU."""
    out: dict[int, str] = {}
    for pid in stats:
        at, seen = pid, set()
        while at in stats and at not in roots and at not in seen:
            seen.add(at)
            at = stats[at].ppid
        if at in roots:
            out[pid] = roots[at]
    return out


def found_roots(stats: dict[int, Stat], title=lambda pid: "") -> dict[int, str]:
    """The stack's servers by their process: each postmaster (a ``postgres`` process whose parent
    is not one: its backends and workers are its children), the Kafka broker's JVM (``kafka.Kafka``
    on its command line)."""
    roots: dict[int, str] = {}
    for pid, s in stats.items():
        parent = stats.get(s.ppid)
        if s.comm == "postgres" and (parent is None or parent.comm != "postgres"):
            roots[pid] = POSTGRES
        elif s.comm == "java" and "kafka.Kafka" in title(pid).split():
            roots[pid] = KAFKA
    return roots


def groups_of(stats: dict[int, Stat], roots: dict[int, str], databases: set[str], title=lambda pid: "") \
        -> dict[int, str]:
    """``assign``, the PostgreSQL backends of databases not in ``databases`` apart."""
    groups = assign(stats, roots)
    return {pid: OTHER_DATABASES if g == POSTGRES and (db := backend_database(title(pid))) is not None
            and db not in databases else g for pid, g in groups.items()}


def _read_all() -> dict[int, Stat]:
    stats = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
            except (OSError, ValueError, IndexError):
                continue   # ended while the directory was listed
    return stats


def _title(pid: int) -> str:
    """The command line, or the title the process gave itself (PostgreSQL's backends)."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class Sample:
    at: float                                   # perf_counter
    # (pid, start) -> (group, ticks, heir: the group whose server's times take its ticks when it ends)
    processes: dict[tuple[int, int], tuple[str, int, str | None]]
    machine: int                                # busy ticks of the whole machine


@dataclass
class Usage:
    """The CPU spent between two samples."""
    seconds: float
    cpu: dict[str, float]     # CPU-seconds per group of the stack
    others: dict[str, float]  # CPU-seconds of groups that are not the stack's work (other databases)
    machine: float            # CPU-seconds of the whole machine (/proc/stat), the other processes included
    cpus: int

    @property
    def total(self) -> float:
        return sum(self.cpu.values())

    @property
    def utilisation(self) -> float:
        """The stack's processes' share of the machine's capacity in the window."""
        return self.total / (self.cpus * self.seconds) if self.seconds > 0 else 0.0

    @property
    def machine_utilisation(self) -> float:
        return self.machine / (self.cpus * self.seconds) if self.seconds > 0 else 0.0

    def per_call_ms(self, calls: int) -> dict[str, float]:
        return {g: 1000 * s / calls for g, s in self.cpu.items()}

    def ceiling(self, calls: int) -> float | None:
        """Calls a second the machine's CPUs could serve at this CPU per call, all of them busy."""
        return self.cpus * calls / self.total if self.total > 0 else None

    def summary(self, calls: int, per: str = "call") -> dict:
        """The JSON of a figure's ``cpu``; ``per``: what a call is (a record read, a row)."""
        return {"calls": calls, "per": per, "seconds": round(self.seconds, 3), "cpus": self.cpus,
                # to the nanosecond: a record read costs microseconds
                "ms_per_call": {g: round(v, 6) for g, v in self.per_call_ms(calls).items()},
                "total_ms_per_call": round(1000 * self.total / calls, 6),
                "ceiling_per_s": round(self.ceiling(calls) or 0, 1),
                "utilisation": round(self.utilisation, 3), "machine_utilisation": round(self.machine_utilisation, 3),
                "others_cpu_s": {g: round(v, 2) for g, v in self.others.items()}}


def between(before: Sample, after: Sample, cpus: int) -> Usage:
    """Each process's ticks since the first sample (all of them if it started after), summed per
    group; the groups in the report's order."""
    ticks: dict[str, int] = {}
    for key, (group, own, _) in after.processes.items():
        ticks[group] = ticks.get(group, 0) + own - before.processes.get(key, (group, 0, None))[1]
    for key, (group, own, heir) in before.processes.items():
        if key not in after.processes and heir:   # ended: all its ticks are in its server's now
            ticks[heir] = ticks.get(heir, 0) - own
    seconds = {g: max(0, t) / TICK for g, t in ticks.items()}
    stack = [g for g in GROUPS if g in seconds] + sorted(set(seconds) - set(GROUPS) - {OTHER_DATABASES})
    others = {g: seconds[g] for g in seconds if g == OTHER_DATABASES}
    return Usage(after.at - before.at, {g: seconds[g] for g in stack}, others,
                 max(0, after.machine - before.machine) / TICK, cpus)


@dataclass
class Meter:
    """Samples the stack's groups: ``processes`` names the processes started by the benchmark
    (group -> pids: the services and their workers), this process is the load generator, the
    servers are found by their process, PostgreSQL's backends count for ``databases`` only."""
    processes: dict[str, list[int]] = field(default_factory=dict)
    databases: set[str] = field(default_factory=set)
    cpus: int = field(default_factory=lambda: os.cpu_count() or 1)

    def sample(self) -> Sample:
        stats = _read_all()
        titles = {pid: _title(pid) for pid, s in stats.items() if s.comm in ("postgres", "java")}
        title = lambda pid: titles.get(pid, "")  # noqa: E731
        servers = found_roots(stats, title)   # their ended children in their own times (the backends)
        roots = servers | {os.getpid(): BENCH} | {pid: group for group, pids in self.processes.items() for pid in pids}
        processes = {}
        for pid, group in groups_of(stats, roots, self.databases, title).items():
            s = stats[pid]
            processes[pid, s.started] = (group, s.own + (s.reaped if pid in servers else 0), servers.get(s.ppid))
        machine = machine_busy((PROC / "stat").read_text().splitlines()[0])
        return Sample(time.perf_counter(), processes, machine)

    def between(self, before: Sample, after: Sample) -> Usage:
        return between(before, after, self.cpus)


def describe(summary: dict) -> str:
    """One line of a figure's ``cpu``: per call by group, the ceiling, the machine's load (while
    the calls were sent, when the summary has that window)."""
    per_ms = summary["total_ms_per_call"]
    scale, unit = (1000, "µs") if per_ms < 0.1 else (1, "ms")   # a record read: microseconds
    parts = ", ".join(f"{g} {scale * ms:.2f}" for g, ms in summary["ms_per_call"].items())
    load = summary.get("sending") or summary
    during = " while sending" if "sending" in summary else ""
    per = summary.get("per", "call")
    return (f"CPU {scale * per_ms:.2f} {unit} a {per} in all processes ({parts}) over {summary['calls']:,} {per}s; "
            f"{summary['cpus']} CPUs serve at most {summary['ceiling_per_s']:,.0f}/s; these processes used "
            f"{load['utilisation']:.0%} of the CPUs{during}, the whole machine {load['machine_utilisation']:.0%}"
            + "".join(f"; {g} {v:.1f} CPU-s, not counted" for g, v in summary.get("others_cpu_s", {}).items()
                      if round(v, 1)))
