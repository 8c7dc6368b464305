"""Files component: exact round trip, and refusal of archives that would escape their folder."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from rollback.data.snapshots.base import no_progress
from rollback.data.snapshots.components.files import FilesComponent, UnsafeArchive, _extract
from rollback.data.snapshots.compress import CompressedWriter
from rollback.errors import RefusedError
from tests.snapshots.localstore import make_store, tree_state


def _project(root: Path) -> None:
    media = root / "pub" / "media"
    (media / "catalog" / "product").mkdir(parents=True)
    (media / "catalog" / "product" / "shirt.jpg").write_bytes(bytes(range(256)) * 40)
    (media / "readme.txt").write_text("Grüße, 日本語 ✓\n")
    (media / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(media / "script.sh", 0o750)
    os.symlink("catalog/product/shirt.jpg", media / "latest.jpg")
    os.symlink("/etc/hostname", media / "outside-link")  # a legitimate link out of the folder
    (root / "app" / "etc").mkdir(parents=True)
    (root / "app" / "etc" / "env.php").write_text("<?php return ['db' => 'shop'];\n")
    os.chmod(root / "app" / "etc", 0o750)


def test_restore_makes_each_path_exactly_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    _project(root)
    store = make_store(root, paths=["pub/media", "app/etc", "var"])
    before = {p: tree_state(root / p) for p in ("pub/media", "app/etc", "var")}
    snap = store.create("before deploy")
    assert snap.components == ("files",)

    media = root / "pub" / "media"
    (media / "new-upload.png").write_bytes(b"\x89PNG new")  # added since
    (media / "readme.txt").write_text("changed\n")  # changed
    (media / "catalog" / "product" / "shirt.jpg").unlink()  # removed
    (media / "latest.jpg").unlink()
    (media / "latest.jpg").mkdir()  # a symlink became a folder
    os.chmod(media / "script.sh", 0o644)  # mode changed
    (root / "app" / "etc" / "env.php").unlink()
    (root / "var").mkdir()  # absent at snapshot time: must be absent again
    (root / "var" / "cache.txt").write_text("x")

    result = store.restore(snap.id)
    assert result.safety_snapshot is not None
    assert {p: tree_state(root / p) for p in before} == before
    assert not (root / "var").exists()
    assert os.readlink(media / "latest.jpg") == "catalog/product/shirt.jpg"

    # the safety snapshot holds the changed state, and restoring it brings that back
    store.restore(result.safety_snapshot.id, safety=False)
    assert (media / "new-upload.png").read_bytes() == b"\x89PNG new"
    assert (root / "var" / "cache.txt").read_text() == "x"


def test_default_paths_are_the_magento_folders_that_exist(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    root.mkdir()
    (root / "var" / "log").mkdir(parents=True)
    (root / "var" / "log" / "system.log").write_text("line\n")
    store = make_store(root)
    assert store.settings.present_paths() == ("var",)
    snap = store.create()
    m = store.manifest(snap.id)
    assert m.components[0].details == {"var": "dir"}


def _malicious(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]) -> Path:
    art = tmp_path / "evil.tar.zst"
    with CompressedWriter(art) as out, tarfile.open(fileobj=out, mode="w|") as tar:  # type: ignore[call-overload]
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return art


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


@pytest.mark.parametrize(
    "members",
    [
        [(_file("../escaped.txt"), b"x")],
        [(_file("/tmp/absolute-escape.txt"), b"x")],
        [(_file("ok/../../escaped.txt"), b"x")],
        [(_link("up", ".."), None), (_file("up/escaped.txt"), b"x")],
        [(_link("out", "/tmp"), None), (_file("out/escaped.txt"), b"x")],
        [(_link("same", "/tmp/escaped.txt"), None), (_file("same"), b"x")],
        [(_link("hard", "/etc/passwd", tarfile.LNKTYPE), None)],
    ],
    ids=[
        "dotdot",
        "absolute",
        "nested-dotdot",
        "through-symlink",
        "through-abs-symlink",
        "overwrite-symlink",
        "hardlink-out",
    ],
)
def test_escaping_archive_entries_are_refused(
    tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]]
) -> None:
    art = _malicious(tmp_path, members)
    dest = tmp_path / "sandbox" / "dest"
    dest.mkdir(parents=True)
    with pytest.raises(UnsafeArchive):
        _extract(art, dest)
    assert not (tmp_path / "sandbox" / "escaped.txt").exists()
    assert not Path("/tmp/escaped.txt").exists()
    assert not Path("/tmp/absolute-escape.txt").exists()


def test_restore_of_an_escaping_archive_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    (root / "var").mkdir(parents=True)
    (root / "var" / "keep.txt").write_text("live data\n")
    component = FilesComponent(root, ("var",))
    src = tmp_path / "snap"
    src.mkdir()
    component.dump(src, no_progress)
    # replace the archive with a malicious one under the same name
    art = next(src.glob("files-*.tar.zst"))
    evil = _malicious(tmp_path, [(_link("up", ".."), None), (_file("up/pwned.txt"), b"x")])
    os.replace(evil, art)
    with pytest.raises(RefusedError, match="passes through a symlink"):
        component.restore(src, no_progress)
    assert (root / "var" / "keep.txt").read_text() == "live data\n"
    assert not (root / "pwned.txt").exists()
    assert [p.name for p in (root / "var").iterdir()] == ["keep.txt"]  # staging cleaned
    problems = component.verify(src)
    assert len(problems) == 1 and "passes through a symlink" in problems[0]


def test_safety_snapshot_covers_the_snapshot_paths_not_todays_settings(tmp_path: Path) -> None:
    root = tmp_path / "shop"
    for rel in ("var", "pub/media"):
        (root / rel).mkdir(parents=True)
        (root / rel / "f.txt").write_text(f"{rel} v1\n")
    snap = make_store(root, paths=["var", "pub/media"]).create("both")
    store = make_store(root, paths=["var"])  # settings changed since
    (root / "pub" / "media" / "f.txt").write_text("pub/media v2\n")
    (root / "pub" / "media" / "upload.png").write_bytes(b"new")

    result = store.restore(snap.id)
    assert (root / "pub" / "media" / "f.txt").read_text() == "pub/media v1\n"
    assert result.safety_snapshot is not None
    assert store.manifest(result.safety_snapshot.id).components[0].details == {
        "var": "dir",
        "pub/media": "dir",
    }
    store.restore(result.safety_snapshot.id, safety=False)
    assert (root / "pub" / "media" / "f.txt").read_text() == "pub/media v2\n"
    assert (root / "pub" / "media" / "upload.png").read_bytes() == b"new"
