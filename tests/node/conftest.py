"""Session fixtures of the node tests: two publishing institutions and a third member."""

from __future__ import annotations

from pathlib import Path

import pytest

from soilbiome.sharing import generate_key

from .kit import A_SAMPLES, B_SAMPLES, GENERA, institution, members_file

ALPINE_ROR = "https://ror.org/05xyz6a78"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Institution A (open CC-BY, Chile), institution B (controlled pilot DSA, Kenya) and
    member C (Alpine University, a party of B's agreement), with a members file."""
    tmp = tmp_path_factory.mktemp("node-world")
    a = institution(tmp, "desert_lab", "open-cc-by.yaml", "provider-cl", A_SAMPLES,
                    GENERA[:3], 1)
    b = institution(tmp, "highland", "controlled-pilot-dsa.yaml", "provider-1", B_SAMPLES,
                    GENERA[2:], 2)
    c = generate_key(tmp / "alpine.key")
    stranger = generate_key(tmp / "stranger.key")
    members = members_file(tmp / "members.yaml", [
        {"name": "Desert Soil Microbiology Laboratory", "public_key_b64": a["b64"],
         "country": "CL"},
        {"name": "Highland Soil Research Institute", "public_key_b64": b["b64"],
         "country": "KE"},
        {"name": "Alpine University", "public_key_b64": c.public_key_b64,
         "institution_ror": ALPINE_ROR, "country": "CH"},
    ])
    return {"tmp": tmp, "a": a, "b": b, "c_key": Path(c.private_key_path),
            "stranger_key": Path(stranger.private_key_path), "members": members}
