"""`freemarket tls` pieces that need no ACME server: self-signed certificates, status, rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from freemarket.ops import process, tls
from freemarket.ops.process import OperationFailed
from tests.ops.conftest import OpsRun


def test_selfsigned_writes_private_key_and_status_reads_it(tls_run: OpsRun, tmp_path: Path) -> None:
    out = tmp_path / "ssl"
    made = tls_run("tls", "selfsigned", "--domain", "shop.example.org", "--days", "10",
                   "--out", str(out), "--json")  # fmt: skip
    assert made.code == 0, made.err
    body = made.json()
    key, cert = Path(body["private_key"]), Path(body["certificate"])
    assert key == out / "privkey.pem" and cert == out / "fullchain.pem"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert body["info"]["names"] == ["shop.example.org"]

    status = tls_run("tls", "status", "--cert", str(cert), "--json")
    assert status.code == 0, status.err
    [info] = status.json()
    assert info["issuer"] == info["subject"] == "shop.example.org"
    assert info["days_left"] in (9, 10) and info["expired"] is False

    again = tls_run("tls", "selfsigned", "--domain", "shop.example.org", "--out", str(out))
    assert again.code == 1 and "--force" in again.err
    forced = tls_run("tls", "selfsigned", "--domain", "shop.example.org", "--out", str(out),
                     "--force")  # fmt: skip
    assert forced.code == 0, forced.err
    assert tls.certificate_info(cert).serial != info["serial"]


def _lineage(config_dir: Path, domain: str, days: int) -> None:
    made = tls.create_self_signed(domain, days=days, out_dir=config_dir / "live" / domain)
    assert made.info.names == [domain]


def test_renew_not_due_does_not_call_certbot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _lineage(tmp_path, "shop.example.org", days=90)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))  # certbot would not be found
    monkeypatch.setattr(process, "SBIN_DIRS", ())  # not even where sbin tools live
    [result] = tls.renew_certificates(config_dir=tmp_path)
    assert result.renewed is False
    assert result.reason.startswith("not due: 89 days left")

    with pytest.raises(OperationFailed, match="`certbot` is not installed"):
        tls.renew_certificates("shop.example.org", days=100, config_dir=tmp_path)


def test_status_without_certificates(tls_run: OpsRun, tmp_path: Path) -> None:
    """The embedded default has none and says it serves plain HTTP; a deployment must have."""
    le = str(tmp_path / "le")
    embedded = tls_run("tls", "status", "--config-dir", le)
    assert embedded.code == 0, embedded.err
    assert "the embedded default serves plain HTTP" in embedded.out
    assert tls_run("tls", "status", "--config-dir", le, "--json").json() == []

    deployed = tls_run("tls", "status", "--config-dir", le, env={"DOMAIN": "shop.example.org"})
    assert deployed.code == 1
    assert deployed.err.count("\n") == 1
    assert deployed.err.startswith(f"error: no certificates under {tmp_path / 'le' / 'live'}")
    assert "freemarket tls issue" in deployed.err


def test_status_shows_the_certificate_nginx_serves(tls_run: OpsRun, tmp_path: Path) -> None:
    certs = tmp_path / "served"
    made = tls_run("tls", "selfsigned", "--domain", "localhost", "--out", str(certs))
    assert made.code == 0, made.err
    shown = tls_run(
        "tls", "status", "--config-dir", str(tmp_path / "le"), "--json",
        env={"CERTS_DIR": str(certs)},
    )  # fmt: skip
    assert shown.code == 0, shown.err
    assert [c["names"] for c in shown.json()] == [["localhost"]]


def test_reload_outcomes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ran = tls.reload_web_server(f"touch {tmp_path / 'reloaded'}")
    assert ran.reloaded and (tmp_path / "reloaded").exists()
    with pytest.raises(OperationFailed, match="reload command"):
        tls.reload_web_server("false")

    # Whatever this machine has installed: a PATH of our own, and no sbin fallback.
    monkeypatch.setattr(process, "SBIN_DIRS", ())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    pid_file = tmp_path / "nginx.pid"
    missing = tls.reload_web_server(pid_file=pid_file)
    assert not missing.reloaded and missing.message == "nginx is not installed here; reload skipped"

    calls = tmp_path / "nginx-calls"
    nginx = bin_dir / "nginx"
    nginx.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    nginx.chmod(0o755)
    stopped = tls.reload_web_server(pid_file=pid_file)
    assert not stopped.reloaded and "not running" in stopped.message
    assert not calls.exists()

    pid_file.write_text(f"{os.getpid()}\n")  # a live process: nginx counts as running
    reloaded = tls.reload_web_server(pid_file=pid_file)
    assert reloaded.reloaded and reloaded.message == "nginx reloaded"
    assert calls.read_text() == "-s reload\n"


def test_names_and_servers() -> None:
    assert tls.acme_directory("staging").startswith("https://acme-staging-v02")
    assert tls.acme_directory("https://127.0.0.1:14000/dir") == "https://127.0.0.1:14000/dir"
    with pytest.raises(tls.TLSError, match="unknown ACME server"):
        tls.acme_directory("zerossl")
    assert tls.check_domain("Shop.Example.ORG.") == "shop.example.org"
    for bad in ("localhost", "*.example.org", "exa mple.org", "-x.example.org"):
        with pytest.raises(tls.TLSError):
            tls.check_domain(bad)
