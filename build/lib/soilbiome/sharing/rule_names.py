# ruff: noqa: E501  (a table of one-line texts)
"""Every sharing rule's short name and one-line meaning, for people who are not programmers.

The full rules (fields, severities) are in ``docs/sharing.md``; these lines are what
``soilbiome check`` and ``soilbiome verify`` print next to each rule id, passed rules included.
"""

from __future__ import annotations

#: rule id -> (name, one-line meaning in plain language)
RULES: dict[str, tuple[str, str]] = {
    # A. the agreement on its own
    "A1": ("Well-formed agreement", "The file follows the agreement schema and every licence is a valid SPDX licence."),
    "A2": ("Known use conditions", "Every DUO use condition is a real, current term of the DUO vocabulary."),
    "A3": ("One main permission", "Exactly one main DUO permission (e.g. general research use) is given."),
    "A4": ("Fits environmental data", "No human-health-only DUO condition is put on soil (environmental) data."),
    "A5": ("Open licence not contradicted", "An open licence (CC-BY, CC0 ...) is not combined with use restrictions it cannot carry."),
    "A6": ("Non-commercial stated twice", "A non-commercial licence is matched by DUO's 'non-commercial use only'."),
    "A7": ("Public archive deposit allowed", "Full deposit in INSDC (public archives) only for open, unrestricted data."),
    "A8": ("Valid Nagoya certificates", "Each IRCC (Nagoya certificate) number is well formed and from the provider country."),
    "A9": ("Nagoya permit present", "When Nagoya/ABS applies, a certificate (IRCC) or national permit is named."),
    "A10": ("Nagoya status known", "Samples collected after 2014-10-12 say whether Nagoya/ABS applies."),
    "A11": ("Non-commercial terms agree", "A non-commercial ABS permit matches the licence and the DUO terms."),
    "A12": ("Valid Local Contexts labels", "Local Contexts labels are real label codes and name their project."),
    "A13": ("Community-only labels respected", "Secret/sacred or community-use-only labels forbid passing the data on."),
    "A14": ("Non-commercial labels respected", "Non-commercial Local Contexts labels are matched by non-commercial terms."),
    "A15": ("Consent verified", "Labels saying consent is not verified are flagged for a person to review."),
    "A16": ("Agreement in force", "The agreement is active and has not expired."),
    "A17": ("Signing keys usable", "At least one trusted, valid signing key exists for every required signer."),
    # B. a data-use request against the agreement
    "B0": ("Request names this agreement", "The request is for this agreement and for datasets it covers."),
    "B1": ("Research purpose", "Data for general research use is requested for research."),
    "B2": ("Non-commercial use", "Data for non-commercial use is not requested for commercial use."),
    "B3": ("Non-profit users", "Data for non-profit use is not requested by a for-profit organisation."),
    "B4": ("Non-profit, non-commercial", "Both of the above, when the agreement asks for both."),
    "B5": ("Allowed countries", "The requester and every processing country are in the allowed regions."),
    "B6": ("Allowed institutions", "The requesting institution is one the agreement allows."),
    "B7": ("Allowed people", "The requesting person is one the agreement allows."),
    "B8": ("Allowed projects", "The request is for a project the agreement allows."),
    "B9": ("Within the time limit", "Access is still within the agreement's time limit."),
    "B10": ("Publication moratorium", "Planned publication is not before the moratorium ends."),
    "B11": ("Collaboration required", "A required collaborator takes part in the request."),
    "B12": ("Ethics approval", "An ethics approval is given when the agreement requires one."),
    "B13": ("No methods development", "The data is not used for methods development when that is excluded."),
    "B14": ("Duties accepted", "The requester accepts every duty of the agreement (attribution, return ...)."),
    "B15": ("Embargo", "During an embargo only the named parties get access."),
    "B16": ("Allowed kinds of organisation", "The requester's kind of organisation is allowed."),
    "B17": ("Nagoya commercial use", "Commercial use of non-commercial Nagoya material needs new permits."),
    "B18": ("Passing on to third parties", "A requester outside the agreement may receive the data only if transfer is allowed."),
    "B19": ("Needs a person", "Some rules could not be decided from the request: a person must decide."),
    # C. merging stamped tables
    "C1": ("Combined licence", "The merged table carries every input's licence obligations."),
    "C2": ("Non-commercial spreads", "If any input is non-commercial, the merged table is non-commercial."),
    "C3": ("No-derivatives inputs", "An input that forbids derivatives may not be merged and shared."),
    "C4": ("Share-alike conflicts", "Inputs with different share-alike licences cannot be merged."),
    "C5": ("Share-alike spreads", "If an input is share-alike, the merged table keeps that licence."),
    "C6": ("CDLA results", "The CDLA 'results' exemption applies only when every input is CDLA."),
    "C7": ("Common permitted use", "The inputs' DUO permissions leave a use the merged table may serve."),
    "C8": ("Use conditions combined", "Every input's DUO conditions apply to the merged table."),
    "C9": ("Common countries", "At least one country is allowed by every input."),
    "C10": ("Common users and projects", "At least one person/institution/project is allowed by every input."),
    "C11": ("Latest dates apply", "The latest moratorium and embargo and the shortest time limit apply."),
    "C12": ("Nagoya terms combined", "Every input's Nagoya permits and restrictions apply to the merged table."),
    "C13": ("Community labels combined", "Local Contexts labels of every input apply; community-only labels block sharing."),
    "C14": ("Credit to every provider", "The merged table credits every provider."),
    "C15": ("Per-sample origin kept", "Every sample keeps its provider country (and Nagoya certificate)."),
    # D. a stamped table
    "D1": ("Stamp present", "The table still carries its licence stamp."),
    "D2": ("Signature valid", "The stamp is signed by a trusted key of every required signer."),
    "D3": ("Table unchanged", "The table is byte for byte the one that was signed."),
    "D4": ("Stamp unchanged", "The terms inside the table are exactly the signed terms."),
    "D5": ("Same agreement", "The table was stamped under this very agreement file."),
    "D6": ("Samples covered", "Every sample in the table is covered by the agreement."),
    "D7": ("Run record matches", "The run's RO-Crate carries the same licence and the table's checksum."),
    "D8": ("Sample metadata complete", "The samples have the metadata public archives (ENA) require."),
    "D9": ("Made by that run", "The run named in the stamp is the run recorded in the RO-Crate."),
    "D10": ("Tree unchanged", "The table's phylogenetic tree is the signed one: not edited, not lost by re-saving, not added later."),
    # GBIF release (soilbiome export gbif)
    "G1": ("Stamp verifies", "The table's licence stamp verifies before anything is published."),
    "G2": ("GBIF licence", "The licence is one GBIF accepts (CC0, CC-BY 4.0, CC-BY-NC 4.0)."),
    "G3": ("No embargo now", "No embargo or moratorium forbids publishing today, and the agreement is in force."),
    "G4": ("Open to anyone", "Nothing limits who may use the data or where (GBIF serves everyone)."),
    "G5": ("Nagoya allows release", "Nagoya/ABS terms allow passing the data on to the public."),
    "G6": ("No community restriction", "No Local Contexts label forbids publication."),
}


def rule_name(rule: str) -> str:
    """Short name of ``rule`` ("" if unknown)."""
    return RULES.get(rule, ("", ""))[0]


def rule_meaning(rule: str) -> str:
    """One-line meaning of ``rule`` ("" if unknown)."""
    return RULES.get(rule, ("", ""))[1]
