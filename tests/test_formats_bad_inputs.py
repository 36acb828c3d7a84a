"""Bad inputs, each built at test time from the real files: the load fails with the exact place,
leaves no raw row, and the good files next to it still load. Odd-but-valid inputs load
faithfully."""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from ingest.loader import load_file
from tests.conftest import shared_file

REAL_JSON = "decp_real/decp2019_e-marchespublics_2019-04-03.json"
REAL_XML = "decp_schema_v1.5/xml_paquet.xml"
REAL_CSV = "decp_tabular/decp_info_tabular_extract_2024H2_travaux_cpv4521.csv"
BOM = b"\xef\xbb\xbf"
NEWLINE = b"\n"


def real(relative: str) -> bytes:
    return shared_file(relative).read_bytes()


def complete_records(prefix: bytes) -> int:
    """How many items of the ``marches`` array are complete in a cut file (standard library)."""
    text = prefix.decode("utf-8", errors="ignore")
    position = text.index("[", text.index('"marches"')) + 1
    decoder = json.JSONDecoder()
    count = 0
    while True:
        while position < len(text) and text[position] in " \t\r\n,":
            position += 1
        try:
            _, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            return count
        count += 1


def failed_load(url: str, path: Path) -> tuple[str, str]:
    """Load ``path``; assert it failed and left no raw row; return (error, error_position)."""
    result = load_file(path, "bad", database_url=url)
    assert result.status == "failed", result.describe()
    assert path.name in result.error
    with psycopg.connect(url) as conn:
        status, records, error, position = conn.execute(
            "select status, records, error, error_position from meta.loads where load_id = %s",
            (result.load_id,),
        ).fetchone()
        rows = conn.execute(
            "select (select count(*) from raw.decp_records where load_id = %(id)s)"
            " + (select count(*) from raw.decp_tabular_rows where load_id = %(id)s)",
            {"id": result.load_id},
        ).fetchone()[0]
    assert (status, records, rows) == ("failed", None, 0)
    assert position, error
    return error, position


def cut_json(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_JSON)
    cut = content[: len(content) * 3 // 5]
    path = tmp_path / "cut.json"
    path.write_bytes(cut)
    return path, "truncated", f"byte {len(cut)}, after record {complete_records(cut)}$"


def invalid_utf8_json(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_JSON)
    offset = content.index("é".encode())
    path = tmp_path / "one_latin1_byte.json"
    path.write_bytes(content[:offset] + b"\xe9" + content[offset + 2 :])
    return path, "invalid UTF-8 (byte 0xE9)", f"byte {offset}, after record 0$"


def latin1_json(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_JSON).decode("utf-8").encode("latin-1", errors="replace")
    path = tmp_path / "latin1.json"
    path.write_bytes(content)
    first_high = next(index for index, byte in enumerate(content) if byte >= 0x80)
    return path, "invalid UTF-8", f"byte {first_high}, after record 0$"


def empty_json(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "empty.json"
    path.write_bytes(b"")
    return path, "empty file", "byte 0$"


def unknown_layout_json(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "contracts.json"
    path.write_bytes(real(REAL_JSON).replace(b'"marches"', b'"contracts"', 1))
    return (
        path,
        "unknown JSON layout: an object without a 'marches' key (keys: 'contracts')",
        "byte 0$",
    )


def numbers_json(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "numbers.json"
    path.write_bytes(b"[1, 2, 3]")
    return path, "array of numbers", "byte 0$"


def html_named_json(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "decp-2024.json"
    path.write_bytes(b"\n<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head></html>")
    return path, "HTML page", "byte 1$"


def billion_laughs_xml(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_XML)
    declaration_end = content.index(b"?>") + 2
    entities = b"".join(
        b'<!ENTITY lol%d "%s">' % (level, b"&lol%d;" % (level - 1) * 10) for level in range(1, 10)
    )
    doctype = b'\n<!DOCTYPE marches [<!ENTITY lol0 "lol">' + entities + b"]>"
    content = content[:declaration_end] + doctype + content[declaration_end:]
    content = content.replace(b"<objet>Construction", b"<objet>&lol9;Construction", 1)
    path = tmp_path / "laughs.xml"
    path.write_bytes(content)
    return path, "DOCTYPE", f"byte {content.index(b'<!DOCTYPE')}$"


def external_entity_xml(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_XML).replace(
        b"<marches", b'<!DOCTYPE marches [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<marches', 1
    )
    content = content.replace(b"<nom>Ville de Millau</nom>", b"<nom>&x;</nom>", 1)
    path = tmp_path / "xxe.xml"
    path.write_bytes(content)
    return path, "DOCTYPE", f"byte {content.index(b'<!DOCTYPE')}$"


def cut_xml(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_XML)
    cut = content[: len(content) // 2]
    path = tmp_path / "cut.xml"
    path.write_bytes(cut)
    closed = cut.count(b"</marche>") + cut.count(b"</contrat-concession>")
    lines = cut.count(NEWLINE) + 1
    return path, "invalid XML", rf"line {lines}, column \d+, after record {closed}$"


def latin1_xml(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_XML).decode("utf-8").encode("latin-1")
    path = tmp_path / "latin1.xml"
    path.write_bytes(content)
    first_high = next(index for index, byte in enumerate(content) if byte >= 0x80)
    return path, "invalid UTF-8", rf"byte {first_high} \(line \d+, column \d+, after record 0\)$"


def extra_field_csv(tmp_path: Path) -> tuple[Path, str, str]:
    lines = real(REAL_CSV).split(b"\n")
    lines[99] += b",one too many"  # physical line 100
    path = tmp_path / "extra_field.csv"
    path.write_bytes(b"\n".join(lines))
    width = lines[0].count(b",") + 1
    return path, f"expected {width} fields, found {width + 1}", "line 100$"


def latin1_csv(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_CSV).decode("utf-8").encode("latin-1", errors="replace")
    path = tmp_path / "latin1.csv"
    path.write_bytes(content)
    first_high = next(index for index, byte in enumerate(content) if byte >= 0x80)
    line = content[:first_high].count(b"\n") + 1
    return path, "invalid UTF-8", re.escape(f"byte {first_high} (line {line})") + "$"


def unclosed_quote_csv(tmp_path: Path) -> tuple[Path, str, str]:
    content = real(REAL_CSV)
    cut = content[: content.index(b"\n", len(content) // 2) + 1] + b'1,"an unfinished quoted value'
    path = tmp_path / "cut.csv"
    path.write_bytes(cut)
    return path, "invalid CSV", f"line {cut.count(NEWLINE) + 1}$"


BAD_INPUTS = [
    cut_json,
    invalid_utf8_json,
    latin1_json,
    empty_json,
    unknown_layout_json,
    numbers_json,
    html_named_json,
    billion_laughs_xml,
    external_entity_xml,
    cut_xml,
    latin1_xml,
    extra_field_csv,
    latin1_csv,
    unclosed_quote_csv,
]


@pytest.mark.parametrize("make", BAD_INPUTS, ids=lambda make: make.__name__)
def test_bad_input_fails_with_its_place_and_no_rows(make, tmp_path, module_warehouse_url):
    path, expected_error, expected_position = make(tmp_path)

    error, position = failed_load(module_warehouse_url, path)

    assert expected_error in error
    assert re.match(expected_position, position), (position, expected_position)


def test_truncated_json_names_the_last_good_record(tmp_path, module_warehouse_url):
    path, _, _ = cut_json(tmp_path)
    error, _ = failed_load(module_warehouse_url, path)
    last_good = complete_records(path.read_bytes())
    assert last_good > 100 and f"last complete record: {last_good}" in error


def test_bad_files_fail_alone_among_good_ones(tmp_path, warehouse_url):
    """One folder: every bad input and good real files; each good file loads whole."""
    bad = [make(tmp_path)[0] for make in BAD_INPUTS]
    good = {shared_file(REAL_JSON): 470, shared_file(REAL_XML): 4, shared_file(REAL_CSV): 8957}
    bom = tmp_path / "with_bom.json"
    bom.write_bytes(BOM + real("decp_real/decp2019_pes_dgfip_merged_2019-02.json"))
    good[bom] = 233

    results = {path: load_file(path, "mix") for path in [*bad, *good]}

    assert {path: results[path].status for path in bad} == {path: "failed" for path in bad}
    assert {path: (results[path].status, results[path].records) for path in good} == {
        path: ("loaded", count) for path, count in good.items()
    }
    with psycopg.connect(warehouse_url) as conn:
        total = conn.execute(
            "select (select count(*) from raw.decp_records)"
            " + (select count(*) from raw.decp_tabular_rows)"
        ).fetchone()[0]
    assert total == sum(good.values())


# --- odd but valid: kept faithfully ---------------------------------------------------------------


def stored_records(url: str, load_id: int) -> list[dict]:
    with psycopg.connect(url) as conn:
        return [
            row[0]
            for row in conn.execute(
                "select record from raw.decp_records where load_id = %s order by record_number",
                (load_id,),
            )
        ]


def test_nul_characters_are_kept_as_escape_text(tmp_path, module_warehouse_url):
    """jsonb refuses NUL: the record is kept, the NUL written as the 6-character text \\u0000."""
    content = real(REAL_JSON).replace(b'"objet": "', b'"objet": "NUL\\u0000here ', 1)
    path = tmp_path / "nul.json"
    path.write_bytes(content)

    result = load_file(path, "nul", database_url=module_warehouse_url)

    assert (result.status, result.records) == ("loaded", 470)
    first = stored_records(module_warehouse_url, result.load_id)[0]
    original = json.loads(content)["marches"][0]["objet"]
    assert "\x00" in original and first["objet"] == original.replace("\x00", "\\u0000")


def test_numbers_beyond_64_bits_and_nan_are_kept(tmp_path, module_warehouse_url):
    content = real(REAL_JSON)
    first_amount = content.index(b'"montant": ') + len(b'"montant": ')
    end = content.index(b",", first_amount)
    content = content[:first_amount] + b"123456789012345678901234567890.50" + content[end:]
    content = content.replace(b'"dureeMois": ', b'"dureeMois": NaN, "was": ', 1)
    path = tmp_path / "big_numbers.json"
    path.write_bytes(content)

    result = load_file(path, "big", database_url=module_warehouse_url)

    assert (result.status, result.records) == ("loaded", 470)
    with psycopg.connect(module_warehouse_url) as conn:
        amount, duration = conn.execute(
            "select record->>'montant', record->>'dureeMois' from raw.decp_records"
            " where load_id = %s and record_number = 1",
            (result.load_id,),
        ).fetchone()
    assert (amount, duration) == ("123456789012345678901234567890.50", "NaN")
    assert (
        stored_records(module_warehouse_url, result.load_id)[1:]
        == json.loads(content)["marches"][1:]
    )


def test_csv_record_numbers_are_physical_lines(tmp_path, module_warehouse_url):
    """A quoted value spanning two lines: the next rows keep their real line numbers."""
    lines = real(REAL_CSV).decode("utf-8").split("\n")
    name = lines[1].split(",")[5]
    lines[1] = lines[1].replace(f",{name},", f',"{name}\nsuite",', 1)
    path = tmp_path / "multiline.csv"
    path.write_text("\n".join(lines), encoding="utf-8")

    result = load_file(path, "lines", database_url=module_warehouse_url)

    assert (result.status, result.records) == ("loaded", 8957)
    with psycopg.connect(module_warehouse_url) as conn:
        rows = conn.execute(
            "select record_number, record->>'acheteur_nom' from raw.decp_tabular_rows"
            " where load_id = %s order by record_number",
            (result.load_id,),
        ).fetchall()
    assert rows[0] == (2, f"{name}\nsuite")
    assert [number for number, _ in rows[1:]] == list(range(4, 8957 + 3))


def test_json_top_level_array_of_contracts_loads(tmp_path, module_warehouse_url):
    """API exports write the contracts as a bare array; the records are the same."""
    records = json.loads(real("decp_real/decp2019_pes_dgfip_merged_2019-02.json"))["marches"]
    path = tmp_path / "array.json"
    path.write_text(json.dumps(records, ensure_ascii=False, indent=1), encoding="utf-8")

    result = load_file(path, "array", database_url=module_warehouse_url)

    assert (result.status, result.format, result.records) == ("loaded", "decp-array-json", 233)
    assert stored_records(module_warehouse_url, result.load_id) == records


def test_reference_arrays_that_are_not_contracts_are_refused(module_warehouse_url):
    error, position = failed_load(
        module_warehouse_url, shared_file("reference/minef_decp_consolidated_files_urls.json")
    )
    assert "not contracts" in error and position == "byte 0"


def test_record_nested_too_deep_fails_the_file_naming_the_record(tmp_path, module_warehouse_url):
    content = real(REAL_JSON).replace(
        b'"objet": ', b'"deep": ' + b"[" * 300 + b"]" * 300 + b', "objet": '
    )
    path = tmp_path / "deep.json"
    path.write_bytes(content)
    error, position = failed_load(module_warehouse_url, path)
    assert "cannot be written as JSON" in error and position == "record 1"
