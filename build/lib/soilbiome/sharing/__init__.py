"""Sharing agreements, signed licence stamps and the steward's checker.

Library API (the CLI in :mod:`soilbiome.cli.sharing` is a thin layer over it):

- :func:`load_agreement` -- load and validate an agreement YAML (raises with field paths)
- :func:`check_agreement` -- rules A1..A17
- :func:`check_request` -- rules B0..B19 for a data-use request
- :func:`check_merge` / :func:`combine_terms` -- rules C1..C15 for merged inputs
- :func:`stamp_biom` / :func:`verify_biom` -- write a stamp; rules D1..D10
- :func:`generate_key` -- Ed25519 key pair for signing stamps
- :func:`plain_statement` -- what the recipient may do under given :class:`Terms`
"""

from soilbiome.sharing.agreement import Agreement, load_agreement, load_request
from soilbiome.sharing.errors import (
    AgreementError,
    RequestError,
    SharingError,
    SigningKeyError,
    StampError,
)
from soilbiome.sharing.findings import Finding, Report, Severity, Status
from soilbiome.sharing.keys import KeyInfo, generate_key, rewrite_trusted_keys
from soilbiome.sharing.merge import combine_terms
from soilbiome.sharing.merge_check import check_merge
from soilbiome.sharing.rules_agreement import check_agreement
from soilbiome.sharing.rules_request import check_request
from soilbiome.sharing.stamp import StampResult, stamp_biom
from soilbiome.sharing.stamp_format import read_biom_info
from soilbiome.sharing.terms import MergeResult, Terms
from soilbiome.sharing.verdict import plain_statement
from soilbiome.sharing.verify import verify_biom, verify_report

__all__ = [
    "Agreement",
    "AgreementError",
    "Finding",
    "KeyInfo",
    "MergeResult",
    "Report",
    "RequestError",
    "Severity",
    "Status",
    "SharingError",
    "SigningKeyError",
    "StampError",
    "StampResult",
    "Terms",
    "check_agreement",
    "check_merge",
    "check_request",
    "combine_terms",
    "generate_key",
    "load_agreement",
    "load_request",
    "plain_statement",
    "read_biom_info",
    "rewrite_trusted_keys",
    "stamp_biom",
    "verify_biom",
    "verify_report",
]
