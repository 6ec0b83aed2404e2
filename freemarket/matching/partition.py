"""Partitions of the listing space, so that several matching workers share one marketplace.

A partition owns whole categories (a stable hash of the slug, so every worker agrees without
talking to the others and a new category needs no configuration). It indexes the listings of
its categories plus every want filed under ``other`` (which may meet any category), and
counts all listings in its statistics so its scores are a single index's. Jobs go to the
partition that owns the item's category; an ``other`` want is matched by all partitions
(``match_part`` jobs) and merged by whichever of them contributes last.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

from freemarket.matching.core import OTHER_CATEGORY, WANT
from freemarket.matching.core.engine import Listing

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def category_partition(category: str, count: int) -> int:
    """The partition (1..count) that owns a category."""
    # crc32, not hash(): the same in every process and on every machine
    return zlib.crc32(category.encode("utf-8")) % count + 1


@dataclass(frozen=True, slots=True)
class Partition:
    """Partition ``number`` of ``count`` (1-based, as written on the command line: 2/3)."""

    number: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Partition:
        """``I/N`` with 1 <= I <= N; ValueError otherwise."""
        found = _SPEC.match(spec)
        if found is None:
            raise ValueError(f"partition must look like I/N (e.g. 2/3), not {spec!r}")
        number, count = int(found[1]), int(found[2])
        if not 1 <= number <= count:
            raise ValueError(f"partition {number}/{count}: I must be between 1 and N")
        return cls(number, count)

    def __str__(self) -> str:
        return f"{self.number}/{self.count}"

    @property
    def leads(self) -> bool:
        """Whether this is the first partition, which also does what is nobody's share.

        Dropping jobs whose item is gone and expiring overdue exchange proposals need doing
        once, not once per partition.
        """
        return self.number == 1

    def owns_category(self, category: str) -> bool:
        """Whether this partition matches the items of a category."""
        return category_partition(category, self.count) == self.number

    def holds(self, listing: Listing) -> bool:
        """Whether this partition's index holds a listing (its categories, and `other` wants)."""
        return self.owns_category(listing.category) or is_fanned_out(listing.kind, listing.category)


def is_fanned_out(kind: str, category: str) -> bool:
    """A want filed under `other` may meet every category: every partition matches it."""
    return kind == WANT and category == OTHER_CATEGORY
