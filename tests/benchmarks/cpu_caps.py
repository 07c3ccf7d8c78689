"""CPU caps for benchmark processes, with Linux control groups: each capped process gets its own group
limited to a share of one CPU (cgroup v2 ``cpu.max``, or v1's CFS quota). On a machine with few cores this
makes the capped processes the bottleneck, so that what adding one more of them gains can be measured
apart from what the rest of the system (databases, peers) has left to give.

Needs write access to the cgroup filesystem (root, or a delegated subtree)."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_MICROSECONDS = 100_000


class CpuCaps:
    """Groups created for one benchmark command; ``remove`` deletes them once their processes ended."""

    def __init__(self, cores: float) -> None:
        if not 0 < cores <= (os.cpu_count() or 1):
            raise ValueError(f"a CPU cap must be above 0 and at most {os.cpu_count()} CPUs, not {cores}")
        self.cores = cores
        self.prefix = f"paved-bench-{uuid.uuid4().hex[:8]}"
        self.groups: list[Path] = []
        if (CGROUP_ROOT / "cgroup.controllers").exists():
            self.version = 2
            self.parent = CGROUP_ROOT
        else:
            self.version = 1
            self.parent = CGROUP_ROOT / "cpu"

    def unavailable(self) -> str | None:
        """Why processes cannot be capped here, or None when they can."""
        if not self.parent.is_dir():
            return f"no cgroup CPU controller at {self.parent}"
        if self.version == 2 and "cpu" not in (self.parent / "cgroup.controllers").read_text().split():
            return "the cgroup v2 hierarchy does not offer the cpu controller"
        if not os.access(self.parent, os.W_OK):
            return f"{self.parent} is not writable (run as root or with a delegated cgroup)"
        return None

    def cap(self, pid: int) -> None:
        """Move process ``pid`` (all its threads) into a new group capped at ``cores`` CPUs."""
        group = self.parent / f"{self.prefix}-{len(self.groups)}"
        quota = round(self.cores * PERIOD_MICROSECONDS)
        if self.version == 2:
            subtree = self.parent / "cgroup.subtree_control"
            if "cpu" not in subtree.read_text().split():
                subtree.write_text("+cpu")
            group.mkdir()
            self.groups.append(group)
            (group / "cpu.max").write_text(f"{quota} {PERIOD_MICROSECONDS}")
        else:
            group.mkdir()
            self.groups.append(group)
            (group / "cpu.cfs_period_us").write_text(str(PERIOD_MICROSECONDS))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(pid))

    def throttled_seconds(self) -> float:
        """Time the capped processes were held back by their caps so far, summed over the groups."""
        total = 0.0
        for group in self.groups:
            stat = dict(line.split() for line in (group / "cpu.stat").read_text().splitlines())
            if self.version == 2:
                total += int(stat.get("throttled_usec", 0)) / 1e6
            else:
                total += int(stat.get("throttled_time", 0)) / 1e9
        return total

    def remove(self) -> None:
        """Delete the groups (their processes must have exited)."""
        for group in reversed(self.groups):
            with contextlib.suppress(OSError):
                group.rmdir()
        self.groups.clear()
