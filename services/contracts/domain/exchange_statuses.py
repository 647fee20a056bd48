"""Every mapping of our lifecycle statuses to the statuses the field exchanges (docs/deca.md), in
one place: DECA's contract status (``detailsContrat.statut``) and AGECAP's dossier status. Pure.

Our side: the contracts service's statuses (domain/state.py ``ContractState.status``: signed,
transmitted, accepted, refused, deposited, ruptured, completed, cancelled) and ``amended``, which
is not a status but a contract carrying at least one ``contract.amended`` (``amendments`` > 0).

**DECA** (the register of private-sector apprenticeship contracts the OPCOs deposit into) lists
a contract once it is deposited. Its ``detailsContrat.statut`` is one of ``Annulé``, ``Corrigé``,
``Rompu``, ``Supprimé``, or empty for a contract in force. Where that comes from: no public
specification of DECA's API was found; the shape and the four values are those of the
``ApiDeca`` type of mission-apprentissage/flux-retour-cfas (shared/models/apis/@types/ApiDeca.d.ts,
read at commit 12cb59e9), whose ``Statut`` enum also has ``""`` (in force). Read there too: the
contract's ``rupture.dateEffetRupture``, ``detailsContrat.noAvenant`` (a string) and
``dateEffetAvenant``, ``employeur.codeIdcc``.

**AGECAP** (the dossier platform a CFA or an employer transmits the CERFA through to the OPCO)
answers a dossier's status among ``Transmis au gestionnaire``, ``En cours d'instruction``,
``Non déposable``, ``Déposé``, with the deposit number (``numDepot``) and the avenant number
(``numAvenant``). Where that comes from: the status job of mission-apprentissage/cerfa (CELIA),
server/src/jobs/statutsAgecap/lookupAgecapStatusChanged.js at commit 1441717f, which maps them
to its own TRANSMIS, EN_COURS_INSTRUCTION, REFUSE and DEPOSE.

Where the public documentation is silent (each row's ``note`` says which choice is ours):

- what ``Corrigé`` means in DECA: we read it as "in force, its data corrected" (an avenant or an
  OPCO's correction), never as a disagreement, and never emit it;
- what ``Supprimé`` means beside ``Annulé``: we read both as "this contract does not stand"
  (our ``cancelled``);
- whether DECA marks a contract that reached its end (ours ``completed``): no value for it is
  known, so a completed contract is expected in force (empty statut);
- whether a contract refused by its OPCO, or not yet deposited, ever appears in DECA: we expect
  it absent (DECA is the register of deposited contracts);
- when AGECAP moves a dossier from ``Transmis au gestionnaire`` to ``En cours d'instruction``:
  we say ``En cours d'instruction`` once the OPCO has acted (a notified extension, or its
  acceptance before the deposit);
- AGECAP's statuses after ``Déposé``: none is published; a ruptured, completed or cancelled
  contract has no AGECAP status here (None), its dossier stays at what it last was;
- how AGECAP shows an avenant: it carries ``numAvenant`` on the same statuses, so an amended
  contract takes the status of its avenant's path (transmitted again, then deposited again).
"""
from __future__ import annotations

from dataclasses import dataclass

# DECA's detailsContrat.statut values; None (or "") is a contract in force.
ANNULE, CORRIGE, ROMPU, SUPPRIME = "Annulé", "Corrigé", "Rompu", "Supprimé"
DECA_STATUSES = (ANNULE, CORRIGE, ROMPU, SUPPRIME)
IN_FORCE: str | None = None

# AGECAP's dossier statuses.
TRANSMIS, EN_INSTRUCTION, NON_DEPOSABLE, DEPOSE = (
    "Transmis au gestionnaire", "En cours d'instruction", "Non déposable", "Déposé")
AGECAP_STATUSES = (TRANSMIS, EN_INSTRUCTION, NON_DEPOSABLE, DEPOSE)

LIFECYCLE = ("signed", "transmitted", "accepted", "refused", "deposited", "ruptured", "completed",
             "cancelled", "amended")

_FLUX = "mission-apprentissage/flux-retour-cfas ApiDeca.d.ts (Statut enum, Rupture)"
_CELIA = "mission-apprentissage/cerfa lookupAgecapStatusChanged.js (STATUS_AGECAP)"


@dataclass(frozen=True)
class StatusMapping:
    """One of our statuses and what DECA and AGECAP show for it.

    ``in_deca``: whether DECA lists such a contract; ``deca``: the statut expected then (None: in
    force); ``deca_also``: statuts DECA may show for it without disagreeing; ``agecap``: the
    dossier's AGECAP status (None: none applies)."""
    lifecycle: str
    in_deca: bool
    deca: str | None
    deca_also: tuple[str, ...]
    agecap: str | None
    source: str
    note: str


MAPPINGS: tuple[StatusMapping, ...] = (
    StatusMapping("signed", False, None, (), None, _CELIA,
                  "Signed, not yet transmitted: no AGECAP dossier yet, nothing in DECA."),
    StatusMapping("transmitted", False, None, (), TRANSMIS, _CELIA,
                  f"'{EN_INSTRUCTION}' once the OPCO notified an extension of its instruction (our choice: "
                  "the public documentation does not say when AGECAP moves a dossier there)."),
    StatusMapping("accepted", False, None, (), EN_INSTRUCTION, _CELIA,
                  "Funding accepted, not yet deposited: still under instruction (our reading)."),
    StatusMapping("refused", False, None, (), NON_DEPOSABLE, _CELIA,
                  "CELIA maps 'Non déposable' to its REFUSE. Never deposited, so absent from DECA (our reading)."),
    StatusMapping("deposited", True, IN_FORCE, (CORRIGE,), DEPOSE, f"{_FLUX}; {_CELIA}",
                  "In force: an empty statut. 'Corrigé' is undocumented; read as in force."),
    StatusMapping("ruptured", True, ROMPU, (), None, _FLUX,
                  "DECA has statut 'Rompu' and rupture.dateEffetRupture (our ruptured_on). AGECAP: no "
                  "status after 'Déposé' is published."),
    StatusMapping("completed", True, IN_FORCE, (CORRIGE,), None, _FLUX,
                  "No DECA value for a contract that reached its end is known: expected in force "
                  "(public documentation silent)."),
    StatusMapping("cancelled", True, ANNULE, (SUPPRIME,), None, _FLUX,
                  "Cancelled before execution. 'Supprimé' is undocumented; read like 'Annulé'. A contract "
                  "cancelled before its deposit is absent from DECA."),
    StatusMapping("amended", True, IN_FORCE, (CORRIGE,), DEPOSE, f"{_FLUX}; {_CELIA}",
                  "detailsContrat.noAvenant counts the avenants (our amendments); dateEffetAvenant is the "
                  "last one's effective date. AGECAP: the avenant's own path (transmitted, then deposited "
                  "again; numAvenant)."),
)
BY_LIFECYCLE = {m.lifecycle: m for m in MAPPINGS}

# The reverse reading: what a DECA statut says of the contract, on our side.
DECA_MEANS: dict[str | None, str] = {
    None: "in force (deposited, amended or completed)",
    CORRIGE: "in force, its data corrected (undocumented; our reading)",
    ROMPU: "ruptured",
    ANNULE: "cancelled",
    SUPPRIME: "cancelled (undocumented; read like Annulé)",
}
DECA_RUPTURED = frozenset({ROMPU})
DECA_CANCELLED = frozenset({ANNULE, SUPPRIME})

# AGECAP's status -> the statuses of ours it agrees with.
AGECAP_MEANS: dict[str, tuple[str, ...]] = {
    TRANSMIS: ("transmitted",),
    EN_INSTRUCTION: ("transmitted", "accepted"),
    NON_DEPOSABLE: ("refused",),
    DEPOSE: ("deposited",),
}


def deca_status(status: str) -> str | None:
    """The DECA statut a contract in our ``status`` is expected to carry (None: in force, or
    not in DECA at all; ``in_deca`` tells them apart)."""
    return BY_LIFECYCLE[status].deca


def in_deca(status: str, deposited: bool) -> bool:
    """Whether DECA should list the contract: it was deposited (a deposit number), whatever
    happened after, and its status is one DECA lists."""
    return deposited and BY_LIFECYCLE[status].in_deca


def deca_agrees(status: str, statut: str | None) -> bool:
    """Whether DECA's ``statut`` fits our ``status`` (the expected one or a tolerated one)."""
    m = BY_LIFECYCLE[status]
    return statut == m.deca or statut in m.deca_also


def agecap_status(status: str, amendments: int = 0, needs_deposit: bool = False,
                  instruction_extended: bool = False) -> str | None:
    """The AGECAP dossier status for a contract of ours. An amended, deposited contract whose
    avenant was transmitted and awaits its deposit again is ``Transmis au gestionnaire``."""
    if status == "transmitted" and instruction_extended:
        return EN_INSTRUCTION
    if status == "deposited" and amendments and needs_deposit:
        return TRANSMIS
    return BY_LIFECYCLE[status].agecap
