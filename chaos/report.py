"""The trial's one table (rich): a row per kill with its recovery time, then the checks."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.table import Table

from chaos.trial import TrialResult

PASS, FAIL = "[green]ok[/green]", "[red]FAIL[/red]"


def table(result: TrialResult) -> Table:
    t = Table(title="Fault trial: kill -9 under load (make chaos)", title_justify="left")
    t.add_column("step")
    t.add_column("what")
    t.add_column("figure", justify="right")
    t.add_column("", justify="center")
    for n, k in enumerate(result.kills, 1):
        figure = f"{k.seconds:.1f} s to ready" if k.recovered else "not recovered"
        t.add_row(f"kill {n}", f"{k.component} (pid {k.pid})", f"{figure}, {k.acks_meanwhile} acks meanwhile",
                  PASS if k.recovered else FAIL)
    t.add_section()
    v = result.verdict
    if v is None:
        t.add_row("trial", "did not reach the checks", result.error[:120], FAIL)
        return t
    seconds = [k.seconds for k in result.kills if k.seconds is not None]
    if seconds:
        t.add_row("recovery", "min / max", f"{min(seconds):.1f} s / {max(seconds):.1f} s", "")
    t.add_row("load", "contracts started, commands acknowledged, calls retried",
              f"{result.started}, {v.acknowledged}, {result.retries}", "")
    t.add_row("load", "acknowledged by a replay (Idempotent-Replayed: the first answer was lost)",
              str(result.replays), "")
    t.add_row("log", "events stored, records on the topic", f"{v.stored}, {v.published}", "")
    settled = f"{result.settle_seconds:.1f} s" if result.settle_seconds is not None else "never"
    t.add_row("settle", "until every event is on the topic, in both projections and at the webhook receiver",
              settled, PASS if result.settle_seconds is not None else FAIL)
    w = v.webhooks
    t.add_row("webhooks", "events on the topics before the receiver's endpoint (not owed); after it "
              "(owed), delivered", f"{w.not_owed}; {w.owed}, {w.delivered}", "")
    t.add_row("webhooks", "requests received, of which duplicates (same webhook-id again: counted, not failed)",
              f"{w.requests}, {w.duplicates}", "")
    rows = [("lost", len(v.lost), True), ("doubled", len(v.doubled), True),
            ("republished copies (skipped by the consumers)", v.republished, False),
            ("reordered within a stream", len(v.reordered), True), ("DLQ records", v.dlq, True),
            ("refused (unexpected 4xx)", len(v.refused), True), ("gave up (deadline)", len(v.gave_up), True),
            ("webhooks missing (an event on the topic never received)", len(w.missing), True),
            ("webhook gaps (a sequence first received before or without the previous)", len(w.gaps), True)]
    for what, figure, judged in rows:
        t.add_row("check", what, str(figure), (FAIL if figure else PASS) if judged else "")
    for name, passed in v.verifications.items():
        t.add_row("check", f"parcours ops {name}", "passed" if passed else "failed", PASS if passed else FAIL)
    t.add_section()
    t.add_row("verdict", f"{len(result.kills)} kills in {result.seconds:.0f} s", "", PASS if result.ok else FAIL)
    return t


def details(result: TrialResult) -> list[str]:
    """What to read when it failed: the first offending items of each check."""
    out = [f"error: {result.error}"] if result.error else []
    v = result.verdict
    if v is not None:
        for label, items in (("lost", v.lost), ("doubled", v.doubled), ("reordered", v.reordered),
                             ("refused", v.refused), ("gave up", v.gave_up), ("webhooks", v.webhooks.missing),
                             ("webhooks", v.webhooks.gaps)):
            out += [f"{label}: {item}" for item in items[:10]]
    out += [f"{x.name}:\n{x.output}" for x in result.verifications if not x.passed]
    out += [f"kill of {k.component}: {k.note}" for k in result.kills if not k.recovered]
    if result.unsettled:
        out.append(f"not settled: {result.unsettled}")
    if result.logs:
        out.append(f"logs kept in {result.logs}")
    return out


def save(result: TrialResult, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figures = {k: v for k, v in asdict(result).items() if k not in ("acknowledged", "evidence")}
    path.write_text(json.dumps({**figures, "ok": result.ok}, indent=2, default=str))
