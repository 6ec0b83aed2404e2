"""Plain benchmark scripts (not part of the test suite)."""
