#!/usr/bin/env bash
# Benchmarks (`make bench`). Each section runs one script beside this one with the project's
# virtualenv; they share bench/harness.py and write bench/results/<name>.json. Needs PostgreSQL
# on 127.0.0.1:5432 (trust, user postgres) and Redis on 127.0.0.1:6379; see bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

# One benchmark at a time: they share the database and Redis dbs (each run drops them first).
exec 9>/tmp/hub-bench.lock
if ! flock -n 9; then
    echo "bench: another benchmark is running (lock /tmp/hub-bench.lock held)" >&2
    exit 1
fi

BENCH_TMP=$(mktemp -d -t hub-bench.XXXXXX)
export BENCH_TMP
child=""

cleanup() {
    # The scripts stop their own servers; this is the safety net if one was killed.
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    for pidfile in "$BENCH_TMP"/*.pid; do
        [ -e "$pidfile" ] || continue
        kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$BENCH_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run in the background and wait, so that a signal reaches the traps at once.
section() {
    "$PY" "$@" &
    child=$!
    wait "$child"
    child=""
}

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk
fi

section bench/ingest.py
section bench/processing.py
section bench/client.py
section bench/dashboard.py
section bench/forwarding.py
section bench/sustained.py
