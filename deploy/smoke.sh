#!/usr/bin/env bash
# Run deploy/Containerfile's steps on this machine, for hosts without a container engine: the same COPY
# (as cp), RUN, ENV, WORKDIR and CMD, in a scratch directory instead of an image, then check the result
# the way the HEALTHCHECK does and stop it the way `docker stop` does. Also verifies the systemd unit when
# systemd-analyze is there, against this scratch install. Loopback only; a fake Slack stands in for slack.com.
#   deploy/smoke.sh            (from the repository root)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
root=$(mktemp -d /tmp/hardno-smoke.XXXXXX)
trap 'kill "${fake_pid:-}" "${serve_pid:-}" 2>/dev/null || true; rm -rf "$root"' EXIT
py=${PYTHON:-python3}

echo "== FROM python:3.11-slim: $($py --version)"
mkdir -p "$root/opt/hardno" "$root/var/lib/hardno"
echo "== COPY"
cp "$src/pyproject.toml" "$src/README.md" "$src/app.yaml" "$root/opt/hardno/"
for d in bot handlers storage prompts; do cp -r "$src/$d" "$root/opt/hardno/$d"; done
find "$root/opt/hardno" -name __pycache__ -prune -exec rm -rf {} +
echo "== RUN python -m venv .venv && pip install . && hardno --help"
(cd "$root/opt/hardno" && $py -m venv .venv && .venv/bin/pip install -q . && .venv/bin/hardno --help > /dev/null)
export PATH="$root/opt/hardno/.venv/bin:$PATH" PYTHONUNBUFFERED=1 HARDNO_LOG_FORMAT=json
export DATABASE_URL="sqlite:///$root/var/lib/hardno/hardno.db"

# The fake Slack (from the source tree, not the image) that the served app talks to.
port_of() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PYTHONPATH="$src" $py -c "
import pathlib, time; from bot.sandbox.fakeslack import FakeSlack
f = FakeSlack().start(); pathlib.Path('$root/fake_url').write_text(f.api_url); time.sleep(600)" &
fake_pid=$!
for _ in $(seq 1 300); do [ -s "$root/fake_url" ] && break; sleep 0.1; done
[ -s "$root/fake_url" ] || { echo "the fake Slack did not start"; exit 1; }
export SLACK_BOT_TOKEN=xoxb-smoke SLACK_SIGNING_SECRET=smoke SLACK_API_URL="$(cat "$root/fake_url")"

echo "== WORKDIR /var/lib/hardno; hardno db upgrade"
cd "$root/var/lib/hardno"
(cd / && hardno db upgrade)
http_port=$(port_of); health_port=$(port_of)
echo "== CMD hardno serve --http --host 127.0.0.1 --port $http_port --health-port $health_port"
hardno serve --http --host 127.0.0.1 --port "$http_port" --health-port "$health_port" 2> "$root/serve.log" &
serve_pid=$!
for _ in $(seq 1 100); do
  if $py -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$health_port/readyz', timeout=2).status != 200)" 2>/dev/null; then
    ready=1; break
  fi
  sleep 0.2
done
[ "${ready:-}" = 1 ] || { echo "HEALTHCHECK never passed"; cat "$root/serve.log"; exit 1; }
echo "== HEALTHCHECK /readyz: $($py -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$health_port/readyz').read().decode())")"
echo "== /metrics: $($py -c "import urllib.request; print(sum(1 for l in urllib.request.urlopen('http://127.0.0.1:$http_port/metrics').read().decode().splitlines() if l.startswith('hardno_')))") hardno_ samples"
echo "== STOPSIGNAL SIGTERM"
kill -TERM "$serve_pid"
wait "$serve_pid"; code=$?
serve_pid=
echo "== serve exited $code; log lines: $(wc -l < "$root/serve.log"), all JSON: $($py -c "
import json,sys; [json.loads(l) for l in open('$root/serve.log')]; print('yes')")"

if command -v systemd-analyze > /dev/null; then
  unit="$root/hardno.service"
  sed -e "s#/opt/hardno#$root/opt/hardno#g" -e "s#/var/lib/hardno#$root/var/lib/hardno#g" \
      -e "s#/etc/hardno/env#$root/env#g" "$src/deploy/hardno.service" > "$unit"
  cp "$src/deploy/env.example" "$root/env"
  echo "== systemd-analyze verify (paths moved into $root): $(systemd-analyze verify "$unit" 2>&1 || true)"
  echo "   (empty means no complaints)"
fi
echo "== smoke test passed"
