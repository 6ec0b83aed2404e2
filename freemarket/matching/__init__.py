"""Matching: the pure core (`core/`) and its database side (store, recompute, worker, queries).

Kept empty so that importing a service module does not load numpy and scipy; import the core's
modules directly (`freemarket.matching.core.engine`).
"""
