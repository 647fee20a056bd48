"""Server-rendered pages: the dashboard (inline SVG charts, no build step), the login form and
the council minutes, printable."""
from __future__ import annotations

from decimal import Decimal
from html import escape

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e6ea;padding:.35rem;text-align:left}
.alert{background:#fde8e8;border-left:4px solid #c81e1e;padding:.5rem}.ok{color:#046c4e}.late{color:#c81e1e}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}svg text{font-size:11px}
@media print{.noprint{display:none}}"""


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=fr><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, Decimal]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    if not bars:
        return f"<figure id={chart_id}><figcaption>{escape(title)}</figcaption><p>No data yet.</p></figure>"
    top = max((v for _, v in bars), default=Decimal(1)) or Decimal(1)
    rows = []
    for i, (label, value) in enumerate(bars[:12]):
        width = int(Decimal(300) * value / top)
        y = i * 22
        rows.append(f"<text x=0 y={y + 14}>{escape(label[:28])}</text>"
                    f"<rect class=bar x=170 y={y + 3} width={max(width, 1)} height=14 fill=#3f83f8></rect>"
                    f"<text x={175 + width} y={y + 14}>{value}{unit}</text>")
    height = 22 * min(len(bars), 12) + 4
    return (f"<figure id={chart_id}><figcaption>{escape(title)}</figcaption>"
            f"<svg class=chart width=540 height={height} role=img aria-label='{escape(title)}'>{''.join(rows)}</svg></figure>")


def dashboard(board: dict) -> str:
    inc = board["incidents"]
    incidents = "".join(
        f"<tr class='{'' if i['signalled'] else 'alert'}'><td>{escape(i['occurred_on'])}</td><td>{escape(i['kind'])}</td>"
        f"<td>{escape(i['description'])}</td><td>{'signalled' if i['signalled'] else 'NOT SIGNALLED'}</td>"
        f"<td>{i['age_days']} d</td></tr>" for i in inc) or "<tr><td colspan=5>No incident.</td></tr>"
    complaints = "".join(f"<tr><td>{escape(c['subject'])}</td><td>{escape(c['status'])}</td><td>{c['age_days']} d</td></tr>"
                         for c in board["complaints"]["open"]) or "<tr><td colspan=3>No open complaint.</td></tr>"
    late = "".join(f"<tr class=late><td>{escape(m['title'])}</td><td>{escape(m['owner'])}</td><td>{escape(m['due_on'])}</td></tr>"
                   for m in board["measures"]["late"]) or "<tr><td colspan=3 class=ok>No late measure.</td></tr>"
    coverage = "".join(f"<tr><td>{escape(f['opco'])}</td><td>{escape(f['last_appraisal_on'] or '-')}</td>"
                       f"<td class={'ok' if f['covered'] else 'late'}>{'covered' if f['covered'] else 'GAP'}</td></tr>"
                       for f in board["appraisal_coverage"]["financers"]) or "<tr><td colspan=3>No financer.</td></tr>"
    ruptures = bar_chart("chart-ruptures", "Rupture rate by certification (%)",
                         [(r["certification"], (Decimal(r["rate"]) * 100).quantize(Decimal("0.1")))
                          for r in board["ruptures"]["certification"]], " %")
    cohorts = bar_chart("chart-cohorts", "Ruptures by cohort", [(r["cohort"], Decimal(r["ruptures"]))
                                                                 for r in board["ruptures"]["cohort"]])
    absent = bar_chart("chart-absences", "Absence hours by group",
                       [(g, Decimal(h)) for g, h in board["absenteeism"]["groups"].items()], " h")
    complaints_chart = bar_chart("chart-complaints", "Complaints by status",
                                 [(k, Decimal(v)) for k, v in sorted(board["complaints"]["by_status"].items())])
    council = board["next_council"]
    next_council = (f"{escape(council['planned_on'])}: {escape(council.get('title') or 'conseil de perfectionnement')}"
                    if council else "None planned.")
    suggestions = "".join(f"<li>{escape(s['about'])}: {escape(s['reason'])}</li>" for s in board["suggestions"]) \
        or "<li>None.</li>"
    body = f"""<h1>Tableau de bord qualité: CFA {escape(board['cfa'])}</h1><p>{escape(board['today'])}
    <form class=noprint method=post action=/logout style=display:inline><button>Log out</button></form></p>
    <h2>Incidents (violence, harassment)</h2>
    <table id=incidents><tr><th>Date</th><th>Kind</th><th>Description</th><th>Report</th><th>Age</th></tr>{incidents}</table>
    <h2>Complaints</h2><div class=grid>{complaints_chart}<table id=complaints><tr><th>Subject</th><th>Status</th><th>Age</th></tr>{complaints}</table></div>
    <h2>Late measures</h2><table id=late-measures><tr><th>Measure</th><th>Owner</th><th>Due</th></tr>{late}</table>
    <h2>Financer appraisal coverage (12 months)</h2><table id=coverage><tr><th>OPCO</th><th>Last appraisal</th><th></th></tr>{coverage}</table>
    <h2>Ruptures and absenteeism</h2><div class=grid>{ruptures}{cohorts}{absent}</div>
    <h2>Suggested measures</h2><ul id=suggestions>{suggestions}</ul>
    <h2>Next conseil de perfectionnement</h2><p id=next-council>{next_council}</p>"""
    return _page("Tableau de bord qualité", body)


def login(error: str | None = None) -> str:
    message = f"<p class=alert>{escape(error)}</p>" if error else ""
    return _page("Connexion", f"""<h1>Parcours: tableau de bord qualité</h1>{message}
    <form method=post action=/login><label>Clé API du CFA <input name=key type=password autocomplete=off required
    size=60></label> <button type=submit>Se connecter</button></form>""")


def minutes(council: dict, items: list[dict]) -> str:
    agenda = "".join(f"<li><strong>{escape(i['title'])}</strong><pre>{escape(_fmt(i['evidence']))}</pre></li>"
                     for i in items)
    held = next((h for h in council.get("history", []) if h["event"] == "council.held"), None)
    record = ("<p>Not held yet.</p>" if held is None else
              f"<p>Held on {escape(held['held_on'])}. Attendees: {escape(', '.join(held['attendees']))}.</p>"
              f"<h2>Decisions</h2><ol>{''.join(f'<li>{escape(d)}</li>' for d in held.get('decisions', []))}</ol>"
              f"<h2>Minutes</h2><p>{escape(held['minutes'])}</p>")
    return _page("Conseil de perfectionnement", f"""<h1>Conseil de perfectionnement (R6231-4)</h1>
    <p>CFA {escape(council.get('cfa', ''))}, period {escape(council['period_from'])} to {escape(council['period_to'])},
    planned on {escape(council['planned_on'])}.</p><h2>Agenda</h2><ol id=agenda>{agenda}</ol>{record}""")


def _fmt(evidence: dict) -> str:
    import json
    return json.dumps(evidence, ensure_ascii=False, indent=1) if evidence else "(to be presented)"
