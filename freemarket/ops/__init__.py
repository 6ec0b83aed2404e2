"""Operations: plain functions returning data (checks, backups, TLS, deploy)."""
