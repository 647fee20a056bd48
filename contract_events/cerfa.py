"""The contract as the CERFA FA13 (contrat d'apprentissage, cerfa n° 10103*13, with its notice
FA14; docs/cerfa.md has the field table and why this revision): the data of ``contract.signed``
and the document of ``contract.amended`` from version 2.

Grouped as the form is: ``employer`` (L'EMPLOYEUR), ``apprentice`` (L'APPRENTI(E)), ``masters``
(LE MAÎTRE D'APPRENTISSAGE, one or two), ``contract`` (LE CONTRAT), ``training`` (LA FORMATION);
plus ``opco``, the funder Parcours records. English names; each field's ``description`` starts
with the form's French label.

Personal data (names, NIR, addresses, contacts, birth places, the masters' identity) carries
``x-personal`` in the JSON Schema: the contracts service stores it in its log and answers it to
the contract's CFA and OPCO (``GET /v1/contracts/{id}/cerfa``), but never publishes it:
``contract_events.publication`` removes every such field before an event leaves the service.

Every field the first version of the event did not carry is optional here, so that a version 1
event, upcast (``contract_events.upcasting``), is a valid version 2 document; what a complete
CERFA must hold at signature is checked by the contracts service (``missing_fields`` below lists
it) and refused field by field.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from contract_events.signed import Certification, DurationAdjustment, Id, Strict
from shared.types import IsoDate, Line

PERSONAL: dict[str, Any] = {"x-personal": True}


def _f(label: str, personal: bool = False, **kw: Any) -> Any:
    """A field with its French label as description (and the personal-data mark)."""
    return Field(description=label, json_schema_extra=PERSONAL if personal else None, **kw)


def _name(label: str, personal: bool = True, max_length: int = 100) -> Any:
    return _f(label, personal, default=None, min_length=1, max_length=max_length)


Code = Line   # a code of the notice's lists (contract_events.cerfa_codes), checked at signature
PHONE = r"^\+?[0-9 .()-]{6,25}$"
EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$"


class Address(Strict):
    """Adresse."""
    number: Line | None = _f("N°", default=None, max_length=10)
    street: Line | None = _f("Voie", default=None, max_length=200)
    complement: Line | None = _f("Complément", default=None, max_length=200)
    postal_code: str | None = _f("Code postal", default=None, pattern=r"^[0-9]{5}$")
    town: Line | None = _f("Commune", default=None, max_length=100)


class Contact(Strict):
    """Téléphone et courriel."""
    phone: str | None = _f("Téléphone", default=None, pattern=PHONE)
    email: str | None = _f("Courriel", default=None, pattern=EMAIL, max_length=254)


class Employer(Strict):
    """L'EMPLOYEUR."""
    name: Line | None = _f("Nom et prénom ou dénomination", default=None, max_length=200)
    siret: Line = _f("N° SIRET de l'établissement d'exécution du contrat", min_length=1, max_length=20)
    address: Address | None = _f("Adresse de l'établissement d'exécution du contrat", default=None)
    contact: Contact | None = _f("Téléphone et courriel de l'employeur", True, default=None)
    employer_type: Code | None = _f("Type d'employeur (codes 11 à 16 privé, 21 à 30 public)", default=None,
                                    max_length=2)
    specific_employer: Code | None = _f("Employeur spécifique", default=None, max_length=2)
    naf: str | None = _f("Code activité de l'entreprise (NAF)", default=None, pattern=r"^[0-9]{2}\.?[0-9]{2}[A-Z]$")
    headcount: int | None = _f("Effectif total salariés de l'entreprise", default=None, ge=0, le=1_000_000)
    idcc: Line = _f("Code IDCC de la convention collective applicable", min_length=1, max_length=8)
    pension_fund: Line | None = _f("Caisse de retraite complémentaire", default=None, max_length=200)
    public_sector: bool = _f("Employeur public (déduit du type d'employeur quand il est donné)", default=False)


class LegalRepresentative(Strict):
    """Représentant légal (apprenti mineur)."""
    name: Line = _f("Nom et prénom du représentant légal", True, min_length=1, max_length=200)
    address: Address | None = _f("Adresse du représentant légal", True, default=None)
    email: str | None = _f("Courriel du représentant légal", True, default=None, pattern=EMAIL, max_length=254)


class Apprentice(Strict):
    """L'APPRENTI(E)."""
    id: str | None = _f("Identifiant pseudonyme de l'apprenti (attribué par Parcours à partir du NIR ou de "
                        "l'état civil; seul identifiant publié)", default=None, min_length=1, max_length=64,
                        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    birth_name: Line | None = _name("Nom de naissance")
    usage_name: Line | None = _name("Nom d'usage")
    first_names: Line | None = _name("Prénom(s)", max_length=200)
    nir: str | None = _f("N° de sécurité sociale (NIR, 13 caractères et clé)", True, default=None,
                         pattern=r"^[0-9ABab ]{15,21}$")
    birth_date: IsoDate = _f("Date de naissance", True)
    sex: Literal["M", "F"] | None = _f("Sexe", True, default=None)
    birth_department: str | None = _f("Département de naissance (99: né à l'étranger)", True, default=None,
                                      pattern=r"^([0-9]{2,3}|2A|2B)$")
    birth_town: Line | None = _name("Commune de naissance")
    nationality: Code | None = _f("Nationalité", default=None, max_length=2)
    social_scheme: Code | None = _f("Régime social", default=None, max_length=2)
    address: Address | None = _f("Adresse de l'apprenti", True, default=None)
    contact: Contact | None = _f("Téléphone et courriel de l'apprenti", True, default=None)
    situation_before: Code | None = _f("Situation avant ce contrat", default=None, max_length=2)
    last_diploma_prepared: Code | None = _f("Dernier diplôme ou titre préparé", default=None, max_length=2)
    last_class: Code | None = _f("Dernière classe / année suivie", default=None, max_length=2)
    highest_diploma: Code | None = _f("Diplôme ou titre le plus élevé obtenu", default=None, max_length=2)
    rqth: bool = _f("Déclare bénéficier de la reconnaissance travailleur handicapé", default=False)
    high_level_athlete: bool = _f("Déclare être inscrit sur la liste des sportifs de haut niveau", default=False)
    business_creation_project: bool = _f("Déclare avoir un projet de création ou de reprise d'entreprise",
                                         default=False)
    lower_secondary_completed: bool = _f("A accompli la scolarité du premier cycle de l'enseignement secondaire "
                                         "(entrée possible à 15 ans)", default=False)
    legal_representative: LegalRepresentative | None = _f("Représentant légal (apprenti mineur)", True,
                                                          default=None)


class Master(Strict):
    """LE MAÎTRE D'APPRENTISSAGE."""
    id: str | None = _f("Identifiant pseudonyme du maître d'apprentissage (attribué par Parcours)", default=None,
                        max_length=64)
    birth_name: Line | None = _name("Nom de naissance")
    first_names: Line | None = _name("Prénom(s)", max_length=200)
    birth_date: IsoDate | None = _f("Date de naissance", True, default=None)
    email: str | None = _f("Courriel", True, default=None, pattern=EMAIL, max_length=254)
    job: Line | None = _f("Emploi occupé", default=None, max_length=200)
    highest_diploma: Line | None = _f("Diplôme ou titre le plus élevé obtenu", default=None, max_length=200)
    diploma_level: int | None = _f("Niveau de diplôme ou titre le plus élevé obtenu", default=None, ge=1, le=8)
    diploma_in_field: bool | None = _f("Diplôme ou titre dans le domaine professionnel de la certification "
                                       "préparée (R6223-22)", default=None)
    related_experience_years: Decimal | None = _f("Années d'activité professionnelle en rapport avec la "
                                                  "certification préparée (R6223-22)", default=None,
                                                  ge=0, le=60, decimal_places=1)
    meets_requirements: bool | None = _f("L'employeur atteste que le maître d'apprentissage répond à l'ensemble "
                                         "des critères d'éligibilité à cette fonction", default=None)


class PayLine(Strict):
    """Rémunération: une période, son pourcentage et sa base."""
    year: int | None = _f("Année d'exécution du contrat (1re à 4e)", default=None, ge=1, le=5)
    starts_on: IsoDate = _f("Du")
    ends_on: IsoDate | None = _f("Au (vide: jusqu'à la ligne suivante ou la fin du contrat)", default=None)
    pct: Decimal = _f("Pourcentage", ge=0, le=200)
    base: Literal["SMIC", "SMC"] = _f("du SMIC ou du SMC (salaire minimum conventionnel)", default="SMIC")
    gross_monthly: Decimal | None = _f("Salaire brut mensuel à l'embauche", default=None, ge=0, le=100_000,
                                       max_digits=9, decimal_places=2)


class BenefitsInKind(Strict):
    """Avantages en nature."""
    food_per_meal: Decimal | None = _f("Nourriture: € par repas", default=None, ge=0, le=100, decimal_places=2)
    housing_per_month: Decimal | None = _f("Logement: € par mois", default=None, ge=0, le=10_000,
                                           decimal_places=2)
    other: Line | None = _f("Autres", default=None, max_length=200)


class ContractSection(Strict):
    """LE CONTRAT."""
    type: Code = _f("Type de contrat ou d'avenant", max_length=2)
    derogations: list[Code] = _f("Type de dérogation", default_factory=list, max_length=5)
    previous_contract_number: Line | None = _f("Numéro du contrat précédent ou du contrat sur lequel porte "
                                               "l'avenant", default=None, max_length=40)
    previous_contract_id: Line | None = _f("Identifiant Parcours du contrat précédent", default=None,
                                           max_length=64)
    signed_on: IsoDate = _f("Date de conclusion (date de signature)")
    start_date: IsoDate = _f("Date de début d'exécution du contrat")
    practical_training_start: IsoDate | None = _f("Date de début de la formation pratique chez l'employeur",
                                                  default=None)
    amendment_effective_on: IsoDate | None = _f("Si avenant, date d'effet", default=None)
    planned_end_date: IsoDate = _f("Date de fin du contrat ou de la période d'apprentissage")
    weekly_hours: int | None = _f("Durée hebdomadaire du travail: heures", default=None, ge=0, le=60)
    weekly_minutes: int | None = _f("Durée hebdomadaire du travail: minutes", default=None, ge=0, le=59)
    daily_hours: Decimal | None = _f("Durée quotidienne maximale de travail (pas sur le formulaire; contrôlée "
                                     "pour un mineur, L6222-25)", default=None, ge=0, le=24, decimal_places=2)
    dangerous_machines: bool | None = _f("Travail sur machines dangereuses ou exposition à des risques "
                                         "particuliers", default=None)
    dangerous_machines_declared_on: IsoDate | None = _f("Date de la déclaration de dérogation à l'inspection du "
                                                        "travail (R4153-40; apprenti mineur)", default=None)
    pay: list[PayLine] = _f("Rémunération", default_factory=list, max_length=12)
    benefits_in_kind: BenefitsInKind | None = _f("Avantages en nature", default=None)
    duration_adjustment: DurationAdjustment | None = _f("Réduction ou allongement de la durée (L6222-7-1, "
                                                        "L6222-11)", default=None)


class TrainingOrganisation(Strict):
    """CFA responsable ou lieu de formation."""
    name: Line | None = _f("Dénomination", default=None, max_length=200)
    uai: Line | None = _f("N° UAI", default=None, max_length=10)
    siret: Line | None = _f("N° SIRET", default=None, max_length=20)
    address: Address | None = _f("Adresse", default=None)


class Cfa(TrainingOrganisation):
    """CFA responsable."""
    uai: Line = _f("N° UAI du CFA", min_length=1, max_length=10)


class Training(Strict):
    """LA FORMATION."""
    company_cfa: bool | None = _f("CFA d'entreprise", default=None)
    cfa: Cfa = _f("Dénomination du CFA responsable")
    certification: Certification = _f("Diplôme ou titre visé par l'apprenti (code diplôme, RNCP, intitulé, "
                                      "niveau)")
    cycle_start: IsoDate | None = _f("Date de début du cycle de formation", default=None)
    exams_end: IsoDate | None = _f("Date prévue de fin des épreuves ou examens", default=None)
    hours: int | None = _f("Durée de la formation (heures)", default=None, ge=0, le=10000)
    remote_hours: int | None = _f("dont durée de formation à distance (heures)", default=None, ge=0, le=10000)
    remote_at_least_80_percent: bool = _f("Formation à distance pour au moins 80 % de sa durée (calculé des "
                                          "heures quand elles sont données)", default=False)
    place: TrainingOrganisation | None = _f("Lieu principal de la formation, s'il est différent du CFA",
                                            default=None)


class Cerfa(Strict):
    """Le contrat d'apprentissage (CERFA FA13): the body of ``POST /v1/contracts`` and, with
    ``contract_id``, the data of ``contract.signed`` version 2."""
    employer: Employer = _f("L'EMPLOYEUR")
    apprentice: Apprentice = _f("L'APPRENTI(E)")
    masters: list[Master] = _f("LE MAÎTRE D'APPRENTISSAGE (un ou deux)", default_factory=list, max_length=2)
    contract: ContractSection = _f("LE CONTRAT")
    training: Training = _f("LA FORMATION")
    opco: Line | None = _f("OPCO qui finance le contrat (déduit de l'IDCC quand il n'est pas donné)", default=None,
                           max_length=20)


class SignedV2(Cerfa):
    """``contract.signed`` version 2."""
    contract_id: Line = _f("Identifiant Parcours du contrat")


# What a complete CERFA holds at signature (the form's mandatory boxes): dotted paths, a list
# index written ``[]`` (every master). Fields version 1 carried are required by the model itself.
REQUIRED_AT_SIGNATURE = (
    "employer.name", "employer.address.postal_code", "employer.address.town", "employer.employer_type",
    "employer.naf", "employer.headcount",
    "apprentice.birth_name", "apprentice.first_names", "apprentice.sex", "apprentice.birth_department",
    "apprentice.birth_town", "apprentice.nationality", "apprentice.social_scheme", "apprentice.address.postal_code",
    "apprentice.address.town", "apprentice.situation_before", "apprentice.last_diploma_prepared",
    "apprentice.last_class", "apprentice.highest_diploma",
    "masters[].birth_name", "masters[].first_names", "masters[].birth_date", "masters[].meets_requirements",
    "contract.weekly_hours", "contract.dangerous_machines",
    "training.cfa.name", "training.certification.title", "training.certification.level", "training.hours",
    "training.exams_end",
)


def missing_fields(document: dict[str, Any]) -> list[str]:
    """The mandatory boxes of ``document`` (a CERFA as JSON) left empty, as paths
    (``masters[0].birth_name``); no master at all is ``masters``, an empty pay schedule
    ``contract.pay``."""
    out = [p for path in REQUIRED_AT_SIGNATURE for p in _missing(document, path.split("."), "")]
    if not document.get("masters"):
        out.append("masters")
    if not (document.get("contract") or {}).get("pay"):
        out.append("contract.pay")
    return out


def _missing(value: Any, parts: list[str], at: str) -> list[str]:
    if not parts:
        return [at] if value is None or value == "" else []
    head, rest = parts[0], parts[1:]
    if not isinstance(value, dict):
        value = {}
    if head.endswith("[]"):
        items = value.get(head[:-2]) or []
        return [p for i, item in enumerate(items) for p in _missing(item, rest, f"{at}{head[:-2]}[{i}].")]
    return _missing(value.get(head), rest, f"{at}{head}." if rest else f"{at}{head}")
