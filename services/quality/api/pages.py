"""Server-rendered pages, in French throughout (a French CFA's pages, shown to its auditor too):
the dashboard (inline SVG charts, no build step), the login form and the council minutes,
printable. The API's JSON keeps its English values; only what people read is translated here."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Any, Iterable

from services.quality.domain.analytics import Suggestion
from shared.clock import PARIS

STYLE = """body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1100px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ccd}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e6ea;padding:.35rem;text-align:left}
.alert{background:#fde8e8;border-left:4px solid #c81e1e;padding:.5rem}.ok{color:#046c4e}.late{color:#c81e1e}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}svg text{font-size:11px}.prose{white-space:pre-wrap}
@media print{.noprint{display:none}}"""

# The French labels of the values people see (the JSON keeps the values themselves).
LABELS: dict[str, dict[str, str]] = {
    "incident_kind": {"violence": "violences", "harassment": "harcèlement"},
    "complaint_status": {"received": "reçue", "acknowledged": "réception accusée", "answered": "réponse apportée",
                         "closed": "clôturée"},
    "rupture_reason": {
        "free_rupture_45_days": "rupture libre dans les 45 premiers jours",
        "mutual_agreement": "rupture d'un commun accord",
        "apprentice_resignation": "démission de l'apprenti",
        "employer_dismissal_serious_misconduct": "licenciement pour faute grave",
        "employer_dismissal_force_majeure": "licenciement pour force majeure",
        "employer_dismissal_unfitness": "licenciement pour inaptitude",
        "master_death_sole_trader": "décès de l'employeur maître d'apprentissage (entreprise unipersonnelle)",
        "liquidation": "liquidation judiciaire",
        "cfa_exclusion": "exclusion définitive du CFA",
        "diploma_obtained": "obtention du diplôme",
        "administrative_decision": "décision administrative",
        "unknown": "motif non renseigné"},
    # the analyses' own placeholders for a missing key
    "certification": {"unknown": "certification non renseignée"},
    "employer": {"unknown": "employeur non renseigné"},
    "group": {"none": "sans groupe"},
    "webhook_status": {"active": "actif", "paused": "en pause", "failing": "EN ÉCHEC (envois suspendus)"},
    "webhook_outcome": {"delivered": "reçu", "http_error": "refusé (erreur HTTP)", "timeout": "sans réponse",
                        "network_error": "injoignable", "refused_address": "adresse refusée"},
    "suggestion_subject": {"certification": "certification", "employer": "employeur", "apprentice": "apprenti"},
}

# The evidence the council agenda brings to each R6231-4 item (services/quality/domain/council.py).
EVIDENCE = {
    "appraisals": "Appréciations recueillies",
    "measures_open": "Mesures d'amélioration en cours",
    "incidents": "Incidents (violences, harcèlement)",
    "complaints": "Réclamations par statut",
    "absenteeism_over_threshold": "Apprentis au-delà du seuil d'absentéisme",
    "hazards": "Aléas et difficultés",
    "ruptures_by_certification": "Ruptures par certification",
    "appraisals_teaching_team": "Appréciations de l'équipe pédagogique",
    "appraisals_company": "Appréciations des entreprises",
    "financer_gaps": "Financeurs sans appréciation depuis 12 mois",
    "rupture_rate": "Taux de rupture",
    "control_findings": "Mesures issues de fiches écart",
}


def label(kind: str, value: str | None) -> str:
    """The French label of an enum value (the value itself when it is the CFA's own data)."""
    if value is None:
        return "-"
    return LABELS.get(kind, {}).get(value, value)


def day(iso: str | None) -> str:
    """A date as French readers write it (JJ/MM/AAAA)."""
    if not iso:
        return "-"
    year, month, dd = iso[:10].split("-")
    return f"{dd}/{month}/{year}"


def moment(iso: str | None) -> str:
    """A timestamp as French readers write it, in Paris time (JJ/MM/AAAA HH:MM)."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def number(value: Any) -> str:
    """A decimal number with the French decimal comma."""
    return str(value).replace(".", ",")


def amount(value: Any) -> str:
    """A quantity without its trailing zeros (8,5 h, 88 h), with the French decimal comma."""
    return number(f"{Decimal(str(value)).normalize():f}")


def percent(rate: str | Decimal | None, places: str = "0.1") -> str:
    if rate is None:
        return "-"
    return f"{number((Decimal(rate) * 100).quantize(Decimal(places)))} %"


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang=fr><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>")


def bar_chart(chart_id: str, title: str, bars: list[tuple[str, Decimal]], unit: str = "") -> str:
    """A horizontal bar chart as inline SVG."""
    if not bars:
        return f"<figure id={chart_id}><figcaption>{escape(title)}</figcaption><p>Pas encore de données.</p></figure>"
    top = max((v for _, v in bars), default=Decimal(1)) or Decimal(1)
    rows = []
    for i, (name, value) in enumerate(bars[:12]):
        width = int(Decimal(300) * value / top)
        y = i * 22
        rows.append(f"<text x=0 y={y + 14}>{escape(name[:28])}</text>"
                    f"<rect class=bar x=170 y={y + 3} width={max(width, 1)} height=14 fill=#3f83f8></rect>"
                    f"<text x={175 + width} y={y + 14}>{escape(amount(value))}{escape(unit)}</text>")
    height = 22 * min(len(bars), 12) + 4
    return (f"<figure id={chart_id}><figcaption>{escape(title)}</figcaption>"
            f"<svg class=chart width=540 height={height} role=img aria-label='{escape(title)}'>{''.join(rows)}</svg></figure>")


def suggestion(s: Suggestion) -> str:
    subject = f"{label('suggestion_subject', s.subject_kind)} {label(s.subject_kind, s.subject)}"
    if s.origin == "rupture_analysis":
        reason = f"taux de rupture de {s.percent} % sur {s.contracts} contrats"
    else:
        reason = f"absent {s.percent} % des heures de formation prévues"
    return f"{subject} : {reason}"


def dashboard(board: dict) -> str:
    inc = board["incidents"]
    incidents = "".join(
        f"<tr class='{'' if i['signalled'] else 'alert'}'><td>{day(i['occurred_on'])}</td>"
        f"<td>{escape(label('incident_kind', i['kind']))}</td>"
        f"<td>{escape(i['description'])}</td><td>{'signalé' if i['signalled'] else 'NON SIGNALÉ'}</td>"
        f"<td>{i['age_days']} j</td></tr>" for i in inc) or "<tr><td colspan=5>Aucun incident.</td></tr>"
    complaints = "".join(f"<tr><td>{escape(c['subject'])}</td><td>{escape(label('complaint_status', c['status']))}</td>"
                         f"<td>{c['age_days']} j</td></tr>"
                         for c in board["complaints"]["open"]) or "<tr><td colspan=3>Aucune réclamation ouverte.</td></tr>"
    late = "".join(f"<tr class=late><td>{escape(m['title'])}</td><td>{escape(m['owner'])}</td><td>{day(m['due_on'])}</td></tr>"
                   for m in board["measures"]["late"]) or "<tr><td colspan=3 class=ok>Aucune mesure en retard.</td></tr>"
    coverage = "".join(f"<tr><td>{escape(f['opco'])}</td><td>{day(f['last_appraisal_on'])}</td>"
                       f"<td class={'ok' if f['covered'] else 'late'}>{'couvert' if f['covered'] else 'NON COUVERT'}</td></tr>"
                       for f in board["appraisal_coverage"]["financers"]) or "<tr><td colspan=3>Aucun financeur.</td></tr>"
    ruptures = bar_chart("chart-ruptures", "Taux de rupture par certification (%)",
                         [(label("certification", r["certification"]), (Decimal(r["rate"]) * 100).quantize(Decimal("0.1")))
                          for r in board["ruptures"]["certification"]], " %")
    cohorts = bar_chart("chart-cohorts", "Ruptures par cohorte (année d'entrée)",
                        [(r["cohort"], Decimal(r["ruptures"])) for r in board["ruptures"]["cohort"]])
    absent = bar_chart("chart-absences", "Heures d'absence par groupe",
                       [(label("group", g), Decimal(h)) for g, h in board["absenteeism"]["groups"].items()], " h")
    complaints_chart = bar_chart("chart-complaints", "Réclamations par statut",
                                 [(label("complaint_status", k), Decimal(v))
                                  for k, v in _by_lifecycle(board["complaints"]["by_status"])])
    council = board["next_council"]
    next_council = (f"{day(council['planned_on'])} : {escape(council.get('title') or 'conseil de perfectionnement')}"
                    if council else "Aucun conseil prévu.")
    suggestions = "".join(f"<li>{escape(suggestion(s))}</li>" for s in board.get("suggested", [])) \
        or "<li>Aucune.</li>"
    hooks = "".join(f"<tr class='{'late' if w['status'] == 'failing' else ''}'><td>{escape(w['url'])}</td>"
                    f"<td>{escape(w['description'])}</td><td>{escape(label('webhook_status', w['status']))}</td>"
                    f"<td>{w['pending']}</td><td>{moment(w['oldest_pending_at'])}</td>"
                    f"<td>{moment(w['last_attempt_at'])} {escape(label('webhook_outcome', w['last_outcome'] or ''))}</td></tr>"
                    for w in board.get("webhooks", [])) or "<tr><td colspan=6>Aucun point de réception.</td></tr>"
    body = f"""<h1>Tableau de bord qualité : CFA {escape(board['cfa'])}</h1><p>Situation au {day(board['today'])}
    <form class=noprint method=post action=/logout style=display:inline><button>Se déconnecter</button></form></p>
    <h2>Incidents (violences, harcèlement)</h2>
    <table id=incidents><tr><th>Date</th><th>Nature</th><th>Description</th><th>Signalement</th><th>Ancienneté</th></tr>{incidents}</table>
    <h2>Réclamations</h2><div class=grid>{complaints_chart}<table id=complaints><tr><th>Objet</th><th>Statut</th><th>Ancienneté</th></tr>{complaints}</table></div>
    <h2>Mesures en retard</h2><table id=late-measures><tr><th>Mesure</th><th>Responsable</th><th>Échéance</th></tr>{late}</table>
    <h2>Appréciations des financeurs (12 derniers mois)</h2><table id=coverage><tr><th>OPCO</th><th>Dernière appréciation</th><th>Couverture</th></tr>{coverage}</table>
    <h2>Ruptures et absentéisme</h2><div class=grid>{ruptures}{cohorts}{absent}</div>
    <h2>Mesures d'amélioration suggérées</h2><ul id=suggestions>{suggestions}</ul>
    <h2>Prochain conseil de perfectionnement</h2><p id=next-council>{next_council}</p>
    <h2>Webhooks : points de réception</h2><table id=webhooks><tr><th>Adresse</th><th>Description</th><th>État</th>
    <th>En attente</th><th>Plus ancien en attente</th><th>Dernière tentative</th></tr>{hooks}</table>"""
    return _page("Tableau de bord qualité", body)


def login(error: str | None = None) -> str:
    message = f"<p class=alert>{escape(error)}</p>" if error else ""
    return _page("Connexion", f"""<h1>Parcours : tableau de bord qualité</h1>{message}
    <form method=post action=/login><label>Clé API du CFA <input name=key type=password autocomplete=off required
    size=60></label> <button type=submit>Se connecter</button></form>""")


def minutes(council: dict, items: list[dict]) -> str:
    agenda = "".join(f"<li><strong>{escape(i['title'])}</strong>{_evidence(i['evidence'])}</li>" for i in items)
    held = next((h for h in council.get("history", []) if h["event"] == "council.held"), None)
    record = ("<p>Pas encore tenu.</p>" if held is None else
              f"<p>Tenu le {day(held['held_on'])}. Participants : {escape(', '.join(held['attendees']))}.</p>"
              f"<h2>Décisions</h2><ol>{''.join(f'<li class=prose>{escape(d)}</li>' for d in held.get('decisions', []))}</ol>"
              f"<h2>Compte rendu</h2><p class=prose>{escape(held['minutes'])}</p>")
    title = f"<p>{escape(council['title'])}</p>" if council.get("title") else ""
    return _page("Conseil de perfectionnement", f"""<h1>Conseil de perfectionnement (R6231-4)</h1>{title}
    <p>CFA {escape(council.get('cfa', ''))}, période du {day(council['period_from'])} au {day(council['period_to'])},
    prévu le {day(council['planned_on'])}.</p><h2>Ordre du jour</h2><ol id=agenda>{agenda}</ol>{record}""")


def _evidence(evidence: dict) -> str:
    if not evidence:
        return "<p>(à présenter en séance)</p>"
    return "<ul class=evidence>" + "".join(f"<li>{escape(EVIDENCE.get(k, k))} : {_value(k, v)}</li>"
                                           for k, v in evidence.items()) + "</ul>"


def _value(key: str, value: Any) -> str:
    if key == "complaints":
        return escape(_joined(f"{label('complaint_status', s)} ({n})" for s, n in _by_lifecycle(value)) or "aucune")
    if key == "financer_gaps":
        return escape(", ".join(value) or "aucun")
    if key == "rupture_rate":
        return escape(percent(value) if value is not None else "non calculé (aucun contrat)")
    if key == "ruptures_by_certification":
        if not value:
            return "aucun contrat"
        return "<ul>" + "".join(f"<li>{escape(_rupture_row(r))}</li>" for r in value) + "</ul>"
    return escape(str(value))


def _by_lifecycle(by_status: dict[str, int]) -> list[tuple[str, int]]:
    order = list(LABELS["complaint_status"])
    return sorted(by_status.items(), key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0]))


def _joined(parts: Iterable[str]) -> str:
    return ", ".join(parts)


def _rupture_row(r: dict) -> str:
    text = (f"{label('certification', r['certification'])} : {r['ruptures']} rupture(s) sur {r['contracts']} "
            f"contrat(s), taux {percent(r['rate'])}")
    if r["ruptures"]:
        reasons = _joined(f"{label('rupture_reason', k)} ({n})" for k, n in sorted(r["reasons"].items()))
        text += (f", dont {r['within_45_days']} dans les 45 premiers jours et {r['after_45_days']} après, "
                 f"durée médiane avant rupture {amount(r['median_days_to_rupture'])} j, motifs : {reasons}, "
                 f"{r['rehired_within_6_months']} reprise(s) en contrat dans les 6 mois")
    return text
