"""Self-signed certificates for the tests, made by the product's own TLS helper."""

from __future__ import annotations

from pathlib import Path

from freemarket.ops.tls import create_self_signed


def write_self_signed(directory: Path, domain: str, *, days: int = 90) -> Path:
    """Write fullchain.pem and privkey.pem for `domain`, valid `days` from now; return the cert."""
    return create_self_signed(domain, days=days, out_dir=directory, overwrite=True).certificate
