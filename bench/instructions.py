"""Instructions per $submit, this working tree next to a git revision, counted by valgrind (repeatable on a busy machine).

usage: python bench/instructions.py [--ref HEAD] [--bundle repo|kit] [--requests 100]

Timings on a shared two-core machine swing by 15 % from run to run, more than most single changes gain. Instruction
counts do not: valgrind's callgrind counts what the CPU executes, whatever else runs. For each tree (this working
tree, and `--ref` checked out into a temporary git worktree) it runs bench/profile_submit.py --no-profile twice under
callgrind, with 20 and with 20 + --requests requests after the same warm-up, and prints the difference divided by
--requests: the instructions of one $submit through the app in process (server and httpx's in-process client;
the client's share is the same in both trees). Needs valgrind (Debian's package); one tree takes about two minutes.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_BASE = 20


def _count(tree: Path, bundle: str, requests: int, out: Path) -> int:
    """Instructions callgrind collected for one run of profile_submit in `tree`."""
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(tree / "bench" / "profile_submit.py"),
        "--no-profile",
        "--requests",
        str(requests),
        "--bundle",
        bundle,
    ]
    # The tree's own package first on the path (an editable install would otherwise import this working tree's).
    env = {"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"{tree}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(tree: Path, bundle: str, requests: int) -> float:
    """Instructions of one request: the difference of two runs divided by the requests between them."""
    with tempfile.TemporaryDirectory() as tmp:
        few = _count(tree, bundle, _BASE, Path(tmp) / "few.out")
        many = _count(tree, bundle, _BASE + requests, Path(tmp) / "many.out")
    return (many - few) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="the git revision to compare with (default HEAD)")
    parser.add_argument("--bundle", choices=("repo", "kit"), default="repo")
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    # Beside this repository, so the revision finds ../shared (the kit's bundle) as this tree does.
    with tempfile.TemporaryDirectory(dir=REPO.parent, prefix=".um-bench-") as tmp:
        worktree = Path(tmp)
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(worktree), args.ref], cwd=REPO, check=True)
        try:
            theirs = per_request(worktree, args.bundle, args.requests)
            ours = per_request(REPO, args.bundle, args.requests)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=False)
    print(f"$submit, {args.bundle} bundle, instructions per request ({args.requests} requests, in process):")
    print(f"  {args.ref:<12} {theirs / 1e6:8.2f} M")
    print(f"  {'working tree':<12} {ours / 1e6:8.2f} M   ({ours / theirs - 1:+.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
