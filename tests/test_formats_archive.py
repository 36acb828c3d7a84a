"""Zip archives built at test time from the real DGFiP zip: each member its own load, a bad member
fails alone, a hostile archive (zip slip, zip bomb) fails as a whole with no rows."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import psycopg
import pytest

from ingest.archive_loader import ingest_path, ingest_zip
from ingest.formats.archive import ArchiveError, check_member_name, iter_members
from ingest.loader import load_file
from tests.conftest import shared_file

REAL_ZIP = "decp_real/decp2019_pes_dgfip_files_2019-02.zip"


def real_members(limit: int | None = None) -> dict[str, bytes]:
    """The real archive's members (the first ``limit`` of them: enough, and faster)."""
    with zipfile.ZipFile(shared_file(REAL_ZIP)) as archive:
        infos = [info for info in archive.infolist() if not info.is_dir()][:limit]
        return {info.filename: archive.read(info) for info in infos}


def build_zip(path: Path, members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def counts(url: str) -> tuple[int, list[tuple]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select count(*) from raw.decp_records").fetchone()[0]
        loads = conn.execute(
            "select file_name, member, status, error, error_position from meta.loads"
            " order by load_id"
        ).fetchall()
    return rows, loads


@pytest.mark.parametrize(
    "hostile_name",
    ["../evil.json", "data/../../evil.json", "/tmp/evil.json", "C:/evil.json", "..\\evil.json"],
)
def test_zip_slip_fails_the_whole_archive(hostile_name, tmp_path, warehouse_url):
    members = real_members()
    members[hostile_name] = next(iter(members.values()))
    archive = build_zip(tmp_path / "slip.zip", members)
    work = tmp_path / "work"
    work.mkdir()

    results = ingest_zip(archive, "pes", work_dir=work)

    assert [(r.status, r.file_name) for r in results] == [("failed", "slip.zip")]
    rows, loads = counts(warehouse_url)
    assert rows == 0
    assert loads == [
        (
            "slip.zip",
            None,
            "failed",
            "member name outside the archive folder refused (zip slip)",
            f"member {hostile_name!r}",
        )
    ]
    assert not (tmp_path / "evil.json").exists() and list(work.iterdir()) == []


def test_zip_bomb_fails_the_whole_archive(tmp_path, warehouse_url):
    members = real_members()
    members["bomb.json"] = b" " * (20 * 1024 * 1024)  # deflates about 1000 to 1
    archive = build_zip(tmp_path / "bomb.zip", members)

    [result] = ingest_zip(archive, "pes")

    assert result.status == "failed" and "zip bomb" in result.error
    rows, loads = counts(warehouse_url)
    assert rows == 0 and loads[0][2:] == ("failed", loads[0][3], "member 'bomb.json'")
    assert "compression ratio" in loads[0][3]


def test_total_size_limit_fails_the_whole_archive(tmp_path, warehouse_url):
    members = real_members()
    archive = build_zip(tmp_path / "big.zip", members)
    limit = sum(len(content) for content in members.values()) - 1

    [result] = ingest_zip(archive, "pes", max_total=limit)

    assert result.status == "failed" and "uncompressed size over the limit" in result.error
    assert counts(warehouse_url)[0] == 0


def test_bad_members_fail_alone(tmp_path, warehouse_url):
    members = real_members(limit=20)
    good = {name: len(json.loads(content)["marches"]) for name, content in members.items()}
    sample = next(iter(members.values()))
    members["bad/cut.json"] = sample[: len(sample) // 2]
    members["bad/latin1.json"] = sample.decode("utf-8").encode("latin-1", errors="replace")
    members["bad/not_data.txt"] = b"hello"
    members["__MACOSX/._litter.json"] = b"\x00\x05\x16\x07"  # resource fork: not data, not loaded
    archive = build_zip(tmp_path / "mixed.zip", members)

    results = ingest_zip(archive, "pes")

    statuses = {r.file_name.split("!", 1)[1]: r.status for r in results}
    assert statuses == {
        **{name: "loaded" for name in good},
        "bad/cut.json": "failed",
        "bad/latin1.json": "failed",
        "bad/not_data.txt": "failed",
    }
    rows, loads = counts(warehouse_url)
    assert rows == sum(good.values()) > 20
    failed = {
        member: (file_name, position)
        for file_name, member, status, _, position in loads
        if status == "failed"
    }
    assert failed["bad/cut.json"] == (
        "mixed.zip!bad/cut.json",
        f"byte {len(sample) // 2}, after record 0",
    )
    assert failed["bad/latin1.json"][1].startswith("byte ")
    assert failed["bad/not_data.txt"][1] == "byte 0"


def test_corrupt_member_fails_alone(tmp_path, warehouse_url):
    members = real_members(limit=20)
    expected = sum(len(json.loads(content)["marches"]) for content in members.values())
    names = list(members)
    archive = build_zip(tmp_path / "corrupt.zip", members, method=zipfile.ZIP_STORED)
    content = bytearray(archive.read_bytes())
    victim = members[names[3]]
    start = bytes(content).index(victim)
    content[start + 20] ^= 0x01  # one flipped bit: the member's CRC no longer matches
    archive.write_bytes(bytes(content))

    results = ingest_zip(archive, "pes")

    by_member = {r.file_name.split("!", 1)[1]: r for r in results}
    assert by_member[names[3]].status == "failed" and "CRC" in by_member[names[3]].error
    assert {r.status for name, r in by_member.items() if name != names[3]} == {"loaded"}
    rows, loads = counts(warehouse_url)
    assert rows == expected - len(json.loads(victim)["marches"])
    assert [position for _, member, status, _, position in loads if status == "failed"] == [
        f"member {names[3]!r}"
    ]


def test_members_are_extracted_inside_the_work_folder_and_removed(tmp_path):
    archive = build_zip(tmp_path / "a.zip", {"x/one.json": b'{"marches": []}', "two.json": b"[]"})
    work = tmp_path / "work"
    seen = []
    for member in iter_members(archive, work):
        assert member.path.resolve().is_relative_to(work.resolve())
        assert member.path.read_bytes() in (b'{"marches": []}', b"[]")
        seen.append((member.name, member.path.name))
    assert seen == [("x/one.json", "one.json"), ("two.json", "two.json")]
    assert list(work.iterdir()) == []


def test_member_name_checks():
    for name in ("ok.json", "dir/ok.json", "a..b.json"):
        check_member_name(name)
    for name in ("../x", "a/../../x", "/etc/x", "\\\\server\\x", "c:\\x", "a\x00b"):
        with pytest.raises(ArchiveError):
            check_member_name(name)


def test_a_zip_given_to_load_file_says_how_to_load_it(warehouse_url):
    result = load_file(shared_file(REAL_ZIP), "pes")
    assert result.status == "failed" and "ingest_zip" in result.error


def test_ingest_path_routes_zips_member_by_member(tmp_path, warehouse_url):
    members = real_members(limit=5)
    archive = build_zip(tmp_path / "five.zip", members)
    zipped = ingest_path(archive, "pes")
    single = ingest_path(shared_file("decp_real/decp2019_pes_dgfip_merged_2019-02.json"), "pes")
    assert [r.file_name for r in zipped] == [f"five.zip!{name}" for name in members]
    assert sum(r.records for r in zipped) == sum(
        len(json.loads(c)["marches"]) for c in members.values()
    )
    assert [(r.status, r.records) for r in single] == [("loaded", 233)]
