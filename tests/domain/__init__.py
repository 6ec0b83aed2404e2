"""Identity, exchanges, ratings and trust: the tests of that issue."""
