#!/usr/bin/env bash
# Create the `cpu` and `cuda` work pools (idempotent: --overwrite) and deploy prefect.yaml.
#
#   bash deployments/create_pools_and_deploy.sh                      # every deployment
#   bash deployments/create_pools_and_deploy.sh dabench-build/demo   # only those named
# (`prefect deploy --name` matches the part before `/` against the entrypoint's function name,
# `-` for `_`: sftA-train/demo is selected as sfta-train/demo.)
#
# Environment:
#   PREFECT_API_URL   the server to deploy to (as for any prefect command)
#   BIN               folder holding the `prefect` and `python` of the project's environment
#                     (default: found on PATH)
#   CUDA_POOL_TYPE    process (a worker on a GPU host or in the GPU container of
#                     docker/docker-compose.yml; default) | docker | kubernetes (the worker starts
#                     one GPU container / pod per flow run from deployments/cuda-<type>.json)
#   CIVITAI_API_KEY   when set, saved as the Prefect Secret block `civitai-api-key` that the
#                     Civitai deployments load; the value is never printed
set -euo pipefail

cd "$(dirname "$0")/.."
# prefect.yaml's pull step is `{{ $PWD }}`: the checkout the process workers run the code from.
export PWD
PREFECT="${BIN:+$BIN/}prefect"
PYTHON="${BIN:+$BIN/}python"
CUDA_POOL_TYPE="${CUDA_POOL_TYPE:-process}"

"$PREFECT" work-pool create cpu --type process --overwrite
# Where the `cuda` deployments' pull step finds the project (prefect.yaml's cuda_checkout): this
# checkout for a process worker on this host, the images' working directory for containers.
IMAGE_CHECKOUT=/opt/diffagent
case "$CUDA_POOL_TYPE" in
  process)
    "$PREFECT" work-pool create cuda --type process --overwrite
    export DIFFAGENT_CUDA_CHECKOUT="$PWD" ;;
  docker | kubernetes)
    "$PREFECT" work-pool create cuda --type "$CUDA_POOL_TYPE" --overwrite \
      --base-job-template "deployments/cuda-$CUDA_POOL_TYPE.json"
    export DIFFAGENT_CUDA_CHECKOUT="$IMAGE_CHECKOUT" ;;
  *)
    echo "CUDA_POOL_TYPE must be process, docker or kubernetes, got '$CUDA_POOL_TYPE'" >&2
    exit 2 ;;
esac

if [[ -n "${CIVITAI_API_KEY:-}" ]]; then
  # Read from the environment inside Python so the key never appears in a command line.
  "$PYTHON" -c 'import os; from prefect.blocks.system import Secret
Secret(value=os.environ["CIVITAI_API_KEY"]).save("civitai-api-key", overwrite=True)
print("Secret block civitai-api-key saved")'
fi

if [[ $# -eq 0 ]]; then
  "$PREFECT" --no-prompt deploy --all
else
  names=()
  for name in "$@"; do names+=(--name "$name"); done
  "$PREFECT" --no-prompt deploy "${names[@]}"
fi
