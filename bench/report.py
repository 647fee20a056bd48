"""One table: each figure beside the peer's and the machine's ceiling, with the target."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.cpu_accounting import describe


@dataclass
class Figure:
    stage: str
    unit: str
    parcours: float
    peer: float | None = None
    ceiling: float | None = None
    ceiling_by: str = ""
    target: str = ""
    met: bool | None = None
    higher_is_better: bool = True
    detail: str = ""
    latency_ms: dict[str, float] | None = None  # per-call percentiles of a throughput row (in the JSON)
    cpu: dict | None = None  # where the CPU went, per call and by process group (bench/cpu_accounting.py)

    @property
    def ratio(self) -> float | None:
        if not self.peer or not self.parcours:
            return None
        return self.parcours / self.peer if self.higher_is_better else self.peer / self.parcours


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def render(figures: list[Figure], title: str, console: Console | None = None) -> None:
    table = Table(title=title, show_lines=False)
    for col, justify in (("stage", "left"), ("unit", "left"), ("Parcours", "right"), ("peer", "right"),
                         ("Parcours/peer", "right"), ("ceiling", "right"), ("ceiling by", "left"),
                         ("target", "left"), ("met", "center")):
        table.add_column(col, justify=justify)
    for f in figures:
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "-"
        met = {True: "yes", False: "no", None: ""}[f.met]
        table.add_row(f.stage + (f" ({f.detail})" if f.detail else ""), f.unit, _num(f.parcours), _num(f.peer),
                      ratio, _num(f.ceiling), f.ceiling_by, f.target, met)
    console = console or Console(width=200)
    console.print(table)
    for line in cpu_lines(figures):
        console.print(line, highlight=False, soft_wrap=True)


def cpu_lines(figures: list[Figure]) -> list[str]:
    """Under the table: where the CPU of each metered stage went."""
    return [f"{f.stage}: {describe(f.cpu)}" for f in figures if f.cpu]


def save(figures: list[Figure], path: Path, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"meta": meta, "figures": [asdict(f) | {"ratio": f.ratio} for f in figures]},
                               indent=2))
