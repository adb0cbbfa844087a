"""SPDX licence expressions: parsing, normalisation and the properties the rules need.

``license-expression`` parses SPDX ids and expressions but rejects ``LicenseRef-`` symbols, so
those are accepted separately when they match ``LicenseRef-[A-Za-z0-9.-]+``. Licence
properties (non-commercial, no-derivatives, share-alike, open) are derived from the SPDX id
families used for data (Creative Commons, Open Data Commons, CDLA). This states rules; it is
not legal advice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from license_expression import (
    AND,
    OR,
    ExpressionError,
    LicenseSymbol,
    LicenseWithExceptionSymbol,
    Licensing,
    get_spdx_licensing,
)

LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")

#: Open public licences for data that cannot carry extra use restrictions (rule A5).
_OPEN_EXACT = {"CC0-1.0", "PDDL-1.0", "ODC-By-1.0", "ODbL-1.0", "CC-PDDC"}
_OPEN_PREFIX = ("CC-BY-", "CDLA-")


class LicenceError(ValueError):
    """An expression is not a valid SPDX expression (message names the bad symbol)."""


@lru_cache(maxsize=1)
def _spdx() -> Licensing:
    return get_spdx_licensing()


_PLAIN = Licensing()


@dataclass(frozen=True)
class Licence:
    """A parsed licence expression.

    Attributes
    ----------
    expression : str
        Normalised expression (SPDX case, ``LicenseRef-`` kept verbatim).
    symbols : tuple of str
        Every licence id in the expression, in order of appearance.
    """

    expression: str
    symbols: tuple[str, ...]
    _tree: object

    # Properties evaluated over the expression: AND needs every operand, OR needs one.
    def _eval(self, pred, node=None) -> bool:  # noqa: ANN001 - internal
        node = self._tree if node is None else node
        if isinstance(node, AND):
            return all(self._eval(pred, a) for a in node.args)
        if isinstance(node, OR):
            return any(self._eval(pred, a) for a in node.args)
        return pred(_key(node))

    @property
    def is_license_ref(self) -> bool:
        """True when any symbol is a ``LicenseRef-``."""
        return any(LICENSE_REF.match(s) for s in self.symbols)

    @property
    def is_open(self) -> bool:
        """True when every way to satisfy the expression is an open public data licence."""
        return self._eval(is_open_id)

    @property
    def has_nc(self) -> bool:
        """True when the expression contains any non-commercial (``-NC``) licence."""
        return any(is_nc_id(s) for s in self.symbols)

    @property
    def has_nd(self) -> bool:
        """True when the expression contains any no-derivatives (``-ND``) licence."""
        return any(is_nd_id(s) for s in self.symbols)

    @property
    def allows_commercial(self) -> bool:
        """True when the licence is known to allow commercial use (an open licence).

        ``LicenseRef-`` terms are not known to allow it, so they return False.
        """
        return self._eval(is_open_id)

    def __str__(self) -> str:
        return self.expression


def _key(node) -> str:  # noqa: ANN001
    if isinstance(node, LicenseWithExceptionSymbol):
        return node.license_symbol.key
    return node.key


def is_open_id(key: str) -> bool:
    """True for open public data licences: CC0, PDDL, CC-BY, CC-BY-SA, ODC-By, ODbL, CDLA-*.

    Non-commercial and no-derivatives variants (``CC-BY-NC-*``, ``CC-BY-ND-*``) are not open.
    """
    if is_nc_id(key) or is_nd_id(key):
        return False
    return key in _OPEN_EXACT or key.startswith(_OPEN_PREFIX)


def is_nc_id(key: str) -> bool:
    """True for non-commercial licences (``CC-BY-NC-4.0`` ...)."""
    return "-NC" in key and not LICENSE_REF.match(key)


def is_nd_id(key: str) -> bool:
    """True for no-derivatives licences (``CC-BY-ND-4.0``, ``CC-BY-NC-ND-4.0`` ...)."""
    return "-ND" in key and not LICENSE_REF.match(key)


def is_sa_id(key: str) -> bool:
    """True for share-alike data licences (``CC-BY-SA-4.0``, ``ODbL-1.0``, CDLA-Sharing)."""
    return "-SA" in key or key == "ODbL-1.0" or key.startswith("CDLA-Sharing")


def parse(expression: str) -> Licence:
    """Parse and normalise an SPDX expression, accepting ``LicenseRef-`` symbols.

    Parameters
    ----------
    expression : str
        E.g. ``"CC-BY-4.0"``, ``"CC-BY-NC-4.0 AND LicenseRef-PilotDSA-1.0"``.

    Returns
    -------
    Licence

    Raises
    ------
    LicenceError
        When the expression does not parse or names an id that is neither on the SPDX licence
        list nor a ``LicenseRef-``.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise LicenceError("empty licence expression")
    if "LicenseRef-" not in expression:
        try:
            info = _spdx().validate(expression, strict=True)
        except Exception:  # license-expression can fail inside validate() itself
            info = None
        if info is not None and not info.errors and info.normalized_expression:
            tree = _spdx().parse(info.normalized_expression)
            return Licence(str(tree), tuple(dict.fromkeys(_walk_keys(tree))), tree)
    try:
        tree = _PLAIN.parse(expression, strict=True)
    except ExpressionError as exc:
        raise LicenceError(f"not an SPDX expression: {exc}") from None
    if tree is None:
        raise LicenceError("empty licence expression")
    normal: dict[str, str] = {}
    unknown: list[str] = []
    for sym in _PLAIN.license_symbols(tree, unique=True, decompose=True):
        key = sym.key
        if LICENSE_REF.match(key):
            normal[key] = key
            continue
        info = _spdx().validate(key)
        if info.errors or not info.normalized_expression:
            unknown.append(key)
        else:
            normal[key] = info.normalized_expression
    if unknown:
        raise LicenceError(
            "unknown SPDX licence id(s) "
            + ", ".join(repr(u) for u in unknown)
            + " (use an id from https://spdx.org/licenses/ or LicenseRef-<name>)"
        )
    rendered, tree2 = _render(tree, normal)
    symbols = tuple(dict.fromkeys(_walk_keys(tree2)))
    return Licence(rendered, symbols, tree2)


def _render(node, normal: dict[str, str]):  # noqa: ANN001, ANN202
    """Return (text, tree-with-normalised-symbols)."""
    if isinstance(node, (AND, OR)):
        parts = []
        args = []
        for a in node.args:
            text, sub = _render(a, normal)
            if isinstance(a, (AND, OR)) and type(a) is not type(node):
                text = f"({text})"
            parts.append(text)
            args.append(sub)
        op = " AND " if isinstance(node, AND) else " OR "
        return op.join(parts), type(node)(*args)
    if isinstance(node, LicenseWithExceptionSymbol):
        key = normal.get(node.license_symbol.key, node.license_symbol.key)
        sym = LicenseWithExceptionSymbol(LicenseSymbol(key), node.exception_symbol)
        return f"{key} WITH {node.exception_symbol.key}", sym
    key = normal.get(node.key, node.key)
    return key, LicenseSymbol(key)


def _walk_keys(node):  # noqa: ANN001, ANN202
    if isinstance(node, (AND, OR)):
        for a in node.args:
            yield from _walk_keys(a)
    else:
        yield _key(node)


def combine_and(expressions: list[str]) -> Licence:
    """Join expressions with ``AND`` (deduplicated, order kept) and parse the result (rule C1)."""
    seen: list[str] = []
    for e in expressions:
        lic = parse(e)
        text = lic.expression if len(lic.symbols) == 1 else f"({lic.expression})"
        if text not in seen:
            seen.append(text)
    return parse(" AND ".join(seen))
