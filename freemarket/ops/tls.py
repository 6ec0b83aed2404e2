"""TLS certificates: issue and renew with certbot (HTTP-01 webroot), inspect, self-sign."""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from freemarket.infra.ops_status import lineages
from freemarket.ops.process import OperationFailed, require_tool, run, which, write_atomically

ACME_SERVERS = {
    "letsencrypt": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
DEFAULT_WEBROOT = Path("/var/www/certbot")
DEFAULT_CONFIG_DIR = Path("/etc/letsencrypt")
NGINX_PID_FILE = Path("/run/nginx.pid")
RENEW_BEFORE_DAYS = 30
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$"
)


class TLSError(OperationFailed):
    """A certificate task that cannot be carried out."""


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """What a certificate says: who issued it, for which names, until when."""

    path: str
    subject: str
    issuer: str
    names: list[str]
    serial: str
    not_before: datetime
    not_after: datetime
    days_left: int

    @property
    def expired(self) -> bool:
        """True once not_after has passed."""
        return self.days_left < 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (timestamps in ISO 8601, UTC)."""
        return {
            "path": self.path,
            "subject": self.subject,
            "issuer": self.issuer,
            "names": self.names,
            "serial": self.serial,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "days_left": self.days_left,
            "expired": self.expired,
        }


@dataclass(frozen=True, slots=True)
class IssuedCertificate:
    """A certificate now on disk: where its chain and key are, and what it says."""

    domain: str
    server: str
    certificate: Path
    private_key: Path
    info: CertificateInfo


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """Whether the web server picked up the new certificate, in words."""

    reloaded: bool
    message: str


@dataclass(frozen=True, slots=True)
class RenewalResult:
    """One certificate's renewal: whether it happened and why, before and after."""

    domain: str
    renewed: bool
    reason: str
    before: CertificateInfo
    after: CertificateInfo


def acme_directory(server: str) -> str:
    """The ACME directory URL for `letsencrypt`, `staging`, or a URL given as is."""
    if server in ACME_SERVERS:
        return ACME_SERVERS[server]
    if server.startswith(("https://", "http://")):
        return server
    raise TLSError(f"unknown ACME server {server!r}: use letsencrypt, staging or a URL")


def check_domain(domain: str) -> str:
    """The domain in lower case, or an error if it cannot get a webroot certificate."""
    name = domain.strip().lower().rstrip(".")
    if name.startswith("*."):
        raise TLSError(f"{domain}: wildcard names need DNS-01; webroot (HTTP-01) cannot do it")
    if not _HOSTNAME.match(name):
        raise TLSError(f"{domain!r} is not a fully qualified domain name")
    return name


# --- inspecting -----------------------------------------------------------------------------


def _name(name: Any) -> str:
    from cryptography.x509.oid import NameOID

    common = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else name.rfc4514_string()


def certificate_info(path: Path, now: datetime | None = None) -> CertificateInfo:
    """Read a PEM certificate (the first of a chain) and describe it."""
    from cryptography import x509

    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except FileNotFoundError as exc:
        raise TLSError(f"no certificate at {path}") from exc
    except ValueError as exc:
        raise TLSError(f"{path} is not a PEM certificate") from exc
    cert = certs[0]
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = []
    not_after = cert.not_valid_after_utc
    return CertificateInfo(
        path=str(path),
        subject=_name(cert.subject),
        issuer=_name(cert.issuer),
        names=names,
        serial=f"{cert.serial_number:x}",
        not_before=cert.not_valid_before_utc,
        not_after=not_after,
        days_left=(not_after - (now or datetime.now(UTC))).days,
    )


def lineage_paths(config_dir: Path, name: str) -> tuple[Path, Path]:
    """The full chain and private key certbot keeps for certificate `name`."""
    live = config_dir / "live" / name
    return live / "fullchain.pem", live / "privkey.pem"


def certificate_statuses(
    config_dir: Path = DEFAULT_CONFIG_DIR, domain: str | None = None, cert: Path | None = None
) -> list[CertificateInfo]:
    """Describe one certificate file, one domain's certificate, or every managed one."""
    if cert is not None:
        return [certificate_info(cert)]
    names = [check_domain(domain)] if domain else lineages(config_dir)
    if not names:
        raise TLSError(f"no certificates under {config_dir / 'live'}")
    return [certificate_info(lineage_paths(config_dir, name)[0]) for name in names]


# --- certbot --------------------------------------------------------------------------------


def _certbot_dirs(config_dir: Path, work_dir: Path | None, logs_dir: Path | None) -> list[str]:
    # certbot's work and log directories default to /var/lib and /var/log, which need root; a
    # private config directory gets them beside it so an unprivileged run works end to end.
    private = config_dir.resolve() != DEFAULT_CONFIG_DIR
    args = ["--config-dir", str(config_dir)]
    if work_dir or private:
        args += ["--work-dir", str(work_dir or config_dir / "work")]
    if logs_dir or private:
        args += ["--logs-dir", str(logs_dir or config_dir / "logs")]
    return args


def issue_certificate(
    domains: list[str],
    email: str,
    *,
    server: str = "letsencrypt",
    webroot: Path = DEFAULT_WEBROOT,
    config_dir: Path = DEFAULT_CONFIG_DIR,
    work_dir: Path | None = None,
    logs_dir: Path | None = None,
) -> IssuedCertificate:
    """Get a certificate for `domains` (the first names it) over HTTP-01 via nginx's webroot."""
    if not domains:
        raise TLSError("give at least one --domain")
    names = [check_domain(d) for d in domains]
    if "@" not in email:
        raise TLSError(f"{email!r} is not an email address")
    directory = acme_directory(server)
    certbot = require_tool("certbot", "certbot")
    # The challenge files go under <webroot>/.well-known/acme-challenge, which nginx serves.
    webroot.mkdir(parents=True, exist_ok=True)
    argv = [
        certbot,
        "certonly",
        "--webroot",
        "--webroot-path",
        str(webroot),
        "--cert-name",
        names[0],
        "--email",
        email,
        "--server",
        directory,
        "--agree-tos",
        "--no-eff-email",
        "--non-interactive",
        "--keep-until-expiring",
        *_certbot_dirs(config_dir, work_dir, logs_dir),
    ]
    for name in names:
        argv += ["-d", name]
    run(argv, what=f"certbot certonly for {names[0]}", timeout=600)
    fullchain, privkey = lineage_paths(config_dir, names[0])
    return IssuedCertificate(
        domain=names[0],
        server=directory,
        certificate=fullchain,
        private_key=privkey,
        info=certificate_info(fullchain),
    )


def renew_certificates(
    domain: str | None = None,
    *,
    days: int = RENEW_BEFORE_DAYS,
    force: bool = False,
    config_dir: Path = DEFAULT_CONFIG_DIR,
    work_dir: Path | None = None,
    logs_dir: Path | None = None,
) -> list[RenewalResult]:
    """Renew each certificate (or the one for `domain`) that expires within `days`, or all."""
    names = [check_domain(domain)] if domain else lineages(config_dir)
    if not names:
        raise TLSError(f"no certificates under {config_dir / 'live'}; issue one first")
    results = []
    for name in names:
        before = certificate_info(lineage_paths(config_dir, name)[0])
        if not force and before.days_left > days:
            reason = f"not due: {before.days_left} days left, renewal starts at {days}"
            results.append(RenewalResult(name, False, reason, before, before))
            continue
        certbot = require_tool("certbot", "certbot")
        # Our threshold decides, not certbot's own renewal window, hence --force-renewal;
        # certbot's random delay for unattended runs would stall a cron job for minutes.
        run(
            [
                certbot,
                "renew",
                "--cert-name",
                name,
                "--force-renewal",
                "--non-interactive",
                "--no-random-sleep-on-renew",
                *_certbot_dirs(config_dir, work_dir, logs_dir),
            ],
            what=f"certbot renew for {name}",
            timeout=600,
        )
        after = certificate_info(lineage_paths(config_dir, name)[0])
        reason = "forced" if force and before.days_left > days else f"{before.days_left} days left"
        results.append(RenewalResult(name, True, f"renewed ({reason})", before, after))
    return results


def _process_alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError) as exc:
        return isinstance(exc, PermissionError)  # alive, only not ours to signal
    return True


def reload_web_server(
    command: str | None = None, *, pid_file: Path = NGINX_PID_FILE
) -> ReloadOutcome:
    """Make the web server load new certificates: `command` if given, else `nginx -s reload`."""
    if command:
        run(shlex.split(command), what=f"reload command `{command}`", timeout=120)
        return ReloadOutcome(True, f"reloaded with `{command}`")
    nginx = which("nginx")
    if nginx is None:
        return ReloadOutcome(False, "nginx is not installed here; reload skipped")
    if not _process_alive(pid_file):
        return ReloadOutcome(False, f"nginx is not running (no live pid in {pid_file}); skipped")
    run([nginx, "-s", "reload"], what="nginx -s reload", timeout=60)
    return ReloadOutcome(True, "nginx reloaded")


# --- self-signed ----------------------------------------------------------------------------


def create_self_signed(
    domain: str,
    *,
    days: int = 365,
    out_dir: Path = Path("ssl"),
    extra_names: tuple[str, ...] = (),
    overwrite: bool = False,
) -> IssuedCertificate:
    """A self-signed certificate and key for local use, as `fullchain.pem` and `privkey.pem`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if days < 1:
        raise TLSError("--days must be at least 1")
    name = domain.strip().lower()
    if name != "localhost":
        name = check_domain(name)
    cert_path, key_path = out_dir / "fullchain.pem", out_dir / "privkey.pem"
    if not overwrite and (cert_path.exists() or key_path.exists()):
        raise TLSError(f"{cert_path} or {key_path} already exists; pass --force to replace")
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names: list[x509.GeneralName] = []
    for entry in (name, *extra_names):
        try:
            alt_names.append(x509.IPAddress(ipaddress.ip_address(entry)))
        except ValueError:
            alt_names.append(x509.DNSName(entry))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))  # tolerate clocks slightly behind
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomically(key_path, key_pem, mode=0o600)
    write_atomically(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return IssuedCertificate(
        domain=name,
        server="self-signed",
        certificate=cert_path,
        private_key=key_path,
        info=certificate_info(cert_path),
    )


def stack_trust(certificate: Path | None) -> ssl.SSLContext:
    """TLS verification for checking our own stack: the system's CAs, plus the stack's
    certificate when it is self-signed (never "no verification").

    A fresh server runs on `tls selfsigned` until a CA signs a certificate; the deploy's
    health gate and `check` still verify the chain and the name against that certificate.
    """
    context = ssl.create_default_context()
    if certificate is not None and certificate.is_file() and _self_signed(certificate):
        context.load_verify_locations(cafile=str(certificate))
    return context


def _self_signed(path: Path) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError:
        return False
    return cert.issuer == cert.subject
