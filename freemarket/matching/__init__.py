"""Pure matching core: text pipeline, TF-IDF vectors, batch and incremental matching, trades."""

from freemarket.matching.engine import (
    COMPUTED_BY,
    DEFAULT_NOTIFY_THRESHOLD,
    DEFAULT_RADIUS_KM,
    DEFAULT_SHOW_THRESHOLD,
    DEFAULT_TOP_K,
    Listing,
    MatchCandidate,
    can_match,
    match_all,
    match_partition,
    merge_candidates,
    partition_listings,
)
from freemarket.matching.index import MatchIndex
from freemarket.matching.trades import MatchEdge, TradeLeg, TradeProposal, find_trades

__all__ = [
    "COMPUTED_BY",
    "DEFAULT_NOTIFY_THRESHOLD",
    "DEFAULT_RADIUS_KM",
    "DEFAULT_SHOW_THRESHOLD",
    "DEFAULT_TOP_K",
    "Listing",
    "MatchCandidate",
    "MatchEdge",
    "MatchIndex",
    "TradeLeg",
    "TradeProposal",
    "can_match",
    "find_trades",
    "match_all",
    "match_partition",
    "merge_candidates",
    "partition_listings",
]
