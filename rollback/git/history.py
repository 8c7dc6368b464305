"""First-parent history of the current branch, annotated for rollback decisions.

Reading costs a fixed number of git processes whatever the number of commits: one ``git log``
for the commits and the files they change, one ``rev-list`` for what is not pushed yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Protocol

from rollback.git.repo import GitRepo


class MigrationRules(Protocol):
    """Which changed files touch the data (``data.frameworks.MigrationRules`` is one).

    Declared here so that git reading does not depend on the data package above it.
    """

    @property
    def presets(self) -> tuple[str, ...]: ...

    @property
    def patterns(self) -> tuple[str, ...]: ...

    def matches(self, path: str) -> bool: ...


# -z with NUL-separated fields: no byte a subject or an author name can hold shifts a field.
# Each commit starts with an empty field (a file name is never empty), so the names that
# --name-only lists after a commit can never be taken for the next commit's fields.
_FORMAT = "%x00%H%x00%P%x00%T%x00%ct%x00%an%x00%ae%x00%D%x00%s"
_FIELDS = 8


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parents: tuple[str, ...]
    committed_at: int  # unix seconds, committer date
    author: str
    email: str
    subject: str
    tags: tuple[str, ...] = ()
    branches: tuple[str, ...] = ()
    pushed: bool | None = None  # None: no remote to compare with
    data_files: tuple[str, ...] = ()  # changed files matching the migration patterns
    tree: str = ""  # the commit's tree: a commit whose tree is its first parent's is empty

    @property
    def short(self) -> str:
        return self.sha[:10]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def touches_data(self) -> bool:
        return bool(self.data_files)

    @property
    def date(self) -> datetime:
        return datetime.fromtimestamp(self.committed_at, tz=timezone.utc)


@dataclass(frozen=True)
class History:
    """Commits newest first. ``complete`` is False when a limit cut the listing short."""

    branch: str | None
    head: str
    upstream: str | None
    commits: tuple[CommitInfo, ...]
    complete: bool
    presets: tuple[str, ...] = ()
    has_remote: bool = False
    index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.index.update({c.sha: i for i, c in enumerate(self.commits)})

    def position(self, sha: str) -> int | None:
        return self.index.get(sha)


def _parse_refs(decoration: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    tags: list[str] = []
    branches: list[str] = []
    for item in filter(None, (part.strip() for part in decoration.split(","))):
        if item.startswith("tag: "):
            tags.append(item[5:])
        elif item.startswith("HEAD -> "):
            branches.append(item[8:])
        elif item != "HEAD" and not item.endswith("/HEAD"):
            branches.append(item)
    return tuple(tags), tuple(branches)


def parse_log(raw: str, rules: MigrationRules | None = None) -> list[CommitInfo]:
    """Parse ``git log -z --format=_FORMAT`` output, with ``--name-only`` when ``rules`` is set.

    Each commit is ``NUL sha NUL parents NUL ... subject NUL`` and, with names, ``NL name NUL
    name NUL ...``; the names matching the migration patterns become ``data_files``.
    """
    fields = raw.split("\0")
    commits = []
    i = 0
    while i < len(fields):
        if fields[i] != "" or i + _FIELDS >= len(fields):
            i += 1
            continue
        sha, parents, tree, ct, author, email, deco, subject = fields[i + 1 : i + 1 + _FIELDS]
        i += 1 + _FIELDS
        names: list[str] = []
        while i < len(fields) and fields[i] != "":
            names.append(fields[i].lstrip("\n"))
            i += 1
        data_files: tuple[str, ...] = ()
        if rules is not None and names:
            data_files = tuple(n for n in names if n and rules.matches(n))
        tags, branches = _parse_refs(deco)
        commits.append(
            CommitInfo(
                sha=sha.lstrip("\n"),
                parents=tuple(parents.split()),
                committed_at=int(ct),
                author=author,
                email=email,
                subject=subject.rstrip("\n"),
                tags=tags,
                branches=branches,
                data_files=data_files,
                tree=tree,
            )
        )
    return commits


def read_history(
    repo: GitRepo,
    rules: MigrationRules,
    *,
    limit: int | None = None,
    since: str | None = None,
    head: str | None = None,
    branch: str | None = None,
) -> History:
    """Read the first-parent history of HEAD, newest first.

    ``since``: stop at (exclude) this commit and everything reachable from it, i.e. the range
    ``since..HEAD``. ``limit``: at most this many commits.
    """
    if head is None:
        branch, head = repo.where()
    elif branch is None:
        branch = repo.branch()
    if head is None:
        from rollback.errors import UsageError

        raise UsageError("the repository has no commits yet: nothing to roll back")
    rev_args = [f"{since}..{head}" if since else head]
    limit_args = [f"--max-count={limit + 1}"] if limit is not None else []
    # one process for commits and their changed files; filtering names here is ~3x faster
    # than a ':(glob)**/...' pathspec walk, which cannot prune folders
    names = ["--diff-merges=first-parent", "--name-only"] if rules.patterns else []
    raw = repo.log("--first-parent", "-z", *names, f"--format={_FORMAT}", *limit_args, *rev_args)
    commits = parse_log(raw, rules if rules.patterns else None)
    complete = limit is None or len(commits) <= limit
    commits = commits[:limit] if limit is not None else commits
    has_remote = repo.has_remotes()
    unpushed = repo.unpushed(head) if has_remote else set()
    annotated = tuple(
        replace(c, pushed=None if not has_remote else c.sha not in unpushed) for c in commits
    )
    return History(
        branch=branch,
        head=head,
        upstream=repo.upstream(),
        commits=annotated,
        complete=complete,
        presets=rules.presets,
        has_remote=has_remote,
    )
