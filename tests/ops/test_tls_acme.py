"""`freemarket tls` end to end: real certbot against a local ACME server (pebble) on loopback.

pebble validates HTTP-01 for real: it resolves the domain through a DNS responder of ours that
answers 127.0.0.1, and fetches the challenge from a real nginx serving certbot's webroot.
"""

from __future__ import annotations

from pathlib import Path

from tests.ops.conftest import AcmeWorld, OpsRun

DOMAIN = "shop.freemarket.test"


def test_issue_status_and_renew(acme_world: AcmeWorld, tls_run: OpsRun, tmp_path: Path) -> None:
    config_dir = tmp_path / "letsencrypt"
    env = {"REQUESTS_CA_BUNDLE": str(acme_world.ca_bundle)}

    issued = tls_run(
        "tls", "issue", "--domain", DOMAIN, "--email", "ops@freemarket.test",
        "--server", acme_world.directory_url, "--webroot", str(acme_world.webroot),
        "--config-dir", str(config_dir), "--json",
        env=env,
    )  # fmt: skip
    assert issued.code == 0, issued.err
    body = issued.json()
    assert body["certificate"] == str(config_dir / "live" / DOMAIN / "fullchain.pem")
    assert Path(body["private_key"]).is_file()
    assert DOMAIN in acme_world.dns.queries, "pebble must have resolved the name through our DNS"

    status = tls_run("tls", "status", "--config-dir", str(config_dir), "--json", env=env)
    assert status.code == 0, status.err
    [cert] = status.json()
    assert "Pebble" in cert["issuer"]
    assert cert["names"] == [DOMAIN]
    assert cert["days_left"] > 30 and cert["expired"] is False

    table = tls_run("tls", "status", "--domain", DOMAIN, "--config-dir", str(config_dir))
    assert table.code == 0 and DOMAIN in table.out and "Pebble" in table.out

    fresh = tls_run("tls", "renew", "--config-dir", str(config_dir), env=env)
    assert fresh.code == 0, fresh.err
    assert "not due" in fresh.out
    assert "reload" not in fresh.out

    forced = tls_run(
        "tls", "renew", "--force", "--config-dir", str(config_dir),
        "--reload-command", acme_world.nginx_reload, "--json",
        env=env,
    )  # fmt: skip
    assert forced.code == 0, forced.err
    result = forced.json()
    [renewal] = result["results"]
    assert renewal["renewed"] is True and "forced" in renewal["reason"]
    assert renewal["after"]["serial"] != renewal["before"]["serial"]
    assert result["reload"] == {
        "reloaded": True,
        "message": f"reloaded with `{acme_world.nginx_reload}`",
    }


def test_issue_failure_is_one_line(acme_world: AcmeWorld, tls_run: OpsRun, tmp_path: Path) -> None:
    # The webroot is not the one nginx serves, so pebble's validation must fail.
    failed = tls_run(
        "tls", "issue", "--domain", "other.freemarket.test", "--email", "ops@freemarket.test",
        "--server", acme_world.directory_url, "--webroot", str(tmp_path / "elsewhere"),
        "--config-dir", str(tmp_path / "le"),
        env={"REQUESTS_CA_BUNDLE": str(acme_world.ca_bundle)},
    )  # fmt: skip
    assert failed.code == 1
    lines = failed.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: certbot certonly for other")
