#!/usr/bin/env bash
# Install the Debian packages the test suite drives for real, once; quiet when already there.
set -euo pipefail

packages=()
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }

for script in scripts/install-test-tools.d/*.sh; do
  [ -e "$script" ] || continue
  # shellcheck source=/dev/null
  source "$script"
done

if [ ${#packages[@]} -gt 0 ]; then
  echo "installing test tools: ${packages[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
