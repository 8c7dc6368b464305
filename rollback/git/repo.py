"""The one gateway to git. Only this module imports GitPython.

Everything above it sees plain strings and dataclasses. Reads go through ``git log`` /
``rev-parse`` in as few processes as possible; writes use plumbing (commit objects written to
the object database, ``update-ref`` compare-and-swap with a reflog reason, ``read-tree -m -u``
which refuses to overwrite untracked files).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rollback.errors import OperationError, RefusedError, UsageError

if TYPE_CHECKING:
    import git

NULL_SHA = "0" * 40
EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


class GitError(OperationError):
    """A git command failed; ``stderr`` holds what git said."""

    def __init__(self, args: list[str], status: int, stderr: str) -> None:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {status}"
        # git's "fatal:" line names the cause ("c.dat: smudge filter lfs failed"); "error:"
        # lines before it are often its echoes ("external filter ... failed 1")
        fatal = [line for line in lines if line.startswith("fatal:")]
        errors = [line for line in lines if line.startswith("error:")]
        if fatal or errors:
            reason = (fatal or errors)[0]
        super().__init__(f"git {args[0]} failed: {reason}")
        self.git_args = args
        self.status = status
        self.stderr = stderr


class GitRepo:
    """A repository opened at (or above) a folder."""

    def __init__(self, repo: git.Repo) -> None:
        self._repo = repo
        self.root = Path(repo.working_tree_dir or repo.git_dir)
        self.git_dir = Path(repo.git_dir)
        self._object_format: str | None = None
        self._common_dir: Path | None = None
        self._version: tuple[int, int] | None = None
        self._loose: Any = None

    @classmethod
    def open(cls, path: str | Path | None = None) -> GitRepo:
        """Open the repository containing ``path`` (default: the current folder)."""
        import git

        where = Path(path or os.getcwd())
        if not where.exists():
            raise UsageError(f"{where}: no such folder")
        try:
            repo = git.Repo(where, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
            raise UsageError(
                f"{where} is not inside a git repository",
                hint="run rollback inside your project's git work tree, or pass --repo PATH",
            ) from exc
        if repo.bare:
            raise UsageError(f"{where} is a bare repository: rollback needs a work tree")
        return cls(repo)

    # -- running git -------------------------------------------------------------------------

    def git(self, *args: str, check: bool = True) -> str:
        """Run ``git ARGS`` in the work tree; return stdout without its trailing newline."""
        status, out, err = self.git_status(*args)
        if check and status != 0:
            raise GitError(list(args), status, err)
        return out

    def git_status(self, *args: str) -> tuple[int, str, str]:
        """Run ``git ARGS``; return (exit status, stdout, stderr) without raising."""
        import git

        try:
            result: Any = self._repo.git.execute(
                ["git", *args],
                with_extended_output=True,
                with_exceptions=False,
                strip_newline_in_stdout=True,
            )
        except git.GitCommandNotFound as exc:
            raise OperationError("git is not installed or not on PATH") from exc
        status, out, err = result
        return int(status or 0), str(out), str(err)

    # -- reading -----------------------------------------------------------------------------

    def rev_parse(self, rev: str) -> str | None:
        """The full sha of commit ``rev``, or None when it does not name a commit."""
        status, out, _ = self.git_status(
            "rev-parse", "--verify", "-q", "--end-of-options", f"{rev}^{{commit}}"
        )
        return out.strip() if status == 0 and out.strip() else None

    def head(self) -> str | None:
        return self.rev_parse("HEAD")

    def branch(self) -> str | None:
        """The checked-out branch's name (``main``), or None when HEAD is detached.

        Not ``symbolic-ref --short``: with a tag named like the branch it says ``heads/main``.
        """
        status, out, _ = self.git_status("symbolic-ref", "-q", "HEAD")
        return _branch_name(out.strip()) if status == 0 else None

    def where(self) -> tuple[str | None, str | None]:
        """(checked-out branch, HEAD commit) in one git process: ``branch()`` and ``head()``."""
        status, out, _ = self.git_status(
            "rev-parse", "HEAD^{commit}", "--symbolic-full-name", "HEAD", "--"
        )
        lines = out.split("\n")
        if status != 0 or len(lines) < 2:  # no commit yet (an unborn branch)
            return self.branch(), self.head()
        return _branch_name(lines[1].strip()), lines[0].strip()

    def upstream(self) -> str | None:
        status, out, _ = self.git_status(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}"
        )
        return out.strip() if status == 0 and out.strip() else None

    def ahead_behind(self, upstream: str) -> tuple[int, int]:
        out = self.git("rev-list", "--left-right", "--count", f"HEAD...{upstream}")
        ahead, behind = out.split()
        return int(ahead), int(behind)

    def has_remotes(self) -> bool:
        return bool(self.git("remote").strip())

    def unpushed(self, rev: str = "HEAD") -> set[str]:
        """Commits reachable from ``rev`` but from no remote-tracking branch."""
        out = self.git("rev-list", rev, "--not", "--remotes")
        return set(out.split())

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository").strip() == "true"

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        status, _, _ = self.git_status("merge-base", "--is-ancestor", ancestor, descendant)
        return status == 0

    def log(self, *args: str) -> str:
        """Raw ``git log`` output; the caller chooses the format."""
        return self.git("log", *args)

    def tree_of(self, rev: str) -> str:
        return self.git("rev-parse", f"{rev}^{{tree}}").strip()

    def index_locked(self) -> bool:
        return (self.git_dir / "index.lock").exists()

    def refs(self, *names: str) -> dict[str, str]:
        """The values of the full ref names that exist, in one process."""
        out = self.git("for-each-ref", "--format=%(refname)%00%(objectname)", *names)
        values = {}
        for line in out.splitlines():
            name, _, sha = line.partition("\0")
            if name in names:
                values[name] = sha
        return values

    def ref(self, name: str) -> str | None:
        status, out, _ = self.git_status("rev-parse", "--verify", "-q", name)
        return out.strip() if status == 0 and out.strip() else None

    # -- writing -----------------------------------------------------------------------------

    def idents(self) -> tuple[str, str]:
        """(author, committer) identity lines as git would write them now."""
        author = self.git("var", "GIT_AUTHOR_IDENT").strip()
        committer = self.git("var", "GIT_COMMITTER_IDENT").strip()
        return author, committer

    def object_format(self) -> str:
        if self._object_format is None:
            self._read_layout()
        assert self._object_format is not None
        return self._object_format

    def _read_layout(self) -> None:
        """Object format and the common git folder (shared by worktrees), in one process."""
        out = self.git("rev-parse", "--show-object-format", "--git-common-dir").split("\n")
        self._object_format = out[0].strip() or "sha1"
        common = Path(out[1].strip())
        self._common_dir = common if common.is_absolute() else self.root / common

    def write_commit(
        self, tree: str, parents: list[str], message: str, author: str, committer: str
    ) -> str:
        """Write a commit object (no ref moves) and return its sha."""
        from io import BytesIO

        from gitdb.base import IStream

        if self.object_format() != "sha1":  # gitdb writes SHA-1 objects only
            raise OperationError("SHA-256 repositories are not supported yet")
        data = commit_bytes(tree, parents, message, author, committer)
        istream = self._loose_db().store(IStream(b"commit", len(data), BytesIO(data)))
        sha = istream.hexsha.decode() if isinstance(istream.hexsha, bytes) else str(istream.hexsha)
        expected = hashlib.sha1(b"commit %d\0" % len(data) + data, usedforsecurity=False)
        if sha != expected.hexdigest():
            raise OperationError(f"commit object written as {sha}, expected {expected.hexdigest()}")
        return sha

    def write_commits(self, commits: list[bytes]) -> None:
        """Write many commit objects (from ``commit_bytes``) as one pack, in one git process.

        One loose file per object costs a file creation each; a pack costs one.
        """
        if self.object_format() != "sha1":
            raise OperationError("SHA-256 repositories are not supported yet")
        if commits:
            from rollback.proc import run

            run(["git", "index-pack", "--stdin"], cwd=self.root, input=build_pack(commits))

    def git_version(self) -> tuple[int, int]:
        if self._version is None:
            out = self.git("version")  # "git version 2.39.5"
            numbers = out.split()[2].split(".")
            self._version = (int(numbers[0]), int(numbers[1]))
        return self._version

    def _loose_db(self) -> Any:
        """gitdb's in-process loose-object writer (GitPython's default odb forks git per object)."""
        if self._loose is None:
            from gitdb.db import LooseObjectDB

            if self._common_dir is None:
                self._read_layout()
            assert self._common_dir is not None
            self._loose = LooseObjectDB(str(self._common_dir / "objects"))
        return self._loose

    def merge_tree(
        self, ours: str, theirs: str, *, base: str | None = None
    ) -> tuple[str, list[str]]:
        """Three-way merge of two commits in memory: (result tree, conflicted paths).

        Touches neither the index nor the work tree; the result tree is written to the object
        database whether or not there are conflicts.
        """
        args = ["merge-tree", "--write-tree", "--name-only", "--no-messages"]
        if base is not None:
            args.append(f"--merge-base={base}")
        status, out, err = self.git_status(*args, ours, theirs)
        if status not in (0, 1):
            raise GitError(["merge-tree"], status, err)
        lines = out.split("\n")
        conflicts = [line for line in lines[1:] if line.strip()] if status == 1 else []
        return lines[0].strip(), sorted(set(conflicts))

    def revert_tree(self, commit: str, parent_tree: str, onto_tree: str) -> tuple[str, list[str]]:
        """The tree ``git revert -m 1 COMMIT`` would give on top of ``onto_tree``.

        ``parent_tree`` is the tree of the commit's first parent. Git before 2.40 has no
        ``merge-tree --merge-base``: merge two throwaway commits whose only common ancestor is
        ``commit`` instead, which is the same three-way merge.
        """
        if self.git_version() >= (2, 40):
            ours = self._throwaway(onto_tree, [])
            theirs = self._throwaway(parent_tree, [])
            return self.merge_tree(ours, theirs, base=commit)
        ours = self._throwaway(onto_tree, [commit])
        theirs = self._throwaway(parent_tree, [commit])
        return self.merge_tree(ours, theirs)

    def _throwaway(self, tree: str, parents: list[str]) -> str:
        # Dated now, not 0: git's merge-base walk visits commits newest first, so a throwaway
        # dated 1970 is reached last, after the walk from its sibling has gone through the
        # whole history (65 ms per merge-tree on 10,000 commits instead of ~3 ms).
        import time

        ident = f"rollback <rollback@localhost> {int(time.time())} +0000"
        return self.write_commit(tree, parents, "rollback: conflict prediction\n", ident, ident)

    def update_ref(self, ref: str, new: str, old: str | None, reason: str) -> None:
        """Move ``ref`` to ``new`` only if it is at ``old`` (None: it must not exist yet)."""
        expected = NULL_SHA if old is None else old
        status, _, err = self.git_status("update-ref", "-m", reason, ref, new, expected)
        if status != 0:
            _ref_error(ref, expected, err, status)

    def delete_ref(self, ref: str, old: str) -> None:
        status, _, err = self.git_status("update-ref", "-d", ref, old)
        if status != 0:
            _ref_error(ref, old, err, status)

    def checkout_tree(self, old: str, new: str) -> None:
        """Update index and work tree from commit ``old`` to ``new`` (two-tree merge).

        Refuses, changing nothing, where an untracked file would be overwritten; updates
        submodules as ``git checkout --recurse-submodules`` does.
        """
        self.git_status("update-index", "-q", "--refresh")
        self.git("read-tree", "-m", "-u", "--recurse-submodules", old, new)

    def reset_tree(self, commit: str) -> None:
        """Index and work tree to ``commit``, overwriting tracked changes (recovery only).

        The caller has checked that every change in the way is one of ours.
        """
        self.git("read-tree", "--reset", "-u", "--recurse-submodules", commit)

    def push(self, remote: str, *refspecs: str, force_with_lease: str | None = None) -> None:
        args = ["push", "--porcelain", remote, *refspecs]
        if force_with_lease:
            args.insert(1, f"--force-with-lease={force_with_lease}")
        status, out, err = self.git_status(*args)
        if status != 0:
            # the reason is on stdout ("!  src:dst  [rejected] (stale info)") and in what the
            # remote's hooks said ("remote: ..."): name those, not "failed to push some refs"
            rejected = [line.split("\t")[-1] for line in out.splitlines() if line.startswith("!")]
            said = [line for line in err.splitlines() if line.startswith("remote:")]
            reason = "; ".join(rejected + said[-2:])
            raise GitError(["push"], status, f"error: {reason}" if reason else err)


def _ref_error(ref: str, expected: str, err: str, status: int) -> None:
    """A compare-and-swap that found the ref elsewhere is a refusal; anything else is git's
    own failure, named by its real cause (``File name too long``, a full disk)."""
    if "but expected" in err or "reference already exists" in err or "is at " in err:
        raise RefusedError(
            f"{ref} was not where we expected it ({expected[:10]}); nothing moved",
            hint=err.strip().splitlines()[-1] if err.strip() else None,
        )
    lines = [line for line in err.strip().splitlines() if line.strip()]
    cause = lines[-1] if lines else f"exit code {status}"
    for marker in ("Unable to create ", "unable to "):  # git puts the OS error last
        if marker in cause and ": " in cause:
            cause = cause.rsplit(": ", 1)[1]
            break
    raise GitError(["update-ref", ref], status, f"fatal: {cause} ({ref})")


def _branch_name(full: str) -> str | None:
    """refs/heads/main -> main; anything else (a detached HEAD prints "HEAD") -> None."""
    prefix = "refs/heads/"
    return full[len(prefix) :] if full.startswith(prefix) else None


def commit_bytes(tree: str, parents: list[str], message: str, author: str, committer: str) -> bytes:
    """The raw content of a commit object."""
    lines = [f"tree {tree}"] + [f"parent {p}" for p in parents]
    lines += [f"author {author}", f"committer {committer}", "", message]
    return "\n".join(lines).encode("utf-8")


def object_sha(kind: bytes, data: bytes) -> str:
    return hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data, usedforsecurity=False).hexdigest()


def build_pack(commits: list[bytes]) -> bytes:
    """A version-2 pack of undeltified commit objects (type 1), with its SHA-1 trailer."""
    import struct
    import zlib

    parts = [b"PACK", struct.pack(">II", 2, len(commits))]
    for data in commits:
        size = len(data)
        header = bytearray([(1 << 4) | (size & 0x0F)])
        size >>= 4
        while size:
            header[-1] |= 0x80
            header.append(size & 0x7F)
            size >>= 7
        parts.append(bytes(header))
        parts.append(zlib.compress(data, 1))
    body = b"".join(parts)
    return body + hashlib.sha1(body, usedforsecurity=False).digest()
