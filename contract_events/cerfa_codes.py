"""The code lists of the CERFA FA13 (contrat d'apprentissage, cerfa n° 10103*13) as its notice
(FA14, n° 51649#08, published January 2025) defines them: each list maps the code, as a string
written exactly as on the form ("01", not "1"), to its French label.

Sources, read and cross-checked, not copied: the lists of mission-apprentissage/cerfa (2022, the
State's CERFA web form for revisions up to 10103*10) and mission-apprentissage/contrat (2024,
10103*11 and *12); for what revision *13 changed (employer type 30, contract type 38, the new
diploma nomenclature), several independent 2025 implementations that cite the *13 notice. Where
the sources disagree, the *13 notice wins and a comment says what the older lists had.

``label(codes, code)`` gives the label to print next to a code, or the code itself when the list
does not know it.
"""
from __future__ import annotations

# Type d'employeur. Private 11-16, public 21-30.
EMPLOYER_TYPES: dict[str, str] = {
    # Employeur privé
    "11": "Entreprise inscrite au répertoire des métiers ou au registre des entreprises pour "
          "l'Alsace-Moselle",
    "12": "Entreprise inscrite uniquement au registre du commerce et des sociétés",
    "13": "Entreprises dont les salariés relèvent de la mutualité sociale agricole",
    "14": "Profession libérale",
    "15": "Association",
    "16": "Autre employeur privé",
    # Employeur public
    "21": "Service de l'État (administrations centrales et leurs services déconcentrés de la "
          "fonction publique d'État)",
    "22": "Commune",
    "23": "Département",
    "24": "Région",
    "25": "Établissement public hospitalier",
    "26": "Établissement public local d'enseignement",
    "27": "Établissement public administratif de l'État",
    "28": "Établissement public administratif local (y compris établissement public de "
          "coopération intercommunale EPCI)",
    "29": "Autre employeur public",
    # Added by the recent revisions (absent from the mission-apprentissage lists, which stop
    # at 29): the EPIC, a public employer.
    "30": "Établissement public industriel et commercial",
}

PUBLIC_EMPLOYER_TYPES: frozenset[str] = frozenset({"21", "22", "23", "24", "25", "26", "27", "28", "29", "30"})

# Employeur spécifique.
SPECIFIC_EMPLOYERS: dict[str, str] = {
    "1": "Entreprise de travail temporaire",
    "2": "Groupement d'employeurs",
    "3": "Employeur saisonnier",
    "4": "Apprentissage familial : l'employeur est un ascendant de l'apprenti",
    "0": "Aucun de ces cas",
}

# Type de contrat ou d'avenant.
CONTRACT_TYPES: dict[str, str] = {
    # Contrat initial
    "11": "Premier contrat d'apprentissage de l'apprenti",
    # Succession de contrats
    "21": "Nouveau contrat avec un apprenti qui a terminé son précédent contrat auprès d'un même "
          "employeur",
    "22": "Nouveau contrat avec un apprenti qui a terminé son précédent contrat auprès d'un autre "
          "employeur",
    # mission-apprentissage (up to *12): "... dont le précédent contrat auprès d'un autre
    # employeur a été rompu"; the *13 wording no longer names the employer.
    "23": "Nouveau contrat avec un apprenti dont le précédent contrat a été rompu",
    # Avenant : modification des conditions du contrat
    "31": "Modification de la situation juridique de l'employeur",
    "32": "Changement d'employeur dans le cadre d'un contrat saisonnier",
    "33": "Prolongation du contrat suite à un échec à l'examen de l'apprenti",
    "34": "Prolongation du contrat suite à la reconnaissance de l'apprenti comme travailleur "
          "handicapé",
    # Up to *12: "Modification du diplôme préparé par l'apprenti".
    "35": "Diplôme supplémentaire préparé par l'apprenti dans le cadre de l'article L. 6222-22-1 "
          "du code du travail",
    "36": "Autres changements : changement de maître d'apprentissage, de durée de travail "
          "hebdomadaire, réduction de durée, etc.",
    "37": "Modification du lieu d'exécution du contrat",
    # Since 10103*11 (absent from mission-apprentissage/cerfa, present in mission-apprentissage/contrat).
    "38": "Modification du lieu principal de réalisation de la formation théorique",
}

# Type de dérogation (to fill only when a derogation applies).
DEROGATIONS: dict[str, str] = {
    "11": "Âge de l'apprenti inférieur à 16 ans",
    "12": "Âge supérieur à 29 ans : cas spécifiques prévus dans le code du travail",
    "21": "Réduction de la durée du contrat ou de la période d'apprentissage",
    "22": "Allongement de la durée du contrat ou de la période d'apprentissage",
    "50": "Cumul de dérogations",
    "60": "Autre dérogation",
}

# Situation avant ce contrat.
SITUATIONS_BEFORE: dict[str, str] = {
    "1": "Scolaire",
    "2": "Prépa apprentissage",
    "3": "Étudiant",
    "4": "Contrat d'apprentissage",
    "5": "Contrat de professionnalisation",
    "6": "Contrat aidé",
    "7": "En formation au CFA sous statut de stagiaire de la formation professionnelle, avant "
         "signature d'un contrat d'apprentissage (L6222-12-1 du code du travail)",
    "8": "En formation, au CFA sans contrat sous statut de stagiaire de la formation "
         "professionnelle, suite à rupture (5° de L6231-2 du code du travail)",
    "9": "Autres situations sous statut de stagiaire de la formation professionnelle",
    "10": "Salarié",
    # Pôle emploi in the lists before 2024 (renamed France Travail on 1 January 2024).
    "11": "Personne à la recherche d'un emploi (inscrite ou non à France Travail)",
    "12": "Inactif",
}

# Diplômes et titres de l'apprenti: the list of "Dernier diplôme ou titre préparé", of "Diplôme ou
# titre le plus élevé obtenu" and of the diploma aimed at. The *13 notice's nomenclature; the
# older lists (up to *12) differ, see RETIRED_DIPLOMAS.
DIPLOMAS: dict[str, str] = {
    # Diplôme ou titre de niveau bac +5 et plus
    "80": "Doctorat",
    "73": "Master",
    "75": "Diplôme d'ingénieur",
    "76": "Diplôme d'école de commerce",
    "79": "Autre diplôme ou titre de niveau bac+5 ou plus",
    # Diplôme ou titre de niveau bac +3 et 4
    "62": "Licence professionnelle",
    "63": "Licence générale",
    "64": "Bachelor universitaire de technologie (BUT)",
    "69": "Autre diplôme ou titre de niveau bac+3 ou 4",
    # Diplôme ou titre de niveau bac +2
    "54": "Brevet de technicien supérieur (BTS)",
    "55": "Diplôme universitaire de technologie (DUT)",
    "58": "Autre diplôme ou titre de niveau bac+2",
    # Diplôme ou titre de niveau bac
    "41": "Baccalauréat professionnel",
    "42": "Baccalauréat général",
    "43": "Baccalauréat technologique",
    "44": "Diplôme de spécialisation professionnelle",
    "49": "Autre diplôme ou titre de niveau bac",
    # Diplôme ou titre de niveau CAP/BEP
    "33": "CAP",
    "34": "BEP",
    "35": "Certificat de spécialisation (ex-mention complémentaire)",   # "Mention complémentaire" up to *12
    "38": "Autre diplôme ou titre de niveau CAP/BEP",
    # Aucun diplôme ni titre
    "25": "Diplôme national du brevet",
    "26": "Certificat de formation générale",
    "13": "Aucun diplôme ni titre professionnel",
}

# Codes of the diploma list up to 10103*12 that the *13 notice no longer has: not accepted on a
# new contract, kept only to label a contract written on an older revision.
RETIRED_DIPLOMAS: dict[str, str] = {
    "71": "Master professionnel/DESS",
    "72": "Master recherche/DEA",
    "74": "Diplôme d'ingénieur, diplôme d'école de commerce",
    "61": "1ère année de Master",
}

# Dernière classe / année suivie.
LAST_CLASSES: dict[str, str] = {
    "01": "L'apprenti a suivi la dernière année du cycle de formation et a obtenu le diplôme ou titre",
    "11": "L'apprenti a suivi la 1ère année du cycle et l'a validée (examens réussis mais année non "
          "diplômante)",
    "12": "L'apprenti a suivi la 1ère année du cycle mais ne l'a pas validée (échec aux examens, "
          "interruption ou abandon de formation)",
    "21": "L'apprenti a suivi la 2e année du cycle et l'a validée (examens réussis mais année non "
          "diplômante)",
    "22": "L'apprenti a suivi la 2e année du cycle mais ne l'a pas validée (échec aux examens, "
          "interruption ou abandon de formation)",
    "31": "L'apprenti a suivi la 3e année du cycle et l'a validée (examens réussis mais année non "
          "diplômante, cycles adaptés)",
    "32": "L'apprenti a suivi la 3e année du cycle mais ne l'a pas validée (échec aux examens, "
          "interruption ou abandon de formation)",
    "40": "L'apprenti a achevé le 1er cycle de l'enseignement secondaire (collège)",
    "41": "L'apprenti a interrompu ses études en classe de 3e",
    "42": "L'apprenti a interrompu ses études en classe de 4e",
}

# Nationalité.
NATIONALITIES: dict[str, str] = {
    "1": "Française",
    "2": "Union Européenne",
    "3": "Étranger hors Union Européenne",
}

# Régime social.
SOCIAL_SCHEMES: dict[str, str] = {
    "1": "MSA",
    "2": "URSSAF",
}

# Sexe (the form's boxes M and F).
SEXES: dict[str, str] = {
    "M": "Masculin",
    "F": "Féminin",
}

# Niveau de la certification / du diplôme ou titre le plus élevé obtenu: the levels of the
# national (European) framework of certifications. For the master's highest diploma the notice
# also has "0" (aucun diplôme ou titre); levels 1 and 2 have no certification.
DIPLOMA_LEVELS: dict[str, str] = {
    "3": "CAP, BEP",
    "4": "Baccalauréat",
    "5": "DEUG, BTS, DUT, DEUST",
    "6": "Licence, licence professionnelle, BUT, maîtrise",
    "7": "Master, diplôme d'études approfondies, diplôme d'études supérieures spécialisées, "
         "diplôme d'ingénieur",
    "8": "Doctorat, habilitation à diriger des recherches",
}

# Base of each pay line: a percentage of the SMIC or of the SMC.
PAY_BASES: dict[str, str] = {
    "SMIC": "Salaire minimum de croissance",
    "SMC": "Salaire minimum conventionnel",
}


def label(codes: dict[str, str], code: str | None) -> str:
    """The label of ``code`` in ``codes``; the code itself when the list does not know it, and ""
    for None."""
    if code is None:
        return ""
    return codes.get(code, code)
