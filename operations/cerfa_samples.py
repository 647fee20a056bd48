"""Whole CERFA FA13 documents for generated data (``parcours ops generate-history``, the demo):
the version 2 shape of ``contract.signed`` (contract_events.cerfa), every mandatory box filled in
and every check of the contracts service at signature passed (services/contracts/domain/rules.py
with ``full_cerfa``).

Deterministic: every builder draws from the ``random.Random`` it is given, nothing else. The
people are made up from short lists (first names of both sexes, surnames, birth towns with their
department and INSEE town code), so the NIR is consistent with the sex, the birth date and the
birth place, and its key is right; the SIRET pass Luhn (SIREN and SIRET); the CFAs' UAI carry
their check letter. E-mail addresses are at ``exemple.fr``. The RNCP codes and titles are
illustrative (those of the NPEC sample referential where the level matches, so the demo's
financing finds a cost), not a copy of France Compétences' register.

Codes are the notice's (FA14): employer type 12 (RCS only) or 14 (liberal profession), specific
employer 0 (none), nationality 1/2/3 (French, EU, other), social scheme 2 (URSSAF), situation
before the contract 1 (school), 3 (student), 8 (at the CFA without a contract after a rupture),
diploma codes 25 (brevet), 33 (CAP), 41-43 (bac), 54 (BTS), 64 (BUT), last class 01 (last year
done, diploma obtained) and 40 (lower secondary completed)."""
from __future__ import annotations

import random
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from contract_events.upcasting import diff_patch
from kernel.months import add_months
from kernel.reference.tables import remuneration_grid, smic_history
from services.contracts.domain.calendar import age_on, first_of_month_after_birthday
from services.contracts.domain.identifiers import luhn_ok, siret_ok, uai_check_letter, uai_ok
from services.contracts.domain.legal import MAJORITY_AGE, REMUNERATION_AGE_STEPS
from services.contracts.domain.nir import with_key
from services.contracts.domain.rules import minimum_pct, monthly_amount, required_hours, smic_on

Doc = dict[str, Any]

FIRST_NAMES_F = ["Léa", "Emma", "Chloé", "Manon", "Camille", "Inès", "Sarah", "Jade", "Louise", "Lina",
                 "Zoé", "Clara", "Alice", "Juliette", "Anaïs", "Mathilde", "Yasmine", "Lucie", "Océane",
                 "Eva", "Maëlys", "Rose", "Nina", "Aïcha", "Margaux"]
FIRST_NAMES_M = ["Lucas", "Hugo", "Louis", "Nathan", "Enzo", "Gabriel", "Jules", "Arthur", "Thomas",
                 "Mathis", "Noah", "Théo", "Adam", "Rayan", "Maxime", "Antoine", "Yanis", "Paul",
                 "Baptiste", "Mehdi", "Clément", "Alexandre", "Tom", "Samuel", "Kylian"]
SURNAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy",
            "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux",
            "Vincent", "Fournier", "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet",
            "François", "Martinez", "Benali"]

# (town, department, INSEE town code's last 3 digits): the NIR's place of birth
BIRTH_PLACES = [("Paris 11e Arrondissement", "75", "111"), ("Paris 18e Arrondissement", "75", "118"),
                ("Montreuil", "93", "048"), ("Saint-Denis", "93", "066"), ("Bobigny", "93", "008"),
                ("Créteil", "94", "028"), ("Nanterre", "92", "050"), ("Argenteuil", "95", "018"),
                ("Versailles", "78", "646"), ("Évry-Courcouronnes", "91", "228"), ("Meaux", "77", "284"),
                ("Lille", "59", "350"), ("Bordeaux", "33", "063"), ("Nantes", "44", "109"),
                ("Toulouse", "31", "555"), ("Strasbourg", "67", "482"), ("Rennes", "35", "238"),
                ("Rouen", "76", "540"), ("Orléans", "45", "234"), ("Amiens", "80", "021"),
                ("Ajaccio", "2A", "004"), ("Bastia", "2B", "033")]
# born abroad: department 99 and the INSEE country code; (town, country code, nationality code)
FOREIGN_BIRTH_PLACES = [("Porto", "139", "2"), ("Madrid", "134", "2"), ("Bucarest", "114", "2"),
                        ("Casablanca", "350", "3"), ("Alger", "352", "3"), ("Dakar", "341", "3")]
HOME_TOWNS = [("75011", "Paris"), ("75019", "Paris"), ("75015", "Paris"), ("75020", "Paris"),
              ("93100", "Montreuil"), ("93200", "Saint-Denis"), ("93000", "Bobigny"), ("93500", "Pantin"),
              ("93300", "Aubervilliers"), ("94000", "Créteil"), ("94300", "Vincennes"),
              ("94200", "Ivry-sur-Seine"), ("92000", "Nanterre"), ("92100", "Boulogne-Billancourt"),
              ("95100", "Argenteuil"), ("78000", "Versailles"), ("91000", "Évry-Courcouronnes"),
              ("77100", "Meaux")]
STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Gambetta", "rue Pasteur",
           "rue des Écoles", "allée des Tilleuls", "rue du Moulin", "avenue de la Paix", "rue Voltaire",
           "rue de Paris", "place de la Mairie", "rue Jules Ferry", "boulevard de Strasbourg"]

# The generator's CFAs (history_generator.CFAS): the first two are the demo CFA keys' UAIs.
CFAS = {
    "0751234J": {"name": "CFA des Métiers de Paris", "siret": "98765432400019",
                 "address": {"number": "80", "street": "boulevard de la Villette", "postal_code": "75019",
                             "town": "Paris"}},
    "0931234L": {"name": "CFA Seine-Saint-Denis Avenir", "siret": "44306184100047",
                 "address": {"number": "12", "street": "rue Hector Berlioz", "postal_code": "93000",
                             "town": "Bobigny"}},
    "0754321P": {"name": "CFA Sup Paris Est", "siret": "51088451300043",
                 "address": {"number": "34", "street": "rue de Charonne", "postal_code": "75011",
                             "town": "Paris"}},
}

# IDCC -> the branch: employer type, NAF codes, headcount range, names, masters' jobs. Each IDCC's
# OPCO is kernel/reference/idcc_opco.csv's.
SECTORS: dict[str, dict[str, Any]] = {
    "1486": {"opco": "ATLAS", "employer_type": "12", "naf": ["7112B", "6202A", "6201Z", "7022Z"],
             "headcount": (3, 400), "names": ["{s} Ingénierie", "Bureau d'études {s}", "{s} Conseil",
                                              "{s} Numérique"],
             "jobs": ["Ingénieur d'études", "Chef de projet", "Consultant senior", "Responsable technique"],
             "pension": ["Malakoff Humanis", "AG2R La Mondiale", "Humanis"], "machines": 0.0},
    "1979": {"opco": "AKTO", "employer_type": "12", "naf": ["5610A", "5510Z", "5630Z"],
             "headcount": (2, 60), "names": ["Restaurant {s}", "Brasserie {s}", "Hôtel {s}", "Le Bistrot {s}"],
             "jobs": ["Chef de cuisine", "Maître d'hôtel", "Second de cuisine", "Directeur d'hôtel"],
             "pension": ["Klesia", "AG2R La Mondiale"], "machines": 0.5, "food_per_meal": "4.15"},
    "2216": {"opco": "OPCOMMERCE", "employer_type": "12", "naf": ["4711D", "4711F", "4711C"],
             "headcount": (10, 350), "names": ["Supermarché {s}", "{s} Distribution", "Marché {s}"],
             "jobs": ["Responsable de rayon", "Directeur de magasin", "Manager des ventes"],
             "pension": ["Malakoff Humanis", "Klesia"], "machines": 0.2},
    "1000": {"opco": "OPCOEP", "employer_type": "14", "naf": ["6910Z"],
             "headcount": (2, 50), "names": ["Cabinet {s} Avocats", "SELARL {s} et Associés"],
             "jobs": ["Avocat associé", "Juriste", "Responsable administratif"],
             "pension": ["Malakoff Humanis", "AG2R La Mondiale"], "machines": 0.0},
}

# (IDCC, level) -> (RNCP, code diplôme, title): illustrative
CERTIFICATIONS: dict[tuple[str, int], list[tuple[str, str, str]]] = {
    ("1486", 4): [("RNCP32238", "40025510", "Bac pro Systèmes numériques")],
    ("1486", 5): [("RNCP36392", "36332601", "Titre professionnel Développeur web et web mobile"),
                  ("RNCP35340", "32032612", "BTS Services informatiques aux organisations")],
    ("1486", 6): [("RNCP38566", "25032610", "Licence professionnelle Métiers de l'informatique"),
                  ("RNCP35475", "25032615", "BUT Informatique")],
    ("1979", 4): [("RNCP37851", "40022104", "Bac pro Cuisine"),
                  ("RNCP37850", "40033410", "Bac pro Commercialisation et services en restauration")],
    ("1979", 5): [("RNCP35173", "32033411", "BTS Management en hôtellerie restauration")],
    ("1979", 6): [("RNCP37012", "26033401", "Bachelor Management de l'hôtellerie et de la restauration")],
    ("2216", 4): [("RNCP32208", "40031212", "Bac pro Métiers du commerce et de la vente")],
    ("2216", 5): [("RNCP35185", "32031213", "BTS Management commercial opérationnel"),
                  ("RNCP38368", "32031214", "BTS Négociation et digitalisation de la relation client")],
    ("2216", 6): [("RNCP35186", "25031211", "BUT Techniques de commercialisation")],
    ("1000", 4): [("RNCP37275", "40034501", "Titre professionnel Secrétaire assistant")],
    ("1000", 5): [("RNCP38041", "32034502", "BTS Support à l'action managériale")],
    ("1000", 6): [("RNCP35962", "25034501", "Licence professionnelle Métiers du droit")],
}
# the apprentice's schooling before the contract, by the level prepared:
# (last diploma prepared, highest diploma, last class)
SCHOOLING = {4: [("25", "25", "40"), ("33", "33", "01")], 5: [("41", "41", "01"), ("42", "42", "01"),
                                                             ("43", "43", "01")],
             6: [("54", "54", "01"), ("64", "41", "21")]}
# ages at the start, by the level prepared (each as likely)
AGES = {4: [16, 16, 17, 17, 18, 19, 20], 5: [17, 18, 18, 19, 19, 20, 21, 22, 23],
        6: [19, 20, 20, 21, 21, 22, 23, 24, 26]}
MASTER_DIPLOMAS = {4: "Baccalauréat professionnel", 5: "BTS", 6: "Licence professionnelle", 7: "Master"}
PAY_BONUSES = [0, 0, 0, 2, 5, 10]      # points above the legal minimum, per contract
EXTENSION = {"kind": "extension", "justification": "Échec à l'examen: prolongation d'un an au plus (L6222-11)"}


def _ascii(s: str) -> str:
    return unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower().replace(" ", "-")


def _phone(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(f" {rng.randint(0, 99):02d}" for _ in range(4))


def _address(rng: random.Random) -> Doc:
    postal_code, town = rng.choice(HOME_TOWNS)
    return {"number": str(rng.randint(1, 140)), "street": rng.choice(STREETS), "postal_code": postal_code,
            "town": town}


def _check_digit(payload: str) -> str:
    return next(d for d in "0123456789" if luhn_ok(payload + d))


def siret(rng: random.Random) -> str:
    """A SIRET whose SIREN and whole number pass Luhn (never La Poste's SIREN)."""
    siren = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7))
    siren += _check_digit(siren)
    nic = f"{rng.randint(1, 99):04d}"
    out = siren + nic + _check_digit(siren + nic)
    assert siret_ok(out), out
    return out


def uai(number: str) -> str:
    """The UAI of a 7-digit number: its check letter appended."""
    return number + uai_check_letter(number)


def nir(rng: random.Random, sex: str, birth: date, department: str, town: str) -> str:
    """A NIR consistent with ``sex``, ``birth`` and the place of birth (department, INSEE town or
    country code), with its key."""
    return with_key(f"{'1' if sex == 'M' else '2'}{birth.year % 100:02d}{birth.month:02d}{department}{town}"
                    f"{rng.randint(1, 999):03d}")


def _birth_date(rng: random.Random, age: int, on: date) -> date:
    """A birth date of someone ``age`` full years old on ``on``."""
    while True:
        born = date(on.year - age - 1, 1, 1) + timedelta(days=rng.randint(0, 730))
        if age_on(born, on) == age:
            return born


def person(rng: random.Random, sex: str | None = None) -> tuple[str, str, str]:
    """(sex, first name, surname) from the lists."""
    sex = sex or rng.choice("MF")
    return sex, rng.choice(FIRST_NAMES_M if sex == "M" else FIRST_NAMES_F), rng.choice(SURNAMES)


def apprentice(rng: random.Random, apprentice_id: str, start: date, level: int) -> Doc:
    """The apprentice's identity and schooling, of an age usual for ``level`` at ``start``."""
    sex, first, last = person(rng)
    born = _birth_date(rng, rng.choice(AGES[level]), start)
    if rng.random() < 0.85:
        town, department, code = rng.choice(BIRTH_PLACES)
        nationality = "1"
    else:
        (town, code, nationality), department = rng.choice(FOREIGN_BIRTH_PLACES), "99"
    prepared, highest, last_class = rng.choice(SCHOOLING[level])
    return {"id": apprentice_id, "birth_name": last, "first_names": first, "nir": nir(rng, sex, born, department, code),
            "birth_date": born.isoformat(), "sex": sex, "birth_department": department, "birth_town": town,
            "nationality": nationality, "social_scheme": "2", "address": _address(rng),
            "contact": {"phone": _phone(rng, rng.choice(["06", "07"])),
                        "email": f"{_ascii(first)}.{_ascii(last)}{rng.randint(1, 99)}@exemple.fr"},
            "situation_before": "1" if level == 4 else rng.choice(["1", "3"]), "last_diploma_prepared": prepared,
            "last_class": last_class, "highest_diploma": highest, "rqth": rng.random() < 0.03,
            "lower_secondary_completed": True}


def employer(rng: random.Random, idcc: str) -> Doc:
    """An establishment of the branch ``idcc`` (one of SECTORS)."""
    sector = SECTORS[idcc]
    _, _, owner = person(rng)
    name = rng.choice(sector["names"]).format(s=owner)
    return {"name": name, "siret": siret(rng), "address": _address(rng),
            "contact": {"phone": _phone(rng, "01"), "email": f"contact@{_ascii(name).replace(chr(39), '')}.exemple.fr"},
            "employer_type": sector["employer_type"], "specific_employer": "0", "naf": rng.choice(sector["naf"]),
            "headcount": rng.randint(*sector["headcount"]), "idcc": idcc, "pension_fund": rng.choice(sector["pension"])}


def masters(rng: random.Random, idcc: str, level: int, start: date) -> list[Doc]:
    """One maître d'apprentissage, sometimes two: of age, a diploma in the field of at least the
    certification's level, two years or more of related activity, the requirements attested."""
    out = []
    for _ in range(2 if rng.random() < 0.2 else 1):
        sex, first, last = person(rng)
        age = rng.randint(26, 60)
        years = Decimal(rng.randint(4, 2 * min(age - 22, 30))) / 2      # 2 to 30 years, by half years
        diploma_level = rng.randint(level, 7)
        out.append({"id": f"ma-{rng.getrandbits(48):012x}", "birth_name": last, "first_names": first,
                    "birth_date": _birth_date(rng, age, start).isoformat(),
                    "email": f"{_ascii(first)}.{_ascii(last)}@exemple.fr", "job": rng.choice(SECTORS[idcc]["jobs"]),
                    "highest_diploma": MASTER_DIPLOMAS[diploma_level], "diploma_level": diploma_level,
                    "diploma_in_field": True, "related_experience_years": str(years), "meets_requirements": True})
    return out


def pay_lines(start: date, end: date, birth: date, bonus: int, weekly: Decimal) -> list[Doc]:
    """Pay lines covering ``start`` to ``end`` without a gap: a new line at every contract year and
    every change of age band (the first of the month after the 18th, 21st, 26th birthday), each at
    the legal minimum plus ``bonus`` points (at most 100 %), its gross monthly amount from the SMIC
    in force on its first day, prorated to a week under 35 hours."""
    cuts = {add_months(start, 12 * k) for k in range(1, 6)}
    cuts |= {first_of_month_after_birthday(birth, a) for a in REMUNERATION_AGE_STEPS}
    starts = [start] + sorted(d for d in cuts if start < d <= end)
    out = []
    for i, first in enumerate(starts):
        last = starts[i + 1] - timedelta(days=1) if i + 1 < len(starts) else end
        need, year = minimum_pct(remuneration_grid(), start, birth, first)
        pct = max(need, min(Decimal(100), need + bonus))
        gross = monthly_amount(smic_on(smic_history(), first), pct, weekly)
        out.append({"year": year, "starts_on": first.isoformat(), "ends_on": last.isoformat(), "pct": str(pct),
                    "base": "SMIC", "gross_monthly": str(gross)})
    return out


def _round_up(n: float, step: int = 10) -> int:
    return -(-int(n) // step) * step


def cerfa(rng: random.Random, *, contract_id: str, opco: str, apprentice_doc: Doc, employer_doc: Doc, cfa_uai: str,
          certification: Doc, signed_on: date, start: date, end: date, contract_type: str = "11",
          previous_contract_id: str | None = None, cycle_start: date | None = None) -> Doc:
    """A whole CERFA (``contract.signed`` version 2 data) for the given parties and dates; the
    masters, the working time, the pay and the training hours are drawn here."""
    idcc = employer_doc["idcc"]
    birth = date.fromisoformat(apprentice_doc["birth_date"])
    minor = age_on(birth, start) < MAJORITY_AGE
    a = {k: v for k, v in apprentice_doc.items() if k != "legal_representative"}
    if minor:
        _, first, _ = person(rng)
        a["legal_representative"] = {"name": f"{first} {a['birth_name']}", "address": a["address"],
                                     "email": f"{_ascii(first)}.{_ascii(a['birth_name'])}@exemple.fr"}
    weekly = 35 if minor or rng.random() < 0.8 else 39
    machines = rng.random() < SECTORS[idcc]["machines"]
    contract: Doc = {"type": contract_type, "signed_on": signed_on.isoformat(), "start_date": start.isoformat(),
                     "practical_training_start": start.isoformat(), "planned_end_date": end.isoformat(),
                     "weekly_hours": weekly, "weekly_minutes": 0, "daily_hours": "7" if minor else "8",
                     "dangerous_machines": machines}
    if previous_contract_id:
        contract["previous_contract_id"] = previous_contract_id
    if machines and minor:
        contract["dangerous_machines_declared_on"] = (signed_on - timedelta(days=rng.randint(5, 60))).isoformat()
    contract["pay"] = pay_lines(start, end, birth, rng.choice(PAY_BONUSES), Decimal(weekly))
    if "food_per_meal" in SECTORS[idcc]:
        contract["benefits_in_kind"] = {"food_per_meal": SECTORS[idcc]["food_per_meal"]}
    need = required_hours(start, end, Decimal(weekly))
    hours = max(need, _round_up(need * rng.uniform(1.1, 1.6)))
    cfa = CFAS[cfa_uai]
    training = {"company_cfa": False, "cfa": {"name": cfa["name"], "uai": cfa_uai, "siret": cfa["siret"],
                                              "address": cfa["address"]},
                "certification": certification,
                "cycle_start": (cycle_start or start - timedelta(days=rng.randint(0, 30))).isoformat(),
                "exams_end": (end - timedelta(days=rng.randint(20, 75))).isoformat(), "hours": hours,
                "remote_hours": _round_up(hours * rng.uniform(0, 0.1))}
    return {"contract_id": contract_id, "employer": employer_doc, "apprentice": a,
            "masters": masters(rng, idcc, certification["level"], start), "contract": contract,
            "training": training, "opco": opco}


def certification(rng: random.Random, idcc: str, level: int) -> Doc:
    rncp, code, title = rng.choice(CERTIFICATIONS[(idcc, level)])
    return {"rncp": rncp, "diploma_code": code, "level": level, "title": title}


def successor_apprentice(apprentice_doc: Doc) -> Doc:
    """The apprentice of a contract signed after a rupture, the training continued at the CFA
    meanwhile (situation 8)."""
    return {**{k: v for k, v in apprentice_doc.items() if k != "legal_representative"}, "situation_before": "8"}


def extension_patch(doc: Doc, new_end: date) -> Doc:
    """The merge patch of an avenant 33 (a failed exam: the contract prolonged, L6222-11) moving
    the end to ``new_end``: the end, the extension, the pay lines again up to the new end (same
    points above the minimum), the exams later, the training hours raised if 25 % needs more."""
    c, training = doc["contract"], doc["training"]
    start, old_end = date.fromisoformat(c["start_date"]), date.fromisoformat(c["planned_end_date"])
    birth = date.fromisoformat(doc["apprentice"]["birth_date"])
    first = c["pay"][0]
    bonus = int(Decimal(first["pct"]) - minimum_pct(remuneration_grid(), start, birth, start)[0])
    weekly = Decimal(c.get("weekly_hours") or 35) + Decimal(c.get("weekly_minutes") or 0) / 60
    new_contract = {**c, "planned_end_date": new_end.isoformat(), "duration_adjustment": EXTENSION,
                    "pay": pay_lines(start, new_end, birth, bonus, weekly)}
    exams = date.fromisoformat(training["exams_end"]) + (new_end - old_end)
    need = required_hours(start, new_end, Decimal(c.get("weekly_hours") or 35))
    new_training = {**training, "exams_end": exams.isoformat(), "hours": max(training["hours"], need)}
    return diff_patch({"contract": c, "training": training}, {"contract": new_contract, "training": new_training})


assert all(uai_ok(u) for u in CFAS) and all(siret_ok(c["siret"]) for c in CFAS.values())
