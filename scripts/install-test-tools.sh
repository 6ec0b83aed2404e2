#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real, once; quiet when already there.
set -euo pipefail

packages=()
# Steps a tools script needs run once the packages are in (e.g. a plugin for a packaged tool).
after_install=()
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }

for script in scripts/install-test-tools.d/*.sh; do
  [ -e "$script" ] || continue
  # shellcheck source=/dev/null
  source "$script"
done

if [ ${#packages[@]} -gt 0 ]; then
  echo "installing test tools: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  # Only the binaries are wanted: on a systemd machine the packages would also start services
  # (Prometheus on 9090, nginx on 80) that clash with the ports the tests and compose use.
  if [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now prometheus prometheus-alertmanager nginx >/dev/null 2>&1 || true
  fi
fi

for step in "${after_install[@]}"; do
  "$step"
done
