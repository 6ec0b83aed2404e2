#!/bin/sh
# Like the official image: without a config file, protected mode would refuse every client that
# is not on loopback, and the compose network is not loopback.
set -e
if [ "$1" = redis-server ]; then
  shift
  exec setpriv --reuid=redis --regid=redis --init-groups redis-server --protected-mode no "$@"
fi
exec "$@"
