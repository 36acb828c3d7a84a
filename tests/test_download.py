"""Downloads from a real HTTP server on 127.0.0.1: retries, conditional GET, bad bodies, landing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from datetime import date

import psycopg
import pytest

from ingest.download import SHA256_ATTRIBUTE, DownloadPolicy, download
from ingest.run import ingest_target
from tests.conftest import PROJECT_ROOT, shared_file

SAMPLE = "decp_real/decp2019_e-marchespublics_2019-04-03.json"
SAMPLE_RECORDS = 470
SOURCE = "test-http"


@pytest.fixture
def landing(warehouse_url, tmp_path, monkeypatch):
    """Data directory in tmp_path; fast retries (3 attempts, 10 ms backoff, 0.5 s timeout)."""
    from orcp.settings import get_settings

    monkeypatch.setenv("ORCP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ORCP_DOWNLOAD_RETRIES", "2")
    monkeypatch.setenv("ORCP_DOWNLOAD_BACKOFF", "0.01")
    monkeypatch.setenv("ORCP_DOWNLOAD_TIMEOUT", "0.5")
    get_settings.cache_clear()
    yield tmp_path / "data" / "landing"
    get_settings.cache_clear()


def rows(url: str, sql: str, *params):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def raw_count(url: str) -> int:
    return rows(url, "select count(*) from raw.decp_records")[0][0]


def landed_files(landing_dir) -> list:
    """Every file under the landing directory, temporary ones included."""
    return sorted(p for p in landing_dir.rglob("*") if p.is_file()) if landing_dir.exists() else []


def test_download_lands_whole_file_with_its_checksum(warehouse_url, landing, http_server):
    original = shared_file(SAMPLE)
    url = http_server.serve("files/decp.json", original)

    [result] = ingest_target(url, source=SOURCE)

    assert (result.status, result.records) == ("loaded", SAMPLE_RECORDS)
    landed = landing / SOURCE / date.today().isoformat() / "decp.json"
    assert landed_files(landing) == [landed]
    assert landed.read_bytes() == original.read_bytes()
    sha256 = hashlib.sha256(original.read_bytes()).hexdigest()
    [download_row] = rows(
        warehouse_url,
        "select status, http_status, sha256, bytes, path, attempts, load_status,"
        " etag is not null from meta.downloads",
    )
    assert download_row == (
        "downloaded",
        200,
        sha256,
        original.stat().st_size,
        str(landed),
        1,
        "loaded",
        True,
    )
    [load_row] = rows(
        warehouse_url,
        "select source, url, file_name, sha256, bytes, records, status from meta.loads",
    )
    assert load_row == (
        SOURCE,
        url,
        "decp.json",
        sha256,
        original.stat().st_size,
        SAMPLE_RECORDS,
        "loaded",
    )


def test_unchanged_remote_file_is_neither_downloaded_nor_loaded_again(
    warehouse_url, landing, http_server
):
    url = http_server.serve("decp.json", shared_file(SAMPLE))
    ingest_target(url, source=SOURCE)

    [second] = ingest_target(url, source=SOURCE)

    first_hit, second_hit = http_server.hits_for("decp.json")
    etag = rows(warehouse_url, "select etag from meta.downloads order by download_id limit 1")[0][0]
    assert "If-None-Match" not in first_hit.headers
    assert second_hit.headers["If-None-Match"] == etag
    assert second_hit.status == 304
    assert second.status == "skipped" and "unchanged since" in second.error
    assert rows(
        warehouse_url, "select status, http_status, bytes from meta.downloads order by download_id"
    ) == [("downloaded", 200, shared_file(SAMPLE).stat().st_size), ("unchanged", 304, None)]
    assert rows(warehouse_url, "select status from meta.loads order by load_id") == [
        ("loaded",),
        ("skipped",),
    ]
    assert raw_count(warehouse_url) == SAMPLE_RECORDS
    assert len(landed_files(landing)) == 1


def test_changed_remote_file_is_downloaded_and_kept_beside_the_previous_one(
    warehouse_url, landing, http_server
):
    url = http_server.serve("decp.json", shared_file(SAMPLE))
    ingest_target(url, source=SOURCE)
    changed = shared_file("decp_real/decp2019_pes_dgfip_merged_2019-02.json")
    http_server.serve("decp.json", changed)

    [second] = ingest_target(url, source=SOURCE)

    assert (second.status, second.records) == ("loaded", 233)
    assert http_server.hits_for("decp.json")[1].status == 200  # the ETag sent no longer matched
    day = landing / SOURCE / date.today().isoformat()
    sha12 = hashlib.sha256(changed.read_bytes()).hexdigest()[:12]
    assert set(landed_files(landing)) == {day / "decp.json", day / f"decp-{sha12}.json"}
    assert (day / f"decp-{sha12}.json").read_bytes() == changed.read_bytes()
    assert raw_count(warehouse_url) == SAMPLE_RECORDS + 233


@pytest.mark.parametrize("failures", [[500], [503, 502], [429]])
def test_server_errors_are_retried_until_the_file_comes(
    warehouse_url, landing, http_server, failures
):
    url = http_server.serve("decp.json", shared_file(SAMPLE))
    http_server.behave("decp.json", failures=list(failures), retry_after="0")

    [result] = ingest_target(url, source=SOURCE)

    assert (result.status, result.records) == ("loaded", SAMPLE_RECORDS)
    assert [hit.status for hit in http_server.hits_for("decp.json")] == failures + [200]
    assert rows(warehouse_url, "select status, attempts from meta.downloads") == [
        ("downloaded", len(failures) + 1)
    ]


def test_timeout_fails_after_the_retries_with_a_clear_error(warehouse_url, landing, http_server):
    url = http_server.serve("slow.json", shared_file(SAMPLE))
    http_server.behave("slow.json", delay=1.5)  # the client waits 0.5 s

    [result] = ingest_target(url, source=SOURCE)

    assert result.status == "failed"
    assert result.error.startswith("slow.json: download of " + url)
    assert "timeout" in result.error and "gave up after 3 attempts" in result.error
    assert http_server.hit_count("slow.json") == 3
    assert rows(warehouse_url, "select status, url, file_name, records from meta.loads") == [
        ("failed", url, "slow.json", None)
    ]
    assert raw_count(warehouse_url) == 0
    assert landed_files(landing) == []


def test_truncated_body_is_a_failed_download_never_a_load(warehouse_url, landing, http_server):
    original = shared_file(SAMPLE)
    size = original.stat().st_size
    url = http_server.serve("cut.json", original)
    http_server.behave("cut.json", truncate_at=size // 2)

    [result] = ingest_target(url, source=SOURCE)

    assert result.status == "failed" and result.error.startswith("cut.json: download of")
    assert f"{size // 2} of {size}" in result.error or f"{size // 2} of the {size}" in result.error
    assert http_server.hit_count("cut.json") == 3  # a broken connection is retried too
    [load] = rows(warehouse_url, "select status, error_position, sha256 from meta.loads")
    assert load == ("failed", f"byte {size // 2}", None)
    assert rows(
        warehouse_url, "select status, http_status, path, attempts from meta.downloads"
    ) == [("failed", 200, None, 3)]
    assert raw_count(warehouse_url) == 0
    assert landed_files(landing) == []  # neither the final name nor the temporary one


def test_html_error_page_served_as_200_is_rejected(warehouse_url, landing, http_server):
    url = http_server.serve("decp-2024.json", shared_file(SAMPLE))
    http_server.behave("decp-2024.json", html_page=True)

    [result] = ingest_target(url, source=SOURCE)

    assert result.status == "failed"
    assert result.error.startswith("decp-2024.json: download of")
    assert (
        "HTML page instead of a data file" in result.error
        and "Maintenance en cours" in result.error
    )
    assert http_server.hit_count("decp-2024.json") == 1  # a page, not a transient error: no retry
    assert rows(warehouse_url, "select status, error_position from meta.loads") == [
        ("failed", "byte 0")
    ]
    assert raw_count(warehouse_url) == 0
    assert landed_files(landing) == []


def test_client_error_is_not_retried(warehouse_url, landing, http_server):
    [result] = ingest_target(http_server.url("missing.json"), source=SOURCE)

    assert result.status == "failed" and "HTTP 404" in result.error
    assert http_server.hit_count("missing.json") == 1


# The ingest in a process of its own whose files may not grow past 100 kB (RLIMIT_FSIZE): writing the landing
# file fails in the kernel (EFBIG), as on a full disk.
_SMALL_DISK_INGEST = """
import json, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
from ingest.run import ingest_target
[result] = ingest_target(sys.argv[1], source=sys.argv[2])
print(json.dumps({"status": result.status, "error": result.error}))
"""


def test_landing_file_write_error_fails_cleanly_without_retry(warehouse_url, landing, http_server):
    original = shared_file(SAMPLE)
    assert original.stat().st_size > 200_000
    url = http_server.serve("big.json", original)

    done = subprocess.run([sys.executable, "-c", _SMALL_DISK_INGEST, url, SOURCE], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["status"] == "failed" and result["error"].startswith("big.json: download of " + url)
    assert "cannot write the landing file" in result["error"] and "File too large" in result["error"]
    assert http_server.hit_count("big.json") == 1  # the disk will not get better by asking again
    [load] = rows(warehouse_url, "select status, error_position from meta.loads")
    assert load[0] == "failed" and load[1].startswith("byte ") and int(load[1][5:]) <= 100_000
    assert rows(warehouse_url, "select status, attempts, path from meta.downloads") == [("failed", 1, None)]
    assert raw_count(warehouse_url) == 0
    assert landed_files(landing) == []  # the partial temporary file is gone


def test_connection_refused_fails_after_retries(warehouse_url, landing):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/decp.json"

    [result] = ingest_target(url, source=SOURCE)

    assert result.status == "failed" and "connection failed" in result.error
    assert "gave up after 3 attempts" in result.error
    assert rows(warehouse_url, "select url, status from meta.loads") == [(url, "failed")]


def test_validators_of_a_failed_load_are_not_reused(warehouse_url, landing, http_server):
    url = http_server.serve("other.json", json.dumps({"data": [1, 2]}).encode())
    [first] = ingest_target(url, source=SOURCE)
    [second] = ingest_target(url, source=SOURCE)

    assert first.status == second.status == "failed" and "other.json" in second.error
    assert [hit.status for hit in http_server.hits_for("other.json")] == [200, 200]
    assert "If-None-Match" not in http_server.hits_for("other.json")[1].headers
    assert rows(warehouse_url, "select load_status from meta.downloads") == [
        ("failed",),
        ("failed",),
    ]


def test_force_downloads_again_and_the_loader_skips_known_content(
    warehouse_url, landing, http_server
):
    url = http_server.serve("decp.json", shared_file(SAMPLE))
    ingest_target(url, source=SOURCE)

    forced = download(SOURCE, url, force=True)

    assert forced.status == "downloaded" and forced.attempts == 1
    assert "If-None-Match" not in http_server.hits_for("decp.json")[1].headers
    assert len(landed_files(landing)) == 1  # same content, same name: nothing new kept


def test_landed_checksum_is_trusted_only_while_the_file_is_untouched(
    warehouse_url, landing, http_server
):
    url = http_server.serve("decp.json", shared_file(SAMPLE))
    first = download(SOURCE, url)
    recorded = os.getxattr(first.path, SHA256_ATTRIBUTE).decode().split()
    assert recorded[:2] == [first.sha256, str(first.bytes)]
    # Same size, other bytes, written after the checksum: the file is read again, found different,
    # and the new download keeps its own name instead of replacing it.
    original = first.path.read_bytes()
    first.path.write_bytes(original.replace(b"marches", b"MARCHES", 1))

    second = download(SOURCE, url, force=True)

    assert second.path == first.path.with_name(f"decp-{second.sha256[:12]}.json")
    assert second.path.read_bytes() == original


def test_redirect_names_the_file_after_its_final_url(warehouse_url, landing, http_server):
    http_server.serve("resources/decp-2019.json", shared_file(SAMPLE))
    http_server.behave("r/16962018", redirect_to="resources/decp-2019.json")

    [result] = ingest_target(http_server.url("r/16962018"), source="minef-decp-2019")

    assert (result.file_name, result.records) == ("decp-2019.json", SAMPLE_RECORDS)
    [(final_url, path)] = rows(warehouse_url, "select final_url, path from meta.downloads")
    assert final_url == http_server.url("resources/decp-2019.json")
    assert path.endswith(f"minef-decp-2019/{date.today().isoformat()}/decp-2019.json")


def test_progress_reports_bytes_as_they_arrive(warehouse_url, landing, http_server):
    original = shared_file(SAMPLE)
    url = http_server.serve("decp.json", original)
    seen = []

    download(
        SOURCE,
        url,
        policy=DownloadPolicy(chunk_size=64 * 1024),
        on_bytes=lambda received, total: seen.append((received, total)),
    )

    size = original.stat().st_size
    assert seen[-1] == (size, size)
    assert len(seen) >= size // (64 * 1024)
    assert [received for received, _ in seen] == sorted(received for received, _ in seen)


def test_retry_wait_grows_exponentially_and_honours_retry_after():
    policy = DownloadPolicy(backoff_factor=0.5, max_wait=3)
    assert [policy.wait_before(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 3, 3]
    assert policy.wait_before(1, 2.5) == 2.5
