"""Operational facts that /metrics exposes: the last good backup and certificate expiry.

The operations side writes or keeps these facts and the API reads them at scrape time, through
this module only, so neither `api` nor `ops` imports the other. The last good backup is a small
JSON file the backup code rewrites whenever a manifest changes (in BACKUP_DIR, which the
backend shares with the containers that run backups); certificates are read where certbot and
the deployment keep them.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

STATUS_FILE = ".status.json"


def record_last_good_backup(backup_dir: Path, when: datetime | None) -> None:
    """Remember when the newest good backup was taken (None: there is none)."""
    path = backup_dir / STATUS_FILE
    scratch = path.with_name(f".{STATUS_FILE}.{os.getpid()}.tmp")
    data = {"last_good_backup": when.isoformat() if when else None}
    scratch.write_text(json.dumps(data) + "\n", "utf-8")
    os.replace(scratch, path)


def last_good_backup(backup_dir: Path) -> datetime | None:
    """When the newest good backup was taken, as last recorded; None if unknown."""
    try:
        data = json.loads((backup_dir / STATUS_FILE).read_text("utf-8"))
        return datetime.fromisoformat(data["last_good_backup"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def lineages(config_dir: Path) -> list[str]:
    """The certificate names certbot manages under `config_dir` (its live/ folder)."""
    live = config_dir / "live"
    if not live.is_dir():
        return []
    return sorted(p.name for p in live.iterdir() if (p / "fullchain.pem").exists())


def earliest_certificate_expiry(config_dir: Path, cert: Path | None = None) -> datetime | None:
    """When the first served certificate expires (certbot's and `cert`); None if none is read.

    For monitoring: it never raises, since a scrape must not fail over a missing file.
    """
    from cryptography import x509

    paths = [config_dir / "live" / name / "fullchain.pem" for name in lineages(config_dir)]
    if cert is not None:
        paths.append(cert)
    expiries = []
    for path in paths:
        try:
            expiries.append(x509.load_pem_x509_certificate(path.read_bytes()).not_valid_after_utc)
        except (OSError, ValueError):
            continue
    return min(expiries, default=None)
