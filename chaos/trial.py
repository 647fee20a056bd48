"""The fault trial itself (docs/fault_trial.md): start a stack of its own and a webhook receiver
whose endpoint gets every event, run the load, kill -9 each component in turn (contracts,
financing, quality, webhooks, a financing projection worker, Kafka, PostgreSQL, and again), restart it with deploy/stack.sh,
time its recovery; then let everything settle (on the topic, in the projections, at the
receiver), run the operators' verifications and judge (chaos/checks.py). The stack is stopped,
the receiver closed and the data removed at the end, whatever happened."""
from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from chaos import evidence, processes
from chaos.checks import Evidence, Verdict, judge
from chaos.load import Acknowledged, Load, LoadFigures
from chaos.own_stack import COMPONENTS, PROJECTION_WORKER, SERVICES, OwnStack, StackError
from chaos.receiver import Receiver, register
from chaos.verify import Verification, verify_all

RESTART = {"contracts": "services", "financing": "services", "quality": "services", "webhooks": "services",
           PROJECTION_WORKER: "services", "kafka": "start_kafka", "postgres": "start_postgres"}


@dataclass
class Kill:
    component: str
    pid: int
    recovered: bool
    seconds: float | None        # from the SIGKILL to the component answering again
    acks_meanwhile: int          # commands acknowledged between the kill and the recovery
    note: str = ""


@dataclass
class TrialResult:
    kills: list[Kill]
    verdict: Verdict | None
    started: int                 # contracts the load started
    retries: int                 # calls the load sent again
    replays: int = 0             # acknowledgements that were replays (the first answer was lost)
    verifications: list[Verification] = field(default_factory=list)
    seconds: float = 0.0
    error: str = ""
    logs: str = ""               # where the logs were kept, when kept
    data_dir: str = ""           # the trial's own data directory (removed at the end unless kept)
    unsettled: str = ""          # what was still missing downstream when the trial judged
    settle_seconds: float | None = None   # from the end of the load to everything on the topic, projected, delivered
    webhook_endpoint: str = ""   # the endpoint registered for the trial's receiver
    acknowledged: list[Acknowledged] = field(default_factory=list, repr=False)
    evidence: Evidence | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.error and self.verdict is not None and self.verdict.ok and \
            bool(self.kills) and all(k.recovered for k in self.kills)


async def poll(check: Callable, deadline: float, interval: float = 0.2):
    """Re-evaluate ``check`` (async) until it returns something truthy or ``deadline`` seconds pass."""
    end = time.monotonic() + deadline
    while True:
        result = await check()
        if result or time.monotonic() > end:
            return result
        await asyncio.sleep(interval)


async def recovered(stack: OwnStack, component: str) -> bool:
    if component in SERVICES:
        return await stack.ready(component)
    if component == PROJECTION_WORKER:   # no HTTP: its process again, which rejoins the group
        pid = processes.pid_of(stack.data_dir, component)
        return pid is not None and processes.alive(pid) and processes.belongs(pid, stack.data_dir)
    if component == "kafka" and not await stack.broker_answers():
        return False
    return all([await stack.ready(s) for s in SERVICES])


async def kill_and_restart(stack: OwnStack, component: str, figures: LoadFigures, *, down: float,
                           deadline: float) -> Kill:
    pid = processes.pid_of(stack.data_dir, component)
    if pid is None or not processes.alive(pid) or not processes.belongs(pid, stack.data_dir):
        raise StackError(f"no live {component} process of this trial to kill (pid {pid})")
    backends = processes.children(pid) if component == "postgres" else []
    acks = len(figures.ack_times)
    began = time.monotonic()
    processes.kill9(pid, stack.data_dir)
    notes = []
    if not await processes.wait_gone([pid], 30):
        notes.append("still alive 30 s after SIGKILL")
    if not await processes.wait_closed(stack.listens(component), 30):   # else stack.sh thinks it runs
        notes.append("its port still open 30 s after SIGKILL")
    if down:
        await asyncio.sleep(down)   # the outage the load runs into (a tool's pause, not a synchronisation)
    await processes.wait_gone(backends, 30)   # PostgreSQL's backends leave once they see the postmaster gone
    end = began + deadline
    while True:
        try:
            await stack.stack(RESTART[component], timeout=max(5.0, end - time.monotonic()))
            await stack.stack("services", timeout=max(5.0, end - time.monotonic()))
            break
        except Exception as exc:   # e.g. the old cluster's shared memory still held: try again
            notes.append(str(exc).splitlines()[0][:200])
            if time.monotonic() > end:
                break
            await asyncio.sleep(0.5)
    ok = await poll(lambda: recovered(stack, component), max(1.0, end - time.monotonic()))
    took = time.monotonic() - began
    return Kill(component, pid, bool(ok), round(took, 2) if ok else None, len(figures.ack_times) - acks,
                "; ".join(notes[-2:]))


async def run_trial(kills: int = 12, *, rate: float = 6.0, contracts: int = 10_000, down: float = 1.0,
                    between: int = 10, recovery_deadline: float = 120.0, settle_deadline: float = 180.0,
                    keep: bool = False, logs_into: Path | None = None,
                    note: Callable[[str], None] = lambda m: None) -> TrialResult:
    """Run the trial; ``between`` commands must be acknowledged after each recovery (and before
    the first kill) before the next kill. ``logs_into``: where to copy the logs if it fails."""
    began = time.monotonic()
    stack = OwnStack.fresh()
    stop = asyncio.Event()
    load_task: asyncio.Task | None = None
    receiver = Receiver()
    result = TrialResult([], None, 0, 0, data_dir=str(stack.data_dir))
    try:
        note(f"starting a stack of its own in {stack.data_dir}")
        await stack.up()
        await receiver.start()
        endpoint = await register(stack.url("webhooks"), stack.keys["ops"], receiver.url)
        result.webhook_endpoint = endpoint["endpoint_id"]
        # what was on the topics before the endpoint existed may have been fanned out without it
        # (the demo contracts stack.sh loads): not owed to the receiver, every later event is
        not_owed = await evidence.webhook_topic_ids(stack.settings())
        note(f"webhook receiver on {receiver.url}, endpoint {result.webhook_endpoint} "
             f"({len(not_owed)} events already on the topics, not owed)")
        load = Load({s: stack.url(s) for s in SERVICES}, stack.keys, secrets.token_hex(3), rate=rate,
                    contracts=contracts)
        load_task = asyncio.create_task(load.run(stop))
        mark = time.monotonic()
        for n in range(kills):
            await progress(load, load_task, mark, between)
            component = COMPONENTS[n % len(COMPONENTS)]
            kill = await kill_and_restart(stack, component, load.figures, down=down, deadline=recovery_deadline)
            result.kills.append(kill)
            note(f"kill {n + 1}/{kills}: {component} (pid {kill.pid}) "
                 + (f"ready again after {kill.seconds} s" if kill.recovered else f"NOT recovered: {kill.note}"))
            if not kill.recovered:
                break
            mark = time.monotonic()
        await progress(load, load_task, mark, between)
        stop.set()
        figures = await load_task
        result.started, result.retries = figures.started, figures.retries
        result.replays = sum(a.replayed for a in figures.acknowledged)
        note(f"load over: {figures.started} contracts, {len(figures.acknowledged)} commands acknowledged; settling")
        settling = time.monotonic()
        if await poll(lambda: _settled(stack, result, receiver, not_owed), settle_deadline, 0.5):
            result.settle_seconds = round(time.monotonic() - settling, 2)
        else:
            note(f"not settled after {settle_deadline} s: {result.unsettled}")
        note("running parcours ops verify (each projection, from the feed and from Kafka) and verify-chain")
        result.verifications = await verify_all(stack.env)
        found = await evidence.gather(stack.settings(), {v.name: v.passed for v in result.verifications},
                                      list(receiver.arrivals), not_owed)
        result.acknowledged, result.evidence = figures.acknowledged, found
        result.verdict = judge(figures.acknowledged, found, figures.refused, figures.gave_up)
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        stop.set()
        if load_task is not None and not load_task.done():
            load_task.cancel()
            await asyncio.gather(load_task, return_exceptions=True)
        await stack.down()
        await receiver.stop()
        if logs_into is not None and not result.ok:
            stack.keep_logs(logs_into)
            result.logs = str(logs_into)
        if keep:
            result.logs = str(stack.data_dir / "log")
        else:
            stack.remove()
        result.seconds = round(time.monotonic() - began, 1)
    return result


async def progress(load: Load, task: asyncio.Task, since: float, count: int, deadline: float = 120.0) -> None:
    """Wait until ``count`` commands were acknowledged since ``since`` (the load goes on)."""
    async def enough():
        if task.done():
            task.result()   # the load failed: raise its error
            raise StackError("the load stopped before the trial ended")
        return load.figures.acks_since(since) >= count
    if not await poll(enough, deadline):
        raise StackError(f"fewer than {count} commands acknowledged in {deadline} s")


async def _settled(stack: OwnStack, result: TrialResult, receiver: Receiver, not_owed: frozenset[str]) -> bool:
    try:
        ok, result.unsettled = await evidence.settled(stack.settings(), receiver.ids, not_owed)
    except Exception as exc:   # a component still catching up: look again
        ok, result.unsettled = False, f"{type(exc).__name__}: {exc}"
    return ok
