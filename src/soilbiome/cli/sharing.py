"""Sharing-agreement commands (keys, stamp, verify, check)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from soilbiome.io.jsonfile import dumps

_path = click.Path(path_type=Path)
_existing = click.Path(path_type=Path, exists=True, dir_okay=False)


def _today_option(f):  # noqa: ANN001, ANN202
    return click.option(
        "--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
        help="Reference date YYYY-MM-DD for date rules (default: today).",
    )(f)


def _json_option(f):  # noqa: ANN001, ANN202
    return click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON report.")(f)


def _day(value: dt.datetime | None) -> dt.date | None:
    return value.date() if value else None


def _emit(report, as_json: bool) -> None:  # noqa: ANN001
    click.echo(report.to_json() if as_json else report.to_text())
    sys.exit(report.exit_code)


@click.group("keys")
def keys() -> None:
    """Ed25519 keys for signing licence stamps."""


@keys.command("generate")
@click.argument("private_key", type=_path)
@click.option("--force", is_flag=True, help="Overwrite an existing key file.")
@_json_option
def keys_generate(private_key: Path, force: bool, as_json: bool) -> None:
    """Create PRIVATE_KEY (mode 0600) and PRIVATE_KEY.pub; print the key id and public key.

    Paste the printed entry into the agreement's signing.trusted_keys.
    """
    from soilbiome.sharing.keys import generate_key

    info = generate_key(private_key, overwrite=force)
    if as_json:
        click.echo(dumps(info.to_dict()))
        return
    click.echo(f"keyid: {info.keyid}")
    click.echo(f"public_key_b64: {info.public_key_b64}")
    click.echo(f"private key: {info.private_key_path} (mode 0600; keep it secret)")
    click.echo(f"public key:  {info.public_key_path}")
    click.echo("agreement entry (signing.trusted_keys):")
    click.echo(f'  - {{keyid: "{info.keyid}", party: <party-id>, alg: ed25519,')
    click.echo(f'     public_key_b64: "{info.public_key_b64}",')
    click.echo('     valid_from: "YYYY-MM-DD", valid_until: "YYYY-MM-DD"}')


@keys.command("trust")
@click.argument("agreement", type=_existing)
@click.option("--key", "key", type=_existing, required=True,
              help="Private key whose public half is trusted (only the public half is written).")
@click.option("--party", "parties", multiple=True,
              help="Party the key signs for (default: every required signer).")
@click.option("--out", "out", type=_path, required=True, help="Where to write the copy.")
def keys_trust(agreement: Path, key: Path, parties: tuple[str, ...], out: Path) -> None:
    """Write a copy of AGREEMENT whose only trusted key is KEY's public half.

    For test and demo runs with a throwaway key: the original agreement is left untouched.
    """
    from soilbiome.errors import InputError
    from soilbiome.sharing.agreement import load_agreement
    from soilbiome.sharing.keys import load_private_key, public_key_b64, rewrite_trusted_keys

    data = load_agreement(agreement).data  # a valid agreement (rule A1) before it is copied
    signers = list(parties) or list((data.get("signing") or {}).get("required_signers") or [])
    if not signers:
        raise InputError("the agreement names no required signer; give --party",
                         location=str(agreement))
    known = [p.get("id") for p in data.get("parties") or []]
    for party in signers:
        if party not in known:
            raise InputError(f"--party {party}: not the id of a party in parties[] "
                             f"({', '.join(map(str, known))})", location=str(agreement))
    b64 = public_key_b64(load_private_key(key).public_key())
    today = dt.date.today()
    rewrite_trusted_keys(agreement, out, [(b64, party) for party in signers],
                         valid_from=(today - dt.timedelta(days=1)).isoformat(),
                         valid_until=(today + dt.timedelta(days=365)).isoformat())
    click.echo(f"{out}: trusts the throwaway key for {', '.join(signers)}")


@click.command("stamp")
@click.argument("table", type=_existing)
@click.option("--agreement", "agreement", type=_existing, required=True,
              help="Sharing agreement YAML.")
@click.option("--key", "key", type=_existing, multiple=True, envvar="SOILBIOME_SIGNING_KEY",
              help="Ed25519 private key (repeatable; default $SOILBIOME_SIGNING_KEY).")
@click.option("--run-id", default=None, help="Pipeline run id recorded in the stamp.")
@click.option("--run-crate", default=None,
              help="The run's ro-crate-metadata.json relative to the stamped table "
                   "(recorded in the stamp; verify follows it for D7/D9).")
@click.option("-o", "--output", type=_path, default=None,
              help="Write the stamped table here (default: replace TABLE).")
@click.option("--verify-json", type=_path, default=None,
              help="Then verify the stamped table as 'verify --before-publication --json' "
                   "does, in the same process, and write that report here. A failed rule "
                   "exits 1 with the findings; rules that need a person do not.")
@_today_option
@_json_option
def stamp(table: Path, agreement: Path, key: tuple[Path, ...], run_id: str | None,
          run_crate: str | None, output: Path | None, verify_json: Path | None,
          today: dt.datetime | None, as_json: bool) -> None:
    """Stamp TABLE.biom with AGREEMENT's terms and write the signed sidecar."""
    from soilbiome.sharing.stamp import stamp_biom

    result = stamp_biom(table, agreement, list(key) or None, run_id, run_crate=run_crate,
                        output=output, today=_day(today))
    if verify_json is not None:  # the pipeline's STAMP: one Python start-up, not two
        from soilbiome.io.atomic import atomic_write
        from soilbiome.sharing.findings import EXIT_FAILED
        from soilbiome.sharing.verify import verify_report

        report = verify_report(Path(result.path), agreement, today=_day(today),
                               before_publication=True)
        with atomic_write(verify_json) as handle:
            handle.write(report.to_json() + "\n")
        if report.exit_code == EXIT_FAILED:
            click.echo(report.to_text(), err=True)
            sys.exit(1)
    if as_json:
        click.echo(dumps({"path": result.path, "sidecar": result.sidecar,
                               "sha256": result.sha256, "keyids": result.keyids}, indent=2))
        return
    click.echo(f"stamped {result.path} (sha256 {result.sha256})")
    click.echo(f"sidecar {result.sidecar} signed by {', '.join(result.keyids)}")


@click.command("verify")
@click.argument("table", type=_existing)
@click.option("--agreement", "agreement", type=_existing, required=True)
@click.option("--crate", type=click.Path(path_type=Path, exists=True, file_okay=False),
              default=None, help="RO-Crate (or BagIt bag) directory for D7/D9 (default: the "
                                 "crate the stamp links to, if it exists).")
@click.option("--before-publication", is_flag=True,
              help="The pipeline checks the table before its run is published: D7/D9 are "
                   "'after publication' while the linked run crate is not written yet.")
@_today_option
@_json_option
def verify(table: Path, agreement: Path, crate: Path | None, before_publication: bool,
           today: dt.datetime | None, as_json: bool) -> None:
    """Check TABLE's stamp and integrity against AGREEMENT (rules D1..D10).

    Ends with what the recipient may do under the agreement.
    """
    from soilbiome.sharing.verify import verify_report

    _emit(verify_report(table, agreement, today=_day(today), crate=crate,
                        before_publication=before_publication), as_json)


@click.group("check")
def check() -> None:
    """Steward's checker: agreements, requests, merges."""


@check.command("agreement")
@click.argument("agreement", type=_existing)
@_today_option
@_json_option
def check_agreement_cmd(agreement: Path, today: dt.datetime | None, as_json: bool) -> None:
    """Check AGREEMENT on its own (rules A1..A17)."""
    from soilbiome.sharing.rules_agreement import check_agreement

    _emit(check_agreement(agreement, today=_day(today)), as_json)


@check.command("request")
@click.argument("request", type=_existing)
@click.option("--agreement", "agreement", type=_existing, required=True)
@_today_option
@_json_option
def check_request_cmd(request: Path, agreement: Path, today: dt.datetime | None,
                      as_json: bool) -> None:
    """Check a data-use REQUEST against AGREEMENT (rules B0..B19)."""
    from soilbiome.sharing.rules_request import check_request

    _emit(check_request(request, agreement, today=_day(today)), as_json)


@check.command("merge")
@click.argument("tables", type=_existing, nargs=-1, required=True)
@click.option("--agreement", "agreements", type=_existing, multiple=True,
              help="Agreement of an input (repeatable); stamps are then verified.")
@click.option("--output-license", default=None,
              help="SPDX expression the merged output is to carry.")
@_today_option
@_json_option
def check_merge_cmd(tables: tuple[Path, ...], agreements: tuple[Path, ...],
                    output_license: str | None, today: dt.datetime | None,
                    as_json: bool) -> None:
    """Check whether stamped TABLES may be merged, and under which terms (rules C1..C15)."""
    from soilbiome.sharing.merge_check import check_merge

    _emit(check_merge(list(tables), list(agreements), declared_license=output_license,
                      today=_day(today)), as_json)


def register(main: click.Group) -> None:
    """Add the sharing commands to the ``soilbiome`` group."""
    for cmd in (keys, stamp, verify, check):
        main.add_command(cmd)
