"""Hand-edit detection as the provisioning API serves it: each service environment's GitOps directory
compared with Paved's last commit of it."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from paved_kit.structured_diff import PlanDiff

from paved_provisioning import hand_edits, store
from paved_provisioning.gitops import GitOpsRepository
from paved_provisioning.gitops_history import directory_histories
from paved_provisioning.provisioner_base import ProvisionerBase
from paved_provisioning.validation import Violations

MAX_NAMES = 1000
_LABEL = r"([a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)"
_CHILD = re.compile(rf"^services/{_LABEL}/environments/{_LABEL}$")
# Provisioned rows in these states have no files Paved keeps.
_GONE = frozenset({"deleted"})


@dataclass(frozen=True)
class GitOpsEdits:
    """A service environment's files against Paved's last commit of them."""

    name: str
    tracked: bool
    path: str = ""
    hand_edited: bool = False
    paved_commit: str = ""
    last_commit: str = ""
    files: tuple[str, ...] = ()
    diff: PlanDiff = field(default_factory=PlanDiff)


class GitOpsInspection(ProvisionerBase):
    """CheckGitOpsEdits."""

    repo: GitOpsRepository | None = None

    async def gitops_edits(self, names: list[str]) -> list[GitOpsEdits]:
        v = Violations()
        v.check(bool(names), "names", "required: at least one services/{service}/environments/{environment}")
        v.check(len(names) <= MAX_NAMES, "names", f"at most {MAX_NAMES} names")
        pairs: list[tuple[str, str]] = []
        for index, name in enumerate(names[:MAX_NAMES]):
            match = _CHILD.match(name)
            if match is None:
                v.add(f"names[{index}]", "must be services/{service}/environments/{environment}")
                continue
            pairs.append((match.group(1), match.group(2)))
        v.raise_if_any()
        assert self.repo is not None, "the GitOps repository is wired in by build_components"
        async with self.sessions() as session:
            rows = await store.services_in(session=session, pairs=pairs)
        paths = {
            pair: f"services/{row.team}/{row.name}/{row.environment}"
            for pair, row in rows.items()
            if row.state not in _GONE
        }
        histories = await asyncio.to_thread(directory_histories, self.repo, paths.values())
        answers: list[GitOpsEdits] = []
        for name, pair in zip(names, pairs, strict=True):
            path = paths.get(pair)
            history = histories.get(path) if path else None
            if path is None or history is None or not history.paved_commit:
                answers.append(GitOpsEdits(name, tracked=False, path=path or ""))
                continue
            edited = history.hand_edited
            answers.append(
                GitOpsEdits(
                    name,
                    tracked=True,
                    path=path,
                    hand_edited=edited,
                    paved_commit=history.paved_commit,
                    last_commit=history.last_commit,
                    files=tuple(history.changed_files()) if edited else (),
                    diff=hand_edits.files_diff(history.paved_files, history.head_files)
                    if edited
                    else PlanDiff(),
                )
            )
        return answers
