"""Infrastructure: settings, metrics, rate limits, the Redis wake-up."""
