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

# Each name is imported from its module on first use (PEP 562), so that a command which needs
# only the agreement reader (the start-up check) does not load the BIOM reader, pandas and h5py
# that the stamp and merge checks need.
_HOME = {
    "Agreement": "agreement", "load_agreement": "agreement", "load_request": "agreement",
    "AgreementError": "errors", "RequestError": "errors", "SharingError": "errors",
    "SigningKeyError": "errors", "StampError": "errors",
    "Finding": "findings", "Report": "findings", "Severity": "findings", "Status": "findings",
    "KeyInfo": "keys", "generate_key": "keys", "rewrite_trusted_keys": "keys",
    "combine_terms": "merge", "check_merge": "merge_check",
    "check_agreement": "rules_agreement", "check_request": "rules_request",
    "StampResult": "stamp", "stamp_biom": "stamp", "read_biom_info": "stamp_format",
    "MergeResult": "terms", "Terms": "terms", "plain_statement": "verdict",
    "verify_biom": "verify", "verify_report": "verify",
}


def __getattr__(name: str):  # noqa: ANN202 - PEP 562 module attribute hook
    if name not in _HOME:
        raise AttributeError(f"module 'soilbiome.sharing' has no attribute '{name}'")
    from importlib import import_module

    value = getattr(import_module(f"soilbiome.sharing.{_HOME[name]}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_HOME)  # every name above, and only those
