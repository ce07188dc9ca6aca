#!/usr/bin/env bash
# `make demo`: the whole pipeline through Prefect on this machine, offline.
#
# Starts a local Prefect server (SQLite under $DEMO_DIR), the local Civitai-speaking server over
# the bundled sample, the work pools and a process worker on `cpu`; deploys the demo deployments
# of prefect.yaml and runs them with `prefect deployment run`: dabench-build/demo (every supported
# base model: SD 1.5, SDXL, Pony, Illustrious, Flux.1, SD 3.5, Z-Image, Qwen-Image, Flux.2), then, per
# architecture with a LoRA in the build (scripts/demo_apis.py),
# `diffagent models fetch` of a LoRA and its base checkpoint from the local Civitai server
# (SHA256-verified, each family's Civitai layout) and `diffagent render --profile tiny` of both,
# then sftA-train/demo and evaluate/demo (tiny profile). Leaves the servers and the worker up;
# `make down` (scripts/down.sh) stops them by the PIDs saved in $DEMO_DIR/pids.
#
# Environment: DEMO_DIR (.demo), BIN (.venv/bin), PREFECT_PORT (4200), CIVITAI_PORT (8787),
# DEMO_STAGES ("dabench models sfta evaluate"; e.g. "dabench" for the DABench build only).
set -euo pipefail

cd "$(dirname "$0")/.."
export PWD  # the checkout the worker runs the code from (prefect.yaml's pull step)
DEMO_DIR="${DEMO_DIR:-.demo}"
mkdir -p "$DEMO_DIR"
DEMO_DIR="$(cd "$DEMO_DIR" && pwd)"
BIN="$(cd "${BIN:-.venv/bin}" && pwd)"
PREFECT_PORT="${PREFECT_PORT:-4200}"
CIVITAI_PORT="${CIVITAI_PORT:-8787}"
DEMO_STAGES="${DEMO_STAGES:-dabench models sfta evaluate}"
PIDS="$DEMO_DIR/pids"
LOGS="$DEMO_DIR/logs"
mkdir -p "$PIDS" "$LOGS"

export PREFECT_HOME="$DEMO_DIR/prefect-home"
export PREFECT_API_URL="http://127.0.0.1:$PREFECT_PORT/api"
export PREFECT_API_DATABASE_CONNECTION_URL="sqlite+aiosqlite:///$DEMO_DIR/prefect.db"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
export DIFFAGENT_TINY_DIR="$DEMO_DIR/tiny-models"
# The local server wants a key for one sample model (as Civitai does for some); any value will do.
export CIVITAI_API_KEY="${CIVITAI_API_KEY:-demo-key}"
CIVITAI_URL="http://127.0.0.1:$CIVITAI_PORT/api/v1"

# Job control: each background process leads its own process group and keeps the default
# SIGINT handling (a non-interactive shell would start it with SIGINT ignored), so down.sh can
# stop it with SIGINT.
set -m

say() { printf '\n==> %s\n' "$*"; }

running() {  # running NAME: its saved PID is alive
  [[ -f "$PIDS/$1.pid" ]] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null
}

answers() {  # answers URL: the URL answers HTTP 200 within 2 s
  "$BIN/python" -c 'import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)' "$1"
}

start() {  # start NAME URL COMMAND...: run COMMAND in the background unless NAME is up
  local name="$1" url="$2"
  shift 2
  if running "$name"; then
    echo "$name already running (PID $(cat "$PIDS/$name.pid"))"
    return
  fi
  if [[ -n "$url" ]] && answers "$url"; then
    echo "something else already answers $url; stop it or pick another port" >&2
    exit 1
  fi
  nohup "$@" >"$LOGS/$name.log" 2>&1 &
  echo $! >"$PIDS/$name.pid"
  echo "$name started (PID $!, log $LOGS/$name.log)"
}

wait_for() {  # wait_for NAME URL SECONDS
  local name="$1" url="$2" deadline=$((SECONDS + $3))
  until answers "$url"; do
    if ! running "$name"; then
      echo "$name exited; the end of $LOGS/$name.log:" >&2
      tail -n 30 "$LOGS/$name.log" >&2
      exit 1
    fi
    if ((SECONDS > deadline)); then
      echo "$name did not answer $url within $3 s; see $LOGS/$name.log" >&2
      exit 1
    fi
    sleep 1
  done
}

# Prefect merges a run's parameters with the deployment's by top-level name, so a run's `config`
# replaces the deployment's whole config: each run below names its profile again.
run_deployment() {  # run_deployment NAME PARAMS_JSON: run it to a final state, 0 iff completed
  say "prefect deployment run $1"
  "$BIN/prefect" deployment run "$1" --params "$2" --watch --watch-interval 5
}

say "Prefect server on $PREFECT_API_URL (SQLite: $DEMO_DIR/prefect.db)"
start server "$PREFECT_API_URL/health" \
  "$BIN/prefect" server start --host 127.0.0.1 --port "$PREFECT_PORT"
wait_for server "$PREFECT_API_URL/health" 180

say "Local Civitai API on $CIVITAI_URL (the bundled sample and its model files)"
# The first start writes the tiny models and one tiny file per sample version (a few minutes).
start civitai "$CIVITAI_URL/models?limit=1" "$BIN/diffagent" civitai serve --port "$CIVITAI_PORT"
wait_for civitai "$CIVITAI_URL/models?limit=1" 900

say "Work pools and deployments"
# `prefect deploy --name FLOW/NAME` matches FLOW against the entrypoint's function name with
# `-` for `_` (sfta-train for sfta_train), not against the flow's name (sftA-train).
BIN="$BIN" bash deployments/create_pools_and_deploy.sh \
  dabench-build/demo sfta-train/demo evaluate/demo

say "Process worker on the cpu pool"
start worker "" "$BIN/prefect" worker start --pool cpu --type process

failed=()
if [[ " $DEMO_STAGES " == *" dabench "* ]]; then
  run_deployment dabench-build/demo \
    "{\"config\": {\"civitai_url\": \"$CIVITAI_URL\", \"out\": \"$DEMO_DIR/dabench\", \"show_progress\": false}}" \
    || failed+=(dabench-build/demo)
fi
if [[ " $DEMO_STAGES " == *" models "* ]]; then
  say "Model files per architecture: fetch (verified) and render --profile tiny"
  versions="$("$BIN/python" scripts/demo_apis.py "$DEMO_DIR/dabench" "$DEMO_DIR/apis")"
  # shellcheck disable=SC2086  # the version ids are separate arguments
  "$BIN/diffagent" models fetch $versions --catalog "$DEMO_DIR/dabench" --store-dir "$DEMO_DIR/models" \
    | tee "$DEMO_DIR/apis/fetched.json" || failed+=(models-fetch)
  for api in "$DEMO_DIR"/apis/api-*.json; do
    name="$(basename "$api" .json)"
    "$BIN/diffagent" render "a red fox in the snow" --api "$api" --catalog "$DEMO_DIR/dabench" \
      --seeds 0,1 --out "$DEMO_DIR/renders/$name" --profile tiny >/dev/null || failed+=("render-$name")
  done
  echo "renders: $DEMO_DIR/renders/api-<architecture>-{lora,checkpoint}/seed-{0,1}.png"
fi
if [[ " $DEMO_STAGES " == *" sfta "* ]]; then
  say "Tiny random-weight models in $DIFFAGENT_TINY_DIR"
  [[ -f "$DIFFAGENT_TINY_DIR/COMPLETE" ]] || "$BIN/diffagent" tiny-models "$DIFFAGENT_TINY_DIR" >/dev/null
  run_deployment sftA-train/demo \
    "{\"config\": {\"profile\": \"tiny\", \"data\": \"$DEMO_DIR/dabench\", \"out\": \"$DEMO_DIR/sfta\", \"base_model\": \"$DIFFAGENT_TINY_DIR/llm\"}}" \
    || failed+=(sftA-train/demo)
fi
if [[ " $DEMO_STAGES " == *" evaluate "* ]]; then
  run_deployment evaluate/demo \
    "{\"config\": {\"profile\": \"tiny\", \"data\": \"$DEMO_DIR/dabench\", \"agents\": \"$DEMO_DIR/sfta\", \"out\": \"$DEMO_DIR/eval\"}}" \
    || failed+=(evaluate/demo)
fi

PROMPT="a watercolor fox in a snowy forest"
echo
echo "==> DiffAgent demo"
echo "Prefect UI:  http://127.0.0.1:$PREFECT_PORT   (runs, logs and artifacts of every stage)"
echo "DABench:     $DEMO_DIR/dabench   (catalog.parquet, instructions.parquet, splits/, latest.json)"
[[ -d "$DEMO_DIR/sfta/rrhf" ]] && echo "Agents:      $DEMO_DIR/sfta/sft and $DEMO_DIR/sfta/rrhf"
[[ -f "$DEMO_DIR/eval/report.md" ]] && echo "Report:      $DEMO_DIR/eval/report.md"
echo "Logs:        $LOGS"
echo
echo "Pick a model and parameters for a prompt:"
echo "  $BIN/diffagent select \"$PROMPT\" --catalog $DEMO_DIR/dabench --selector retrieval"
[[ -d "$DEMO_DIR/sfta/rrhf" ]] &&
  echo "  $BIN/diffagent select \"$PROMPT\" --catalog $DEMO_DIR/dabench --agent $DEMO_DIR/sfta/rrhf"
echo
echo "Run a deployment again:  PREFECT_API_URL=$PREFECT_API_URL $BIN/prefect deployment run dabench-build/demo"
echo "Stop everything:         make down DEMO_DIR=$DEMO_DIR"

if ((${#failed[@]})); then
  echo "failed: ${failed[*]} (the server stays up: see the runs in the UI)" >&2
  exit 1
fi
