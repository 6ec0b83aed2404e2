"""`freemarket worker --partition I/N`: a share of the matching, or a one-line usage error."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.cli.conftest import Run


def test_partition_must_be_i_of_n(run: Run, db: Session) -> None:
    """A bad share is a usage error naming the option, not a traceback."""
    for spec in ("4/3", "0/2", "half"):
        result = run("worker", "--once", "--partition", spec)
        assert result.code == 2, (spec, result.out, result.err)
        assert "--partition" in result.err and "Traceback" not in result.err


def test_partitioned_worker_drains_its_share(run: Run, db: Session) -> None:
    """A partitioned worker starts, builds its share of the index and drains its jobs."""
    result = run("worker", "--once", "--partition", "2/3")
    assert result.code == 0, result.err
    assert "processed 0 job(s)" in result.out
