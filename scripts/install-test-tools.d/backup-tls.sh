# Tools the backup and TLS tests drive for real (sourced by scripts/install-test-tools.sh).
# pg_dump/pg_restore/psql must match the PostgreSQL 15 server the suite runs against.
need /usr/lib/postgresql/15/bin/pg_dump postgresql-client-15
need rclone rclone
need certbot certbot
need pebble pebble
need nginx nginx
