"""Process trees and letters-only usernames, shared by the rehearsal and the benchmark."""

from __future__ import annotations

import string
from pathlib import Path


def process_tree(root: int) -> dict[int, list[int]]:
    """Children by parent for root and every descendant, root first, from /proc.

    granian runs in its own session, so the tree, not the process group, is what belongs to
    one server.
    """
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name in parentheses may hold spaces; the parent id follows the state.
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree: dict[int, list[int]] = {}
    pending = [root]
    while pending:
        pid = pending.pop()
        tree[pid] = sorted(children.get(pid, []))
        pending.extend(tree[pid])
    return tree


def username(prefix: str, index: int) -> str:
    """A unique letters-only name for an index (bijective base 26, as tools/bench/wrk.lua does)."""
    letters = ""
    index += 1
    while index:
        index, digit = divmod(index - 1, 26)
        letters = string.ascii_lowercase[digit] + letters
    return prefix + letters
