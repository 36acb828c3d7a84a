"""The benchmark harness works end to end at a tiny size (the real run is by hand: see BENCHMARKS.md)."""

from __future__ import annotations

import re

from bench import harness


def test_harness_runs_every_step_and_writes_the_report(pg_admin_url, tmp_path):
    report = tmp_path / "BENCHMARKS.md"
    report.write_text(f"old table\n{harness.ANALYSIS_MARKER}\nWhat limits the dbt build.\n")
    harness.main(["--records", "2000", "--sizes", "1000", "--repeats", "1", "--admin-url", pg_admin_url,
                  "--work-dir", str(tmp_path / "work"), "--report", str(report)])
    text = report.read_text()
    for step in ("COPY floor", "orcp ingest", "json.load + json_normalize + to_sql", "dbt build (full)",
                 "dbt build after +1,000 contracts", "re-publication, nothing changed"):
        assert step in text
    # Every record generated is counted by the floor and by the ingest alike.
    assert len(re.findall(r"\| (?:COPY floor|orcp ingest)[^|]*\| 2,000 \|", text)) == 2
    # each run's time beside the median (one run here)
    assert re.search(r"\| dbt build \(full\) \| 2,000 \| [0-9.]+ s \| [0-9.]+ \|", text)
    assert "0 of" in text.split("re-publication, nothing changed")[1].splitlines()[0]  # nothing rewritten
    assert re.search(r"- ingest / floor: \*\*[0-9.]+x\*\* \(target at most 1.5x: (met|missed)\)", text)
    assert re.search(r"- pandas / ingest: \*\*[0-9.]+x\*\* \(target at least 8x: (met|missed)\)", text)
    assert re.search(r"- peak RSS of the ingest: [0-9]+ MB \(target under 250 MB: (met|missed)\)", text)
    assert "| 1,000 |" in text  # the growth table
    assert re.search(r"- dbt build \(full\): [0-9.]+ s \(target under 120 s: (met|missed)\)", text)
    # the dbt targets scaled to the machine: the 120 s are 20 reference passes of 6 s
    assert re.search(r"\| SQL reference pass [^|]*\| 2,000 \| [0-9.]+ s", text)
    assert re.search(r"  - [0-9.]+ reference passes of [0-9.]+ s \(target under 20.0, i.e. "
                     r"[0-9]+ s on this machine: (met|missed)\)", text)
    assert "target under 3.3, i.e." in text
    # the hand-written analysis survives the rewrite; the old table does not
    assert text.endswith(f"{harness.ANALYSIS_MARKER}\nWhat limits the dbt build.\n") and "old table" not in text
