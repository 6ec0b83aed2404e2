"""The marketplace's rules: each module takes the acting user, checks, and returns data."""
