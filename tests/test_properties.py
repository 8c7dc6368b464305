"""Property: over random linear and merge histories, every strategy lands on the target's tree
and every original commit stays reachable from a ref (even after git gc)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollback.code.planner import make_plan
from rollback.git.repo import GitRepo
from rollback.run.execute import apply_plan
from tests.gitrepo import Repo

# each element: ("commit", file index, delete?) or ("merge", number of topic commits)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.integers(0, 3), st.booleans()),
        st.tuples(st.just("merge"), st.integers(1, 2), st.just(False)),
    ),
    min_size=1,
    max_size=6,
)


def build(path: Path, plan: list[tuple[str, int, bool]]) -> list[str]:
    repo = Repo.init(path)
    line = [repo.commit("root", {"f0.txt": "root\n"})]
    for n, (kind, arg, delete) in enumerate(plan):
        if kind == "commit":
            name = f"f{arg}.txt"
            exists = (path / name).exists()
            repo.write({name: None} if delete and exists else {name: f"{n}\n"})
            line.append(repo.commit(f"step {n}", {}))
        else:
            repo.git("switch", "-q", "-c", f"topic{n}")
            for k in range(arg):
                repo.commit(f"topic {n}.{k}", {f"t{n}-{k}.txt": "t\n"})
            repo.git("switch", "-q", "main")
            line.append(repo.merge(f"topic{n}"))
            repo.git("branch", "-q", "-D", f"topic{n}")
    return line


@pytest.mark.parametrize("strategy", ["revert", "restore", "park", "reset"])
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=steps, pick=st.integers(min_value=0))
def test_tree_invariant_and_reachability(strategy: str, plan, pick: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "work"
        line = build(path, plan)
        target = line[pick % (len(line) - 1)]  # any first-parent commit but HEAD
        repo = Repo(path)
        original = set(repo.git("rev-list", "--all").split())
        git = GitRepo.open(path)
        journal = apply_plan(git, make_plan(git, strategy=strategy, to=target))
        assert journal.status == "completed"
        assert repo.tree() == repo.tree(target)
        assert repo.git("status", "--porcelain", "--untracked-files=all") == ""
        repo.git("reflog", "expire", "--expire=now", "--all")
        repo.git("gc", "-q", "--prune=now")
        assert original <= set(repo.git("rev-list", "--all").split())
