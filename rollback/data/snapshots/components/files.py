"""The files component: one compressed tar per configured path (``var``, ``pub/media``, ...).

Restore makes each path exactly as it was: files created since are removed, changed ones come
back, symlinks stay symlinks, modes (and owners, when run as root) are kept. The archive is
first extracted into a staging folder on the same filesystem as the path (inside it, so a
mounted volume works), with a strict member check; only then is the live content replaced.

Why not tarfile's ``data`` filter: it clears group/other write bits (modes would change) and
refuses symlinks pointing outside the folder, which real projects use (``app/etc/env.php`` ->
a shared file). Our check refuses exactly what could write outside the path: absolute names,
``..``, names passing through a symlink, duplicates over a symlink, hard links to anything
not already extracted, and device files.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import stat
import tarfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

from rollback.data.snapshots.base import Progress
from rollback.data.snapshots.components.base import Artifact, DumpResult
from rollback.data.snapshots.components.streams import open_decompressed
from rollback.data.snapshots.compress import CompressedWriter, sha256_file
from rollback.errors import OperationError, RefusedError

INDEX = "files.json"
STAGING = ".rollback-restore-"


class UnsafeArchive(RefusedError):
    """An archive entry would land outside the path it restores."""


class FilesComponent:
    kind = "files"

    def __init__(self, root: Path, paths: tuple[str, ...], name: str = "files") -> None:
        self.root = root
        self.paths = paths
        self.name = name

    def describe(self) -> str:
        return f"files {', '.join(self.paths) or '(none)'}"

    # --- dump ---------------------------------------------------------------------------

    def dump(self, dest: Path, progress: Progress) -> DumpResult:
        """Write ``files-<path>.tar.zst`` for each path plus ``files.json`` (the index)."""
        index: list[dict[str, Any]] = []
        artifacts: list[Artifact] = []
        raw = 0
        done = 0
        for i, rel in enumerate(self.paths):
            live = self.root / rel
            entry: dict[str, Any] = {"path": rel, "kind": _kind(live)}
            if entry["kind"] != "absent":
                name = f"files-{i}-{_slug(rel)}.tar.zst"
                with CompressedWriter(dest / name) as out:
                    done = _write_tar(live, cast(IO[bytes], out), done, progress, self.name)
                raw += out.raw_bytes
                artifacts.append(Artifact(name, out.size, out.sha256))
                entry["artifact"] = name
                st = live.lstat()
                entry.update(mode=stat.S_IMODE(st.st_mode), mtime=st.st_mtime)
            index.append(entry)
        index_path = dest / INDEX
        with index_path.open("w") as fh:
            json.dump({"paths": index}, fh, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        artifacts.append(Artifact(INDEX, index_path.stat().st_size, sha256_file(index_path)))
        details = {e["path"]: e["kind"] for e in index}
        return DumpResult(tuple(artifacts), raw, None, details)

    # --- restore ------------------------------------------------------------------------

    def for_restore_of(self, src: Path) -> FilesComponent:
        """A twin taking exactly the paths a restore of ``src`` will change (safety snapshot)."""
        return FilesComponent(self.root, tuple(e["path"] for e in _read_index(src)), self.name)

    def check_restore(self, src: Path) -> None:
        for entry in _read_index(src):
            live = self.root / entry["path"]
            if live.is_mount() and entry["kind"] != "dir":
                raise RefusedError(f"{entry['path']} is a mount point; it can only hold a folder")

    def restore(self, src: Path, progress: Progress) -> None:
        """Make every path of the snapshot exactly as it was when it was taken."""
        entries = _read_index(src)
        sizes = [(src / e["artifact"]).stat().st_size if "artifact" in e else 0 for e in entries]
        done = 0
        for entry, size in zip(entries, sizes, strict=True):
            live = self.root / entry["path"]
            kind = entry["kind"]
            if kind == "absent":
                _remove(live)
            elif kind == "dir":
                _restore_dir(live, src / entry["artifact"], entry)
            else:
                _restore_single(live, src / entry["artifact"])
            done += size  # compressed bytes: the only total known before extracting
            progress(self.name, done, sum(sizes))

    def verify(self, src: Path) -> list[str]:
        """Every archive must read to its end and hold only safe member names."""
        problems: list[str] = []
        try:
            entries = _read_index(src)
        except (OperationError, RefusedError) as exc:
            return [str(exc)]
        for entry in entries:
            if "artifact" not in entry:
                continue
            try:
                with open_decompressed(src / entry["artifact"]) as stream, _open_tar(stream) as tar:
                    links: set[PurePosixPath] = set()
                    for member in tar:
                        _check_name(member.name)
                        name = PurePosixPath(member.name)
                        if links.intersection(name.parents):
                            raise UnsafeArchive(
                                f"archive entry {member.name!r} passes through a symlink"
                            )
                        if member.issym():
                            links.add(name)
                        if member.islnk():
                            _check_name(member.linkname)
            except (tarfile.TarError, OSError, EOFError, UnsafeArchive) as exc:
                problems.append(f"{entry['artifact']}: {exc}")
            except Exception as exc:  # zstd raises its own error type on corrupt frames
                problems.append(f"{entry['artifact']}: {type(exc).__name__}: {exc}")
        return problems


# --- helpers ---------------------------------------------------------------------------------


def index_entry(root: Path, rel: str) -> dict[str, Any]:
    """What a restore needs to know of one path before reading its content: its kind
    (dir, file, symlink, absent) and, when present, its own mode and mtime."""
    live = root / rel
    entry: dict[str, Any] = {"path": rel, "kind": _kind(live)}
    if entry["kind"] != "absent":
        st = live.lstat()
        entry.update(mode=stat.S_IMODE(st.st_mode), mtime=st.st_mtime)
    return entry


def remove_path(path: Path) -> None:
    """Remove a file, symlink or folder tree (what a restore does to a path recorded absent)."""
    _remove(path)


def _kind(path: Path) -> str:
    if path.is_symlink():
        return "symlink"
    if path.is_dir():
        return "dir"
    return "file" if path.exists() else "absent"


def _slug(rel: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in rel).strip("-")[:40] or "path"


def _write_tar(live: Path, out: IO[bytes], done: int, progress: Progress, name: str) -> int:
    # PAX keeps long names, sub-second mtimes and utf-8 names exactly
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        if not live.is_dir() or live.is_symlink():
            tar.add(str(live), arcname=live.name, recursive=False)
            return done + live.lstat().st_size
        for dirpath, dirnames, filenames in os.walk(live):
            dirnames.sort()  # deterministic archives
            base = Path(dirpath)
            for entry in sorted(dirnames) + sorted(filenames):
                path = base / entry
                try:
                    st = path.lstat()
                    if not (
                        stat.S_ISREG(st.st_mode)
                        or stat.S_ISDIR(st.st_mode)
                        or stat.S_ISLNK(st.st_mode)
                    ):
                        continue  # sockets, fifos, devices: not data, cannot be restored safely
                    arcname = path.relative_to(live).as_posix()
                    tar.add(str(path), arcname=arcname, recursive=False)
                except FileNotFoundError:
                    # deleted while we walked (cache, session files): it was not there at
                    # the moment we reached it. tarfile opens the file before writing the
                    # header, so nothing partial reached the archive.
                    continue
                if stat.S_ISREG(st.st_mode):
                    done += st.st_size
                    progress(name, done, None)
    return done


def _open_tar(stream: IO[bytes]) -> tarfile.TarFile:
    return tarfile.open(fileobj=stream, mode="r|")


def _check_name(name: str) -> None:
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name or "\0" in name:
        raise UnsafeArchive(f"archive entry {name!r} would land outside its folder; refused")


def _safe_members(tar: tarfile.TarFile, dest: Path) -> Iterator[tarfile.TarInfo]:
    """Yield members after checking each against what is already extracted under ``dest``."""
    for member in tar:
        _check_name(member.name)
        if member.isdev():
            raise UnsafeArchive(f"archive entry {member.name!r} is a device file; refused")
        target = dest / member.name
        _check_inside(dest, target, member.name)
        if os.path.lexists(target) and (target.is_symlink() or not member.isdir()):
            raise UnsafeArchive(f"archive entry {member.name!r} appears twice; refused")
        if member.islnk():
            _check_name(member.linkname)
            source = dest / member.linkname
            _check_inside(dest, source, member.linkname)
            if source.is_symlink() or not source.is_file():
                raise UnsafeArchive(f"hard link {member.name!r} has no target in the archive")
        yield member


def _check_inside(dest: Path, target: Path, name: str) -> None:
    # every folder between dest and target must be a real folder, never a symlink
    current = dest
    for part in PurePosixPath(name).parts[:-1]:
        current = current / part
        if current.is_symlink():
            raise UnsafeArchive(f"archive entry {name!r} passes through a symlink; refused")


def _extract(artifact: Path, dest: Path) -> None:
    kwargs: dict[str, Any] = {}
    if hasattr(tarfile, "fully_trusted_filter"):
        kwargs["filter"] = "fully_trusted"  # our own check runs in _safe_members
    with open_decompressed(artifact) as stream, _open_tar(stream) as tar:
        tar.extractall(dest, members=_safe_members(tar, dest), **kwargs)  # noqa: S202


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _restore_dir(live: Path, artifact: Path, entry: dict[str, Any]) -> None:
    staging = stage_dir(live)
    try:
        _extract(artifact, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    swap_dir(live, staging, staging, entry)


def stage_dir(live: Path) -> Path:
    """A new staging folder inside ``live`` (made a folder if needed): the same filesystem
    even when ``live`` is a mounted volume, so the swap is renames only."""
    if os.path.lexists(live) and (live.is_symlink() or not live.is_dir()):
        live.unlink()
    live.mkdir(parents=True, exist_ok=True)
    staging = live / f"{STAGING}{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    return staging


def swap_dir(live: Path, staging: Path, content: Path, entry: dict[str, Any]) -> None:
    """Replace the children of ``live`` with those of ``content`` (``staging`` or a folder in
    it, fully extracted and checked), then give ``live`` its recorded mode and mtime."""
    try:
        for child in list(live.iterdir()):
            if child != staging:
                _remove(child)
        for child in list(content.iterdir()):
            os.rename(child, live / child.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(staging)
    os.chmod(live, int(entry["mode"]))
    os.utime(live, (float(entry["mtime"]), float(entry["mtime"])))


def _restore_single(live: Path, artifact: Path) -> None:
    staging = stage_single(live)
    try:
        _extract(artifact, staging)
        swap_single(live, staging / live.name, artifact.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stage_single(live: Path) -> Path:
    """A new staging folder beside ``live`` (a single file or symlink)."""
    live.parent.mkdir(parents=True, exist_ok=True)
    staging = live.parent / f"{STAGING}{secrets.token_hex(4)}"
    staging.mkdir(mode=0o700)
    return staging


def swap_single(live: Path, extracted: Path, source: str) -> None:
    """Put ``extracted`` in the place of ``live`` with one rename (the caller removes the
    staging folder)."""
    if not os.path.lexists(extracted):
        raise UnsafeArchive(f"{source} does not contain {live.name!r}")
    if live.is_dir() and not live.is_symlink():
        shutil.rmtree(live)
    os.replace(extracted, live)


def _read_index(src: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((src / INDEX).read_text())
        entries = data["paths"]
        for entry in entries:
            _check_name(str(entry["path"]))
            if entry["kind"] not in ("dir", "file", "symlink", "absent"):
                raise ValueError(f"unknown kind {entry['kind']!r}")
            if entry["kind"] != "absent" and "/" in str(entry["artifact"]):
                raise ValueError("bad artifact name")
    except UnsafeArchive:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise OperationError(f"{INDEX} of this snapshot is unreadable: {exc}") from exc
    return cast(list[dict[str, Any]], entries)
