"""Fakes for the check, doctor and deploy tests: a docker CLI, HTTP servers, certificates."""

from tests.ops.fakes.servers import GOOD_TOKEN

# A production .env whose secrets pass the service's own validation.
REAL_SECRETS = (
    "ENVIRONMENT=production\n"
    "DB_PASSWORD=Vq8xT2mP9wLr4Zs7\n"
    f"TELEGRAM_BOT_TOKEN={GOOD_TOKEN}\n"
    "SECRET_KEY=k3J9vQ2xL8mN4pR7tW1yZ5bC6dF0gH2jK4lM8nP\n"
)
