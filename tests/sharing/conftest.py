"""Fixtures for the sharing tests: real keys, real agreements, real BIOM files."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import biom
import h5py
import numpy as np
import pytest
import yaml

from soilbiome.sharing import generate_key, rewrite_trusted_keys, stamp_biom
from soilbiome.sharing.agreement import read_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "sharing_agreements" / "examples"
REQUESTS = ROOT / "sharing_agreements" / "requests"
OPEN = EXAMPLES / "open-cc-by.yaml"
CONTROLLED = EXAMPLES / "controlled-pilot-dsa.yaml"
NAGOYA = EXAMPLES / "nagoya-abs.yaml"
LOCAL_CONTEXTS = EXAMPLES / "local-contexts.yaml"
TODAY = dt.date(2025, 6, 15)
NOW = dt.datetime(2025, 6, 15, 12, 0, tzinfo=dt.UTC)
OPEN_SAMPLES = ["BAQ2420.2", "BAQ3473.2", "YUN1242.1", "BLANK"]
ERC_FIELDS = {
    "collection_date": "2010-10-01T00:00:00", "geo_loc_name": "Chile: Antofagasta",
    "lat_lon": "23.33 S 69.85 W", "env_broad_scale": "desert biome [ENVO:01000179]",
    "env_local_scale": "desert [ENVO:00000097]", "env_medium": "soil [ENVO:00001998]",
    "depth": "0-10 cm", "elev": "3473",
}


def load_data(path: Path) -> dict[str, Any]:
    """An agreement/request as a plain dict (dates kept as strings)."""
    return copy.deepcopy(read_yaml(path)[0])


def write_yaml(data: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def make_biom(path: Path, sample_ids: list[str], *, n_obs: int = 5, metadata: bool = False,
              compress: bool = False, seed: int = 1) -> Path:
    """Write a small real BIOM 2.1 table with biom-format."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 50, size=(n_obs, len(sample_ids))).astype(float)
    data[0, :] += 1  # no empty sample columns
    obs = [f"ASV{i}" for i in range(n_obs)]
    md = [dict(ERC_FIELDS) for _ in sample_ids] if metadata else None
    table = biom.Table(data, obs, sample_ids, sample_metadata=md, type="OTU table")
    with h5py.File(path, "w") as f:
        table.to_hdf5(f, generated_by="soilbiome tests", compress=compress)
    return path


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("keys")


@pytest.fixture(scope="session")
def signing_key(key_dir: Path):
    """A trusted provider key (generated at run time: private test keys are never committed)."""
    return generate_key(key_dir / "provider.key")


@pytest.fixture(scope="session")
def other_key(key_dir: Path):
    """A key that no agreement trusts."""
    return generate_key(key_dir / "attacker.key")


@pytest.fixture()
def open_agreement(tmp_path: Path, signing_key) -> Path:
    """The open example with trusted_keys rewritten to the run-time test key."""
    return rewrite_trusted_keys(OPEN, tmp_path / "open.yaml", [(signing_key, "provider-cl")],
                                valid_from="2025-01-01", valid_until="2027-12-31")


@pytest.fixture()
def controlled_agreement(tmp_path: Path, signing_key) -> Path:
    return rewrite_trusted_keys(CONTROLLED, tmp_path / "controlled.yaml",
                                [(signing_key, "provider-1")],
                                valid_from="2025-01-01", valid_until="2027-12-31")


@pytest.fixture()
def stamped(tmp_path: Path, open_agreement: Path, signing_key) -> Path:
    """A stamped BIOM under the open agreement."""
    path = make_biom(tmp_path / "table.biom", OPEN_SAMPLES, metadata=True)
    stamp_biom(path, open_agreement, signing_key.private_key_path, run_id="run-42",
               today=TODAY, now=NOW)
    return path
