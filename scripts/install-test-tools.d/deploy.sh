# Tools the check/doctor/deploy tests drive for real (sourced by scripts/install-test-tools.sh).
# `nginx -t` validates deploy/nginx/freemarket.conf; docker itself is faked (tests/ops/fakes).
need nginx nginx
# The fake docker CLI is a stdlib-only Python script run by the system interpreter.
need python3 python3
