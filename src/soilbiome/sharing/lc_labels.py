# ruff: noqa: E501  (a table of one-line texts)
"""Local Contexts labels and notices: their names and what they ask of a data user.

The codes are those of the Local Contexts Hub (https://localcontexts.org/labels/); the
one-line meanings are our summaries for data users, not the labels' template texts. A
community may customise a label's text on the Hub: the project page the agreement names
(``local_contexts.project_page``) is authoritative.
"""

from __future__ import annotations

#: label code -> (name, what it asks of a data user)
LABELS: dict[str, tuple[str, str]] = {
    # Biocultural (BC) labels
    "bcp": ("BC Provenance", "the community is the primary authority over these data; ask them about uses not already agreed"),
    "bcmc": ("BC Multiple Communities", "several communities share responsibility for these data; uses depend on talking with all of them"),
    "bccl": ("BC Clan", "use follows the protocols of a clan within the community"),
    "bccv": ("BC Consent Verified", "the community has verified that consent was given for this use"),
    "bccnv": ("BC Consent Non-Verified", "consent has not been verified by the community; a steward must review before use"),
    "bcr": ("BC Research Use", "the community allows use for research; other uses need its permission"),
    "bccb": ("BC Open to Collaboration", "the community invites collaboration on research with these data"),
    "bcoc": ("BC Open to Commercialization", "the community wants to be a primary party to any commercial use"),
    "bco": ("BC Outreach", "use for educational outreach only"),
    "bcnc": ("BC Non-Commercial", "non-commercial use only; no economic benefit to be derived from these data"),
    # Traditional Knowledge (TK) labels
    "tka": ("TK Attribution", "name the community as the source whenever the data are used"),
    "tkcl": ("TK Clan", "use follows the protocols of a clan within the community"),
    "tkf": ("TK Family", "use follows the protocols of a family within the community"),
    "tkmc": ("TK Multiple Communities", "several communities share responsibility; uses depend on talking with all of them"),
    "tkcv": ("TK Community Voice", "the community wants its own voice included when the material is used"),
    "tkcr": ("TK Creative", "creative re-use is allowed with attribution to the community"),
    "tkv": ("TK Verified", "the community has verified the material's current use"),
    "tknv": ("TK Non-Verified", "the community has not verified this use; a steward must review before use"),
    "tks": ("TK Seasonal", "use is limited to certain times of the year"),
    "tkwg": ("TK Women General", "meant for women; ask the community before other uses"),
    "tkmg": ("TK Men General", "meant for men; ask the community before other uses"),
    "tkmr": ("TK Men Restricted", "restricted to men of the community"),
    "tkwr": ("TK Women Restricted", "restricted to women of the community"),
    "tkcs": ("TK Culturally Sensitive", "culturally sensitive: use with care and ask the community"),
    "tkss": ("TK Secret / Sacred", "secret or sacred: not to be shared beyond those the community allows"),
    "tkoc": ("TK Open to Commercialization", "the community wants to be a primary party to any commercial use"),
    "tknc": ("TK Non-Commercial", "non-commercial use only"),
    "tkco": ("TK Community Use Only", "for use within the community only; not to be passed on"),
    "tko": ("TK Outreach", "use for educational outreach only"),
    "tkcb": ("TK Open to Collaboration", "the community invites collaboration with these materials"),
}

#: notice type -> what it says
NOTICES: dict[str, str] = {
    "biocultural": "BC Notice: Indigenous peoples have rights to define how data from their lands, waters and territories are used",
    "traditional_knowledge": "TK Notice: cultural rights and protocols may apply to this material; ask before sharing it on",
    "attribution_incomplete": "Attribution Incomplete Notice: the record's attribution is incomplete or inaccurate",
    "open_to_collaboration": "Open to Collaboration Notice: the holder is open to working with Indigenous communities on these data",
}


def label_text(code: str) -> tuple[str, str]:
    """``(name, meaning)`` of a label code; an unknown code is named and its meaning not guessed."""
    key = str(code).lower()
    return LABELS.get(key, (str(code), "unknown label code: read the community's label text"))
