#!/usr/bin/env bash
# `make down`: stop what scripts/demo.sh started, by the PIDs it saved in $DEMO_DIR/pids:
# the worker first (SIGINT, then SIGKILL after a timeout: a worker can ignore SIGTERM for over
# 30 s), then the Civitai server, then the Prefect server last (the worker reports to it).
set -uo pipefail

cd "$(dirname "$0")/.."
DEMO_DIR="${DEMO_DIR:-.demo}"
PIDS="$DEMO_DIR/pids"
GRACE_S="${GRACE_S:-20}"

stop() {  # stop NAME EXPECTED: stop the process saved as NAME if its command line has EXPECTED
  local name="$1" expected="$2" file="$PIDS/$1.pid" pid
  [[ -f "$file" ]] || return 0
  pid="$(cat "$file")"
  # A PID is reused once its process is gone: only signal the process demo.sh started.
  if ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o args= -p "$pid" 2>/dev/null)" != *"$expected"* ]]; then
    echo "$name (PID $pid) is not running"
    rm -f "$file"
    return 0
  fi
  echo "stopping $name (PID $pid)"
  kill -INT "$pid" 2>/dev/null
  local deadline=$((SECONDS + GRACE_S))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$name ignored SIGINT for ${GRACE_S} s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  # demo.sh started it as the leader of its own process group (job control): children it left
  # behind (a flow run of the worker, the server's API process) go with it.
  kill -KILL -- "-$pid" 2>/dev/null
  rm -f "$file"
}

stop worker "prefect"
stop civitai "diffagent"
stop server "prefect"
echo "demo stopped"
