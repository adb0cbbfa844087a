"""MIxS soil-package measurements: definitions, validation of samplesheet values, typed values.

The samplesheet may carry these optional columns (MIxS 6/7 ``MimarksSSoil`` / ``MimsSoil`` soil
package; ENA checklist ERC000022). Each value is checked where the sheet is read and stored in
the BIOM as a typed column: numbers as float64 in one canonical unit, categories as text.

===================  =======================================  ==========================
column               accepted values                          stored as
===================  =======================================  ==========================
``ph``               a number 0-14, no unit                   float
``tot_org_carb``     ``<number> <unit>``; g/kg, mg/g, %       float, g/kg
``tot_nitro``        ``<number> <unit>``; g/kg, mg/g, mg/kg,  float, g/kg
                     %
``water_content``    ``<number> <unit>``; g/g, % w/w          float, g/g (gravimetric)
                     (gravimetric) or cm3/cm3, m3/m3, % v/v   or cm3/cm3 (volumetric)
                     (volumetric); one basis per sheet
``cur_land_use``     a MIxS ``cur_land_use`` term             text (MIxS term)
``soil_type``        ``term label [ENVO:00000000]``           text
``texture``          ``<s>% sand, <si>% silt, <c>% clay``     text + float ``sand``,
                     (sum 100 +- 1) and/or a USDA textural    ``silt``, ``clay`` (%)
                     class (``silty clay loam``)
===================  =======================================  ==========================

An empty cell or an INSDC missing-value term (``not collected`` ...) is a missing value: NaN
for numbers, ``""`` for text. Statistics leave a sample out of the tests of a variable it lacks
and say so (:mod:`soilbiome.soil`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from soilbiome.errors import InputError

#: BIOM root attribute: JSON ``{column: canonical unit}`` of the typed soil sample metadata.
SAMPLE_UNITS_ATTR = "soilbiome:sample-units"

#: INSDC terms for values missing for a stated reason (kept in sync with the samplesheet).
_MISSING = frozenset(
    {
        "missing", "not applicable", "not collected", "not provided", "restricted access",
        "missing: control sample", "missing: sample group", "missing: synthetic construct",
        "missing: lab stock", "missing: third party data",
        "missing: data agreement established pre-2023", "missing: endangered species",
        "missing: human-identifiable",
    }
)

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*(.*?)\s*$")
_ENVO_TERM = re.compile(r"^\S.*\S \[[A-Za-z]{2,}:\d+\]$")
_FRACTION = re.compile(rf"({_NUMBER})\s*%\s*(sand|silt|clay)", re.IGNORECASE)

#: USDA soil textural classes (Soil Survey Manual, ch. 3).
USDA_TEXTURE_CLASSES: tuple[str, ...] = (
    "sand", "loamy sand", "sandy loam", "loam", "silt loam", "silt", "sandy clay loam",
    "clay loam", "silty clay loam", "sandy clay", "silty clay", "clay",
)

#: MIxS ``cur_land_use`` terms (the part before any parenthesised examples).
CUR_LAND_USE_TERMS: tuple[str, ...] = (
    "cities", "farmstead", "industrial areas", "roads/railroads", "rock", "sand", "gravel",
    "mudflats", "salt flats", "badlands", "permanent snow or ice", "saline seeps",
    "mines/quarries", "oil waste areas", "small grains", "row crops", "vegetable crops",
    "horticultural plants", "marshlands", "tundra", "rangeland", "pastureland", "hayland",
    "meadows", "shrub land", "successional shrub land", "shrub crops", "vine crops",
    "conifers", "hardwoods", "intermixed hardwood and conifers", "tropical", "rainforest",
    "swamp", "crop trees",
)


@dataclass(frozen=True)
class SoilField:
    """One optional soil measurement column of the samplesheet.

    Attributes
    ----------
    name : str
        Column name (MIxS slot name).
    description : str
        What it measures, for messages and docs.
    kind : str
        ``number`` (unitless), ``quantity`` (number + unit), ``term`` or ``texture``.
    units : dict
        Accepted unit spelling (lower case, spaces removed) -> (canonical unit, factor).
    minimum, maximum : float
        Plausible range in the canonical unit (inclusive).
    """

    name: str
    description: str
    kind: str
    units: Mapping[str, tuple[str, float]] = field(default_factory=dict)
    minimum: float = -math.inf
    maximum: float = math.inf

    @property
    def numeric(self) -> bool:
        """Whether the stored value is a number (usable as a continuous variable)."""
        return self.kind in ("number", "quantity")


_G_KG = {"g/kg": ("g/kg", 1.0), "gkg-1": ("g/kg", 1.0), "mg/g": ("g/kg", 1.0),
         "%": ("g/kg", 10.0), "percent": ("g/kg", 10.0)}

SOIL_FIELDS: dict[str, SoilField] = {
    f.name: f
    for f in (
        SoilField("ph", "soil pH", "number", minimum=0.0, maximum=14.0),
        SoilField("tot_org_carb", "total organic carbon", "quantity", _G_KG, 0.0, 1000.0),
        SoilField("tot_nitro", "total nitrogen", "quantity",
                  {**_G_KG, "mg/kg": ("g/kg", 0.001)}, 0.0, 1000.0),
        SoilField(
            "water_content", "soil water content", "quantity",
            {"g/g": ("g/g", 1.0), "%w/w": ("g/g", 0.01), "g/100g": ("g/g", 0.01),
             "cm3/cm3": ("cm3/cm3", 1.0), "m3/m3": ("cm3/cm3", 1.0),
             "%v/v": ("cm3/cm3", 0.01)},
            0.0, 20.0,
        ),
        SoilField("cur_land_use", "current land use", "term"),
        SoilField("soil_type", "soil type (ENVO term)", "term"),
        SoilField("texture", "soil texture", "texture"),
    )
}
#: Columns derived from ``texture`` (percent of the mineral fraction).
TEXTURE_FRACTIONS: tuple[str, ...] = ("sand", "silt", "clay")


def is_missing(value: str) -> bool:
    """True for an empty cell or an INSDC missing-value term."""
    text = value.strip().lower()
    return not text or text in _MISSING


def _unit_key(unit: str) -> str:
    return re.sub(r"\s+", "", unit.lower())


@dataclass(frozen=True)
class Parsed:
    """A parsed soil value: number in canonical unit (or NaN), text, and extra columns."""

    number: float = math.nan
    unit: str = ""
    text: str = ""
    extra: Mapping[str, float] = field(default_factory=dict)


def parse_value(name: str, value: str) -> Parsed:
    """Parse one soil value; raise ``ValueError`` with a reason a user can act on.

    Parameters
    ----------
    name : str
        A key of :data:`SOIL_FIELDS`.
    value : str
        The cell as written.

    Returns
    -------
    Parsed
        NaN / ``""`` for a missing value.
    """
    spec = SOIL_FIELDS[name]
    if is_missing(value):
        return Parsed()
    text = value.strip()
    if spec.kind == "number":
        match = _QUANTITY.match(text)
        if not match or match.group(2):
            raise ValueError(f"'{value}' is not a number (pH has no unit)")
        number = float(match.group(1))
        _check_range(spec, number, "", value)
        return Parsed(number=number)
    if spec.kind == "quantity":
        match = _QUANTITY.match(text)
        if not match:
            raise ValueError(f"'{value}' is not '<number> <unit>' (e.g. '12.5 g/kg')")
        unit = match.group(2)
        accepted = ", ".join(spec.units)
        if not unit:
            raise ValueError(f"'{value}' has no unit; give one of {accepted}")
        if _unit_key(unit) not in spec.units:
            raise ValueError(f"unit '{unit}' not accepted; use one of {accepted}")
        canonical, factor = spec.units[_unit_key(unit)]
        number = float(match.group(1)) * factor
        _check_range(spec, number, canonical, value)
        if canonical == "cm3/cm3" and number > 1.0:
            raise ValueError(f"'{value}' is more than 1 cm3/cm3 (volumetric water content)")
        return Parsed(number=number, unit=canonical)
    if spec.kind == "term":
        if name == "soil_type":
            if not _ENVO_TERM.match(text):
                raise ValueError(f"'{value}' is not 'term label [ENVO:00000000]'")
            return Parsed(text=text)
        head = text.split("(")[0].strip().lower()
        if head not in CUR_LAND_USE_TERMS:
            raise ValueError(
                f"'{value}' is not a MIxS cur_land_use term (e.g. 'pastureland', 'row crops', "
                "'conifers'; see docs/soil.md)"
            )
        return Parsed(text=head)
    return _parse_texture(value)


def _check_range(spec: SoilField, number: float, unit: str, value: str) -> None:
    if not math.isfinite(number) or not spec.minimum <= number <= spec.maximum:
        shown = f"{spec.minimum:g}-{spec.maximum:g}" + (f" {unit}" if unit else "")
        raise ValueError(f"'{value}' is outside the possible range of {spec.description} "
                         f"({shown})")


def _parse_texture(value: str) -> Parsed:
    text = value.strip()
    fractions: dict[str, float] = {}
    for number, part in _FRACTION.findall(text):
        part = part.lower()
        if part in fractions:
            raise ValueError(f"'{value}' gives {part} twice")
        fractions[part] = float(number)
    rest = _FRACTION.sub("", text).replace(",", " ").replace(";", " ")
    label = " ".join(rest.split()).lower()
    if not fractions and not label:
        raise ValueError(f"'{value}' is empty")
    if label and label not in USDA_TEXTURE_CLASSES:
        raise ValueError(
            f"'{value}': '{label}' is not a USDA textural class; write "
            "'<n>% sand, <n>% silt, <n>% clay' and/or a class such as 'silty clay loam'"
        )
    if fractions:
        missing = [p for p in TEXTURE_FRACTIONS if p not in fractions]
        if missing:
            raise ValueError(f"'{value}' lacks {', '.join(missing)} (give sand, silt and clay)")
        if any(not 0 <= v <= 100 for v in fractions.values()):
            raise ValueError(f"'{value}': each fraction must be 0-100 %")
        total = sum(fractions.values())
        if abs(total - 100.0) > 1.0:
            raise ValueError(f"'{value}': sand + silt + clay = {total:g} %, not 100 %")
    return Parsed(text=label, extra=fractions)


def check_row(record: Mapping[str, str | None], where: str) -> list[str]:
    """Problems of the soil columns of one samplesheet row, each naming row and column.

    Parameters
    ----------
    record : mapping
        Column -> cell of one row (absent columns are skipped).
    where : str
        ``"line 4, sample 'S1'"``: prefixed to each problem.
    """
    problems = []
    for name in SOIL_FIELDS:
        raw = record.get(name)
        if raw is None:
            continue
        try:
            parse_value(name, raw)
        except ValueError as exc:
            problems.append(f"{where}, column '{name}': {exc}")
    return problems


def check_sheet_units(records: list[Mapping[str, str | None]]) -> list[str]:
    """Problems across rows: ``water_content`` must use one basis (mass or volume) per sheet."""
    bases: dict[str, int] = {}
    for line, record in enumerate(records, start=2):
        raw = record.get("water_content")
        if raw is None:
            continue
        try:
            unit = parse_value("water_content", raw).unit
        except ValueError:
            continue
        if unit:
            bases.setdefault(unit, line)
    if len(bases) > 1:
        (u1, l1), (u2, l2) = sorted(bases.items(), key=lambda kv: kv[1])[:2]
        return [f"line {l2}, column 'water_content': {u2} (volumetric/gravimetric) differs "
                f"from {u1} on line {l1}; use one basis for the whole sheet"]
    return []


def typed_metadata(row: Mapping[str, str], where: str = "") -> dict[str, object]:
    """A sample's metadata with soil columns typed (floats in canonical units, NaN = missing).

    Columns other than the soil fields are returned unchanged. ``texture`` adds ``sand``,
    ``silt`` and ``clay`` (percent, NaN when not given) unless the sheet has such columns.

    Raises
    ------
    InputError
        A soil value is invalid (a sheet that skipped ``soilbiome validate``); the message
        starts with ``where`` (e.g. ``"sheet.csv: sample 'S1'"``) and names the column.
    """
    out: dict[str, object] = dict(row)
    for name, spec in SOIL_FIELDS.items():
        if name not in row:
            continue
        try:
            parsed = parse_value(name, row[name])
        except ValueError as exc:
            raise InputError(f"{where + ', ' if where else ''}column '{name}': {exc}") from None
        out[name] = parsed.number if spec.numeric else parsed.text
        if spec.kind == "texture":
            for part in TEXTURE_FRACTIONS:
                if part not in row:
                    out[part] = float(parsed.extra.get(part, math.nan))
    return out


def canonical_units(rows: list[Mapping[str, str]]) -> dict[str, str]:
    """Canonical unit of each numeric soil column present in ``rows`` (``""`` = unitless)."""
    units: dict[str, str] = {}
    for name, spec in SOIL_FIELDS.items():
        if not spec.numeric or not any(name in r for r in rows):
            continue
        found = {parse_value(name, r[name]).unit for r in rows if name in r} - {""}
        units[name] = sorted(found)[0] if found else next(
            (u for u, _ in spec.units.values()), "")
    if any("texture" in r for r in rows):
        units.update({p: "%" for p in TEXTURE_FRACTIONS})
    return units


def check_env_columns(
    columns: Sequence[str], rows: Sequence[Mapping[str, str]], names: Sequence[str]
) -> list[str]:
    """Problems with soil variables chosen for ``diversity --env``, found in the samplesheet.

    Each name must be a column whose values are numbers (a numeric soil field, or plain numbers)
    or missing values, with at least 3 samples carrying a value.

    Parameters
    ----------
    columns : sequence of str
        The sheet's columns.
    rows : sequence of mapping
        Its rows (column -> cell).
    names : sequence of str
        The chosen variables.
    """
    problems = []
    for name in names:
        if name not in columns:
            problems.append(f"--env '{name}': no such samplesheet column")
            continue
        spec = SOIL_FIELDS.get(name)
        if spec is not None and not spec.numeric:
            problems.append(f"--env '{name}': a categorical field; compare its groups with "
                            "--group_by (PERMANOVA) instead")
            continue
        present = 0
        for line, row in enumerate(rows, start=2):
            cell = row.get(name) or ""
            if is_missing(cell):
                continue
            try:
                number = parse_value(name, cell).number if spec else float(cell)
            except ValueError:
                problems.append(f"line {line}, column '{name}': '{cell}' is not a number "
                                "(--env needs numeric variables)")
                break
            present += math.isfinite(number)
        else:
            if present < 3:
                problems.append(f"--env '{name}': only {present} sample(s) have a value; the "
                                "tests need at least 3")
    return problems

