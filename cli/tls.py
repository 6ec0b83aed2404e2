"""`freemarket tls`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cli.common import console, print_json, print_table, settings

if TYPE_CHECKING:
    from freemarket.ops.tls import CertificateInfo, IssuedCertificate

app = typer.Typer(help="Issue, renew and inspect TLS certificates.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON instead of text.")
CONFIG_DIR = typer.Option(
    None, "--config-dir", help="certbot's configuration directory (default /etc/letsencrypt)."
)


def _config_dir(option: Path | None) -> Path:

    return option or settings().tls_config_dir


def _show(certs: list[CertificateInfo]) -> None:
    print_table(
        "Certificates",
        ["names", "issuer", "not after (UTC)", "days left", "path"],
        [
            (
                ", ".join(c.names) or c.subject,
                c.issuer,
                c.not_after.strftime("%Y-%m-%d %H:%M"),
                "expired" if c.expired else c.days_left,
                c.path,
            )
            for c in certs
        ],
    )


def _issued(issued: IssuedCertificate, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "domain": issued.domain,
                "server": issued.server,
                "certificate": str(issued.certificate),
                "private_key": str(issued.private_key),
                "info": issued.info.to_dict(),
            }
        )
        return
    console.print(
        f"Certificate for {', '.join(issued.info.names)} from {issued.info.issuer}, "
        f"valid until {issued.info.not_after:%Y-%m-%d}.\n"
        f"  certificate: {issued.certificate}\n  private key: {issued.private_key}",
        highlight=False,
    )


@app.command()
def issue(
    domain: list[str] = typer.Option(..., "--domain", help="Domain name (repeat for more)."),
    email: str = typer.Option(..., "--email", help="Contact address for the ACME account."),
    server: str | None = typer.Option(
        None, "--server", help="letsencrypt (default), staging, or an ACME directory URL."
    ),
    webroot: Path | None = typer.Option(
        None, "--webroot", help="Directory nginx serves /.well-known/acme-challenge/ from."
    ),
    config_dir: Path | None = CONFIG_DIR,
    as_json: bool = JSON,
) -> None:
    """Get a certificate from an ACME server with certbot (HTTP-01 through nginx's webroot)."""
    from freemarket.ops.tls import issue_certificate

    issued = issue_certificate(
        domain,
        email,
        server=server or settings().tls_acme_server,
        webroot=webroot or settings().tls_webroot,
        config_dir=_config_dir(config_dir),
    )
    _issued(issued, as_json)


@app.command()
def renew(
    domain: str | None = typer.Option(None, "--domain", help="Only this certificate."),
    force: bool = typer.Option(False, "--force", help="Renew even if not due."),
    days: int = typer.Option(30, "--days", help="Renew when it expires within DAYS."),
    config_dir: Path | None = CONFIG_DIR,
    reload_command: str | None = typer.Option(
        None, "--reload-command", help="Run this instead of `nginx -s reload` after renewing."
    ),
    as_json: bool = JSON,
) -> None:
    """Renew certificates that expire soon (or all with --force), then reload nginx."""
    from freemarket.ops.tls import reload_web_server, renew_certificates

    results = renew_certificates(domain, days=days, force=force, config_dir=_config_dir(config_dir))
    reload = None
    if any(r.renewed for r in results):
        reload = reload_web_server(reload_command or settings().tls_reload_command)
    if as_json:
        print_json(
            {
                "results": [
                    {
                        "domain": r.domain,
                        "renewed": r.renewed,
                        "reason": r.reason,
                        "before": r.before.to_dict(),
                        "after": r.after.to_dict(),
                    }
                    for r in results
                ],
                "reload": asdict(reload) if reload else None,
            }
        )
        return
    for r in results:
        until = f"valid until {r.after.not_after:%Y-%m-%d}"
        console.print(f"{r.domain}: {r.reason}; {until}.", highlight=False)
    if reload is not None:
        console.print(reload.message, highlight=False)


@app.command()
def status(
    domain: str | None = typer.Option(None, "--domain", help="Only this domain's certificate."),
    cert: Path | None = typer.Option(None, "--cert", help="A certificate file to inspect."),
    config_dir: Path | None = CONFIG_DIR,
    as_json: bool = JSON,
) -> None:
    """Show issuer, names, expiry and days left of the certificates (certbot's and nginx's)."""
    from freemarket.ops.checks import deployment_configured
    from freemarket.ops.tls import TLSError, certificate_info, certificate_statuses

    config = settings()
    directory = _config_dir(config_dir)
    try:
        certs = certificate_statuses(directory, domain=domain, cert=cert)
    except TLSError:
        if cert is not None or domain is not None:
            raise
        certs = []
    # The certificate nginx serves (CERTS_DIR), which may be a copy or a self-signed one.
    served = (config.certs_dir or Path("deploy/certs")) / "fullchain.pem"
    if cert is None and domain is None and served.is_file():
        certs.append(certificate_info(served))
    if not certs:
        if deployment_configured(config):
            raise TLSError(
                f"no certificates under {directory / 'live'} nor {served}: get one with "
                "`freemarket tls issue` (or `freemarket tls selfsigned` to start)"
            )
        hint = (
            "No TLS certificates: the embedded default serves plain HTTP "
            f"({config.public_url}); certificates belong to a deployment (DOMAIN set)."
        )
        if as_json:
            print_json([])
        else:
            console.print(hint, highlight=False, soft_wrap=True)
        return
    if as_json:
        print_json([c.to_dict() for c in certs])
        return
    _show(certs)


@app.command()
def selfsigned(
    domain: str = typer.Option(..., "--domain", help="Name the certificate is for."),
    days: int = typer.Option(365, "--days", help="Validity in days."),
    out: Path = typer.Option(Path("ssl"), "--out", help="Directory for the PEM files."),
    force: bool = typer.Option(False, "--force", help="Replace existing files."),
    as_json: bool = JSON,
) -> None:
    """Make a self-signed certificate and key (0600) for local use."""
    from freemarket.ops.tls import create_self_signed

    _issued(create_self_signed(domain, days=days, out_dir=out, overwrite=force), as_json)
