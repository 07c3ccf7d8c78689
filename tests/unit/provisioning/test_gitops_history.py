"""Hand-edit detection over a real bare repository: Paved commits through GitOpsRepository, a person
clones, edits and pushes with git."""

from __future__ import annotations

import subprocess
from pathlib import Path

from paved_kit.structured_diff import Change
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.gitops_history import directory_histories
from paved_provisioning.hand_edits import files_diff

ORDERS = "services/payments/orders/production"
BILLING = "services/payments/billing/production"
DEPLOYMENT = b"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: payments
spec:
  replicas: 2
"""


def _paved(repo: GitOpsRepository, directory: str, files: dict[str, bytes], operation: str) -> str:
    return repo.commit_directory(
        directory,
        {f"{directory}/{k}": v for k, v in files.items()},
        message="Provision",
        operation_id=operation,
        step="gitops_commit",
    ).sha


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def _hand_edit(tmp_path: Path, repo: GitOpsRepository, path: str, content: bytes) -> str:
    work = tmp_path / "work"
    if not work.exists():
        subprocess.run(["git", "clone", "-q", str(repo.path), str(work)], check=True)
    else:
        _git(work, "pull", "-q")
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "bump replicas by hand")
    _git(work, "push", "-q", "origin", "HEAD:main")
    return _git(work, "rev-parse", "HEAD")


def test_a_hand_edit_is_found_with_its_diff_and_paved_commits_are_not(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "gitops.git")
    orders = _paved(repo, ORDERS, {"k8s/compute.yaml": DEPLOYMENT, "docs/index.md": b"# orders"}, "op-1")
    billing = _paved(repo, BILLING, {"k8s/compute.yaml": DEPLOYMENT.replace(b"orders", b"billing")}, "op-2")
    edit = _hand_edit(tmp_path, repo, f"{ORDERS}/k8s/compute.yaml", DEPLOYMENT.replace(b"2\n", b"5\n"))
    # Paved commits elsewhere afterwards: the walk must still attribute the orders change to the person.
    _paved(repo, "services/payments/ledger/production", {"a.yaml": b"x: 1\n"}, "op-3")

    found = directory_histories(repo, [ORDERS, BILLING, "services/payments/ghost/production"])
    assert (found[ORDERS].last_commit, found[ORDERS].paved_commit) == (edit, orders)
    assert found[ORDERS].hand_edited and found[ORDERS].changed_files() == ["k8s/compute.yaml"]
    assert (found[BILLING].last_commit, found[BILLING].paved_commit) == (billing, billing)
    assert not found[BILLING].hand_edited
    ghost = found["services/payments/ghost/production"]
    assert (ghost.last_commit, ghost.paved_commit, ghost.hand_edited) == ("", "", False)

    diff = files_diff(found[ORDERS].paved_files, found[ORDERS].head_files)
    [obj] = diff.objects
    assert (obj.key, obj.resource, obj.change) == (
        "Deployment/payments/orders",
        "k8s/compute.yaml",
        Change.CHANGED,
    )
    assert [(f.path, f.before, f.after) for f in obj.fields] == [("/spec/replicas", 2, 5)]


def test_paved_committing_over_a_hand_edit_clears_it_and_a_revert_by_hand_is_no_edit(tmp_path: Path) -> None:
    repo = GitOpsRepository(tmp_path / "gitops.git")
    _paved(repo, ORDERS, {"k8s/compute.yaml": DEPLOYMENT}, "op-1")
    _hand_edit(tmp_path, repo, f"{ORDERS}/k8s/compute.yaml", b"not: [valid yaml")
    edited = directory_histories(repo, [ORDERS])[ORDERS]
    assert edited.hand_edited
    # A file that no longer parses reads as its objects removed and its text added.
    diff = files_diff(edited.paved_files, edited.head_files)
    assert [(o.key, o.change) for o in diff.objects] == [
        ("Deployment/payments/orders", Change.REMOVED),
        ("k8s/compute.yaml#0", Change.ADDED),
    ]

    reverted = _hand_edit(tmp_path, repo, f"{ORDERS}/k8s/compute.yaml", DEPLOYMENT)
    back = directory_histories(repo, [ORDERS])[ORDERS]
    assert back.last_commit == reverted and not back.hand_edited

    _hand_edit(tmp_path, repo, f"{ORDERS}/k8s/extra.yaml", b"kind: ConfigMap\nmetadata:\n  name: extra\n")
    assert directory_histories(repo, [ORDERS])[ORDERS].changed_files() == ["k8s/extra.yaml"]
    again = _paved(repo, ORDERS, {"k8s/compute.yaml": DEPLOYMENT}, "op-2")
    cleared = directory_histories(repo, [ORDERS])[ORDERS]
    assert (cleared.paved_commit, cleared.hand_edited) == (again, False)
