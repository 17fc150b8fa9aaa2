#!/usr/bin/env bash
# Idempotent setup for Debian/Ubuntu (run as root): system packages the sandbox needs, optional
# interpreters, the npm packages and the `nlp` environment template. Quick when everything is
# already in place.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number);console.log(a>20||(a===20&&b>=19)?1:0)')
if [ "$node_ok" != 1 ]; then
  echo "[setup] Node >= 20.19 is required (found $(node --version))." >&2
  exit 1
fi

missing() { for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done; }

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # python3-pip: job requirements (pip from a local wheelhouse); chromium: the web page tests;
  # gcc + libc6-dev: the sandbox builds its small native process launcher (sandrun-spawn.c);
  # procps: `ps`, which the escape tests run inside the sandbox (minimal images lack it);
  # python3-requests: the test that talks to the gateway the way Sandrun's Python client does.
  required=(bubblewrap python3 python3-pip python3-requests util-linux procps iproute2 ca-certificates chromium gcc libc6-dev)
  optional=(ruby php-cli r-base-core)
  need=$(missing "${required[@]}")
  want=$(missing "${optional[@]}")
  if [ -n "$need$want" ]; then
    say "installing system packages: $(echo $need $want)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    if [ -n "$need" ]; then
      # shellcheck disable=SC2086
      apt-get install -y -qq --no-install-recommends $need >/dev/null
    fi
    for p in $want; do
      apt-get install -y -qq --no-install-recommends "$p" >/dev/null 2>&1 \
        || say "optional interpreter package $p could not be installed (sandrun doctor reports it)"
    done
  else
    say "system packages present"
  fi
else
  say "not root or no apt-get: skipping system packages (need bubblewrap and python3)"
fi

stamp=node_modules/.sandrun-setup
want_stamp=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_stamp" ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want_stamp" > "$stamp"
else
  say "npm packages up to date"
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # One non-default environment template, so the tests run a job that imports its packages.
  # Quick when installed (a dpkg query and an import check).
  say "environment template nlp"
  node bin/sandrun env install nlp >/dev/null
fi
say "done"
