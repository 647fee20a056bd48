"""The conseil de perfectionnement's agenda: the eight items of R6231-4, pre-filled with the
period's figures and open items (pure)."""
from __future__ import annotations

AGENDA = [
    ("pedagogical_project", "Projet pédagogique du CFA"),
    ("reception_support", "Conditions générales d'accueil, d'accompagnement des apprentis, notamment des "
                          "apprentis en situation de handicap, de promotion de la mixité et de la mobilité"),
    ("training_organisation", "Organisation et déroulement des formations"),
    ("trainers_preparation", "Conditions générales de préparation et de perfectionnement pédagogique des formateurs"),
    ("company_relations", "Organisation des relations entre les entreprises accueillant des apprentis et le CFA"),
    ("conventions", "Projets de convention à conclure en application des articles L6232-1 et L6233-1"),
    ("investments", "Projets d'investissement"),
    ("published_information", "Informations publiées chaque année en application de l'article L6111-8"),
]


def agenda(figures: dict) -> list[dict]:
    """Each R6231-4 item with the evidence the quality lead brings to it."""
    evidence = {
        "pedagogical_project": {"appraisals": figures["appraisals"], "measures_open": figures["measures_open"]},
        "reception_support": {"incidents": figures["incidents"], "complaints": figures["complaints"],
                              "absenteeism_over_threshold": figures["absenteeism_over_threshold"]},
        "training_organisation": {"hazards": figures["hazards"], "ruptures_by_certification": figures["ruptures"]},
        "trainers_preparation": {"appraisals_teaching_team": figures["appraisals_by_stakeholder"].get("teaching_team", 0)},
        "company_relations": {"appraisals_company": figures["appraisals_by_stakeholder"].get("company", 0),
                              "financer_gaps": figures["financer_gaps"]},
        "conventions": {},
        "investments": {},
        "published_information": {"rupture_rate": figures["rupture_rate"],
                                  "control_findings": figures["control_findings"]},
    }
    return [{"item": key, "title": title, "evidence": evidence[key]} for key, title in AGENDA]
