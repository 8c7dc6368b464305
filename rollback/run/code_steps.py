"""Handlers for the code steps of a plan. Each returns a JSON-able result for the journal.

Commits are written with plumbing into the object database (no work-tree churn per commit);
the branch then moves once (``worktree.move``: the intent journaled, the branch moved
compare-and-swap, then index and work tree by a two-tree ``read-tree -m -u`` that refuses to
overwrite untracked files). Git output is read with NUL-separated fields only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollback.code.strategies import revert_message
from rollback.errors import OperationError, RefusedError
from rollback.git import state
from rollback.git.repo import EMPTY_TREE, GitRepo, commit_bytes, object_sha
from rollback.run.worktree import move, settle

if TYPE_CHECKING:
    from rollback.plan import Step
    from rollback.run.context import Handler, RunContext


def _first_line(body: str) -> str:
    for line in body.split("\n"):
        if line.strip():
            return line
    return ""


def _records(repo: GitRepo, *rev_args: str) -> list[tuple[str, list[str], str, str]]:
    """(sha, parents, tree, first line of message) for each commit, in log order.

    ``-z`` ends each commit with NUL and the fields are NUL-separated: no byte a message can
    hold shifts a field.
    """
    fields = repo.log("-z", "--format=%H%x00%P%x00%T%x00%B", *rev_args).split("\0")
    out = []
    for i in range(0, len(fields) - 3, 4):
        sha, parents, tree, body = fields[i : i + 4]
        out.append((sha.lstrip("\n"), parents.split(), tree, _first_line(body)))
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
    branch = str(step.params["branch"])
    old, new = str(step.params["from"]), ctx.resolve(str(step.params["to"]))
    moving = ctx.journal.moving
    if moving and (moving["from"], moving["to"]) == (old, new):
        settle(ctx.repo, ctx.journal, forward=True)  # a resumed run, killed inside the move
    elif old != new:
        why = ctx.plan.strategy
        move(ctx.repo, ctx.journal, branch=branch, old=old, new=new, why=why, tree=True)
    return {"branch": branch, "from": old, "to": new}


def create_branch(ctx: RunContext, step: Step) -> dict[str, Any]:
    name, sha = str(step.params["branch"]), str(step.params["sha"])
    ref = f"refs/heads/{name}"
    if ctx.repo.ref(ref) != sha:
        ctx.repo.update_ref(ref, sha, None, f"rollback {ctx.plan.id}: park")
    return {"branch": name, "sha": sha}


def push(ctx: RunContext, step: Step) -> dict[str, Any]:
    """Push with a lease on what the remote had (none: a new branch must not exist there).

    The intent (remote ref, its value before, what is pushed) is journaled first, so that a
    failure after the push, or an abort, can put the remote ref back.
    """
    remote, branch = str(step.params["remote"]), str(step.params["branch"])
    ref = f"refs/heads/{branch}"
    tracking = f"refs/remotes/{remote}/{branch}"
    known = ctx.repo.refs(ref, tracking)
    if step.params.get("force"):
        before: str | None = str(step.params["lease"])
    else:
        before = known.get(tracking)
    pushed = known.get(ref)
    if pushed is None:
        raise OperationError(f"branch {branch} does not exist: nothing to push")
    ctx.intend({"remote": remote, "ref": ref, "before": before, "pushed": pushed})
    ctx.repo.push(remote, f"{ref}:{ref}", force_with_lease=f"{ref}:{before or ''}")
    return {"remote": remote, "branch": branch, "sha": pushed, "before": before}


def stop_at_conflict(ctx: RunContext, step: Step) -> dict[str, Any]:
    commits = [str(c) for c in step.params["commits"]]
    onto = ctx.repo.head()
    ctx.intend({"onto": onto})
    status, _, err = ctx.repo.git_status("revert", "--no-edit", "-m", "1", *commits)
    if status == 0:
        return {"stopped": False, "onto": onto}
    if state.busy(ctx.repo) is None:
        raise OperationError(
            f"git revert failed: {err.strip().splitlines()[-1] if err else status}"
        )
    conflicts = ctx.repo.git("diff", "-z", "--name-only", "--diff-filter=U").split("\0")
    return {"stopped": True, "onto": onto, "conflicts": [c for c in conflicts if c]}


HANDLERS: dict[str, Handler] = {
    "safety-ref": safety_ref,
    "write-commits": write_commits,
    "move-branch": move_branch,
    "create-branch": create_branch,
    "push": push,
    "stop-at-conflict": stop_at_conflict,
}
