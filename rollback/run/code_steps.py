"""Handlers for the code steps of a plan. Each returns a JSON-able result for the journal.

Commits are written with plumbing into the object database (no work-tree churn per commit);
the branch then moves once, compare-and-swap, with the work tree updated by a two-tree
``read-tree -m -u`` that refuses to overwrite untracked files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollback.code.strategies import revert_message
from rollback.errors import OperationError, RefusedError
from rollback.git.repo import EMPTY_TREE, GitRepo, commit_bytes, object_sha

if TYPE_CHECKING:
    from rollback.plan import Step
    from rollback.run.context import Handler, RunContext


def _first_line(body: str) -> str:
    for line in body.split("\n"):
        if line.strip():
            return line
    return ""


def _records(repo: GitRepo, *rev_args: str) -> list[tuple[str, list[str], str, str]]:
    """(sha, parents, tree, first line of message) for each commit, in log order."""
    raw = repo.log("--format=%x1e%H%x1f%P%x1f%T%x1f%B", *rev_args)
    out = []
    for record in raw.split("\x1e"):
        if not record.strip():
            continue
        sha, parents, tree, body = record.split("\x1f", 3)
        out.append((sha, parents.split(), tree, _first_line(body)))
    return out


def safety_ref(ctx: RunContext, step: Step) -> dict[str, Any]:
    ref, sha = str(step.params["ref"]), str(step.params["sha"])
    try:
        ctx.repo.update_ref(ref, sha, None, f"rollback {ctx.plan.id}: before")
    except RefusedError:
        if ctx.repo.ref(ref) != sha:  # a resumed run may have made it already: that is fine
            raise
    return {"ref": ref, "sha": sha}


def write_commits(ctx: RunContext, step: Step) -> dict[str, Any]:
    mode = step.params["mode"]
    repo, plan = ctx.repo, ctx.plan
    author, committer = repo.idents()
    if mode == "restore":
        tree = repo.tree_of(str(step.params["tree_of"]))
        sha = repo.write_commit(tree, [plan.head], str(step.params["message"]), author, committer)
        return {"written": sha, "count": 1}
    commits = [str(c) for c in step.params["commits"]]
    if mode == "revert":
        records = _records(repo, "--first-parent", f"{plan.target}..{plan.head}")
        if [r[0] for r in records] != commits:
            raise OperationError("the history changed since the plan was made; make a new plan")
        trees = [r[2] for r in records[1:]] + [repo.tree_of(plan.target)]
        pairs = list(zip(records, trees, strict=True))
    elif mode == "revert-selected":
        records = _records(repo, "--no-walk=unsorted", *commits)
        pairs = _merged_trees(repo, records, plan.head)
    else:
        raise OperationError(f"unknown write-commits mode {mode!r}")
    parent = plan.head
    current_tree = repo.tree_of(plan.head)
    objects, skipped = [], []
    for (sha, parents, _tree, first_line), result_tree in pairs:
        if result_tree == current_tree:  # git revert stops on an empty revert; we skip it
            skipped.append(sha)
            continue
        message = revert_message(sha, first_line, parents)
        data = commit_bytes(result_tree, [parent], message, author, committer)
        objects.append(data)
        parent = object_sha(b"commit", data)  # the next revert's parent, before it is written
        current_tree = result_tree
    repo.write_commits(objects)
    return {"written": parent, "count": len(objects), "skipped_empty": skipped}


def _merged_trees(
    repo: GitRepo, records: list[tuple[str, list[str], str, str]], head: str
) -> list[tuple[tuple[str, list[str], str, str], str]]:
    parent_revs = [f"{r[1][0]}^{{tree}}" if r[1] else EMPTY_TREE for r in records]
    parent_trees = repo.git("rev-parse", *parent_revs).split()
    onto = repo.tree_of(head)
    pairs = []
    for record, parent_tree in zip(records, parent_trees, strict=True):
        tree, conflicts = repo.revert_tree(record[0], parent_tree, onto)
        if conflicts:
            raise OperationError(f"reverting {record[0][:10]} conflicts in {', '.join(conflicts)}")
        pairs.append((record, tree))
        onto = tree
    return pairs


def move_branch(ctx: RunContext, step: Step) -> dict[str, Any]:
    repo = ctx.repo
    branch = str(step.params["branch"])
    old, new = str(step.params["from"]), ctx.resolve(str(step.params["to"]))
    ref = f"refs/heads/{branch}"
    at = repo.ref(ref)
    if at == new:  # a resumed run: already moved
        return {"branch": branch, "from": old, "to": new}
    repo.checkout_tree(old, new)
    try:
        repo.update_ref(ref, new, old, f"rollback {ctx.plan.id}: {ctx.plan.strategy}")
    except Exception:
        repo.checkout_tree(new, old)
        raise
    return {"branch": branch, "from": old, "to": new}


def create_branch(ctx: RunContext, step: Step) -> dict[str, Any]:
    name, sha = str(step.params["branch"]), str(step.params["sha"])
    ref = f"refs/heads/{name}"
    if ctx.repo.ref(ref) != sha:
        ctx.repo.update_ref(ref, sha, None, f"rollback {ctx.plan.id}: park")
    return {"branch": name, "sha": sha}


def push(ctx: RunContext, step: Step) -> dict[str, Any]:
    remote, branch = str(step.params["remote"]), str(step.params["branch"])
    if step.params.get("force"):
        lease = f"{branch}:{step.params['lease']}"
        ctx.repo.push(remote, f"refs/heads/{branch}:refs/heads/{branch}", force_with_lease=lease)
    else:
        ctx.repo.push(remote, f"refs/heads/{branch}:refs/heads/{branch}")
    return {"remote": remote, "branch": branch, "sha": ctx.repo.ref(f"refs/heads/{branch}")}


def stop_at_conflict(ctx: RunContext, step: Step) -> dict[str, Any]:
    commits = [str(c) for c in step.params["commits"]]
    status, _, err = ctx.repo.git_status("revert", "--no-edit", "-m", "1", *commits)
    if status == 0:
        return {"stopped": False}
    if ctx.repo.in_progress() is None:
        raise OperationError(
            f"git revert failed: {err.strip().splitlines()[-1] if err else status}"
        )
    return {"stopped": True, "conflicts": ctx.repo.git("diff", "--name-only", "--diff-filter=U")}


HANDLERS: dict[str, Handler] = {
    "safety-ref": safety_ref,
    "write-commits": write_commits,
    "move-branch": move_branch,
    "create-branch": create_branch,
    "push": push,
    "stop-at-conflict": stop_at_conflict,
}
