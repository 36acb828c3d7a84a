"""A real CKAN 2.12 portal on 127.0.0.1 for tests: build it, start it, stop it.

    python tests/ckan/portal.py start    # idempotent; prints the URL and where the token is
    python tests/ckan/portal.py env      # prints `export ORCP_TEST_CKAN_URL=... ORCP_TEST_CKAN_TOKEN=...`
    python tests/ckan/portal.py stop

Everything lives under a cache directory (ORCP_CKAN_CACHE, default /tmp/orcp-ckan):
- venv/         CKAN 2.12.0 (+ ckanext-dcat 2.4.4 when it installs) in its own virtualenv
- solr-4.4.0/   Apache Solr 4.4 with Jetty, from the npm package coffeenode-solr (sha1 checked):
                the only Solr reachable here (no Apache mirror); end-of-life, so 127.0.0.1 only
- solr-home/    a `ckan` core: CKAN's schema.xml adapted to Solr 4, index data
- ckan.ini      generated once by `ckan generate config` (fresh secrets), options set on each start
- storage/      uploaded resource files
- portal.json   URL, API token (mode 0600) and process ids of what is running
CKAN's database is ORCP_CKAN_DB_NAME (default orcp_ckan) on the PostgreSQL server at
ORCP_CKAN_PG_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import configparser
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psycopg
import requests

CKAN_REQUIREMENT = "ckan[requirements]==2.12.0"
DCAT_REQUIREMENT = "ckanext-dcat==2.4.4"
SOLR_NPM_PACKAGE = "coffeenode-solr@0.0.1"
SOLR_NPM_SHA1 = "d6ed17320394db33f6a2da56968eba9e401841fc"
SYSADMIN = "orcp_admin"
HOST = "127.0.0.1"

# Licences the test portal knows (CKAN's default list has no French licence).
LICENSES = [
    {"id": "etalab-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
     "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
     "od_conformance": "approved", "osd_conformance": "not reviewed", "domain_data": True,
     "status": "active"},
    {"id": "odc-odbl", "title": "Open Data Commons Open Database License (ODbL)",
     "url": "https://opendatacommons.org/licenses/odbl/1-0/",
     "od_conformance": "approved", "osd_conformance": "not reviewed", "domain_data": True,
     "status": "active"},
    {"id": "notspecified", "title": "Licence non spécifiée", "url": "",
     "od_conformance": "not reviewed", "osd_conformance": "not reviewed", "status": "active"},
]


class PortalError(RuntimeError):
    """The portal could not be built or started; the message says which step and why."""


@dataclass
class Portal:
    url: str
    token: str
    solr_url: str
    ckan_pid: int
    solr_pid: int
    dcat: bool

    def __repr__(self) -> str:  # never show the token
        return f"Portal(url={self.url!r}, solr_url={self.solr_url!r}, dcat={self.dcat})"


def cache_dir() -> Path:
    return Path(os.environ.get("ORCP_CKAN_CACHE", "/tmp/orcp-ckan"))


def pg_admin_url() -> str:
    return os.environ.get("ORCP_CKAN_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# ---------------------------------------------------------------- start / stop


def start(cache: Path | None = None, admin_url: str | None = None, log=print) -> tuple[Portal, bool]:
    """Build what is missing and start Solr + CKAN; return (portal, started_now).

    A portal of this cache directory that is already running and answering is reused as is."""
    cache = cache or cache_dir()
    admin_url = admin_url or pg_admin_url()
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o700)  # ckan.ini holds the portal's secret key
    with _lock(cache):
        running = _running_portal(cache)
        if running:
            return running, False
        stop(cache)  # leftovers of a half-dead portal
        _require_tool("java", "to run Solr")  # before minutes of building
        dcat = _ensure_venv(cache / "venv", log)
        example_dir = _ensure_solr(cache, log)
        db_url, db_created = _ensure_database(admin_url, os.environ.get("ORCP_CKAN_DB_NAME", "orcp_ckan"))
        solr_home = _write_solr_home(cache, example_dir, wipe_index=db_created)
        solr_port, ckan_port = _free_port(), _free_port()
        solr_pid = _start_solr(cache, example_dir, solr_home, solr_port)
        try:
            solr_url = f"http://{HOST}:{solr_port}/solr/ckan"
            _wait_for(f"{solr_url}/admin/ping?wt=json", "Solr", cache / "solr.log", timeout=60)
            ini = _write_config(cache, db_url, solr_url, ckan_port, dcat)
            log("initialising the CKAN database")
            _ckan(cache, "db", "init")
            token = _sysadmin_token(cache, db_url)
            ckan_pid = _start_ckan(cache, ini, ckan_port)
        except BaseException:
            _kill_group(solr_pid)
            raise
        portal = Portal(f"http://{HOST}:{ckan_port}", token, solr_url, ckan_pid, solr_pid, dcat)
        try:
            _wait_for(f"{portal.url}/api/3/action/status_show", "CKAN", cache / "ckan.log", timeout=90)
        except BaseException:
            _kill_group(ckan_pid)
            _kill_group(solr_pid)
            raise
        _save_state(cache, portal)
        return portal, True


def stop(cache: Path | None = None) -> None:
    """Stop the CKAN and Solr processes this cache directory started (by their saved ids)."""
    cache = cache or cache_dir()
    state = cache / "portal.json"
    if not state.exists():
        return
    saved = json.loads(state.read_text())
    _kill_group(saved.get("ckan_pid"))
    _kill_group(saved.get("solr_pid"))
    state.unlink()


def _running_portal(cache: Path) -> Portal | None:
    state = cache / "portal.json"
    if not state.exists():
        return None
    portal = Portal(**json.loads(state.read_text()))
    alive = all(_alive(pid) for pid in (portal.ckan_pid, portal.solr_pid))
    if alive and _answers(f"{portal.url}/api/3/action/status_show"):
        return portal
    return None


def _save_state(cache: Path, portal: Portal) -> None:
    state = cache / "portal.json"
    fd = os.open(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(portal), out, indent=2)


@contextlib.contextmanager
def _lock(cache: Path):
    with open(cache / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# ---------------------------------------------------------------- build


def _ensure_venv(venv: Path, log) -> bool:
    """CKAN in its own virtualenv (its pins clash with the project's); return whether dcat is in."""
    done = venv / ".orcp-installed"
    if not done.exists():
        log(f"installing {CKAN_REQUIREMENT} into {venv}")
        shutil.rmtree(venv, ignore_errors=True)
        _run([sys.executable, "-m", "venv", str(venv)], "create the CKAN virtualenv")
        pip = [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
        _run([*pip, CKAN_REQUIREMENT], f"pip install {CKAN_REQUIREMENT}")
        dcat = subprocess.run([*pip, DCAT_REQUIREMENT], check=False, capture_output=True, text=True).returncode == 0
        if not dcat:
            log(f"{DCAT_REQUIREMENT} did not install: the portal runs without DCAT endpoints")
        done.write_text(json.dumps({"dcat": dcat}))
    return json.loads(done.read_text())["dcat"]


def _ensure_solr(cache: Path, log) -> Path:
    """Solr 4.4 unpacked from the npm tarball (sha1 checked); return its example/ directory."""
    solr_dir = cache / "solr-4.4.0"
    example = solr_dir / "example"
    if (example / "start.jar").exists():
        return example
    downloads = cache / "downloads"
    downloads.mkdir(exist_ok=True)
    tarball = downloads / "coffeenode-solr-0.0.1.tgz"
    if not tarball.exists() or _sha1(tarball) != SOLR_NPM_SHA1:
        log(f"fetching {SOLR_NPM_PACKAGE} with npm pack")
        _require_tool("npm", "to fetch Solr from the npm registry")
        _run(["npm", "pack", SOLR_NPM_PACKAGE, "--pack-destination", str(downloads)],
             f"npm pack {SOLR_NPM_PACKAGE}")
    actual = _sha1(tarball)
    if actual != SOLR_NPM_SHA1:
        tarball.unlink()
        raise PortalError(f"{tarball}: sha1 {actual}, expected {SOLR_NPM_SHA1}; refusing to run it")
    unpack = cache / "solr-unpack"
    shutil.rmtree(unpack, ignore_errors=True)
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if m.name.startswith("package/solr-minimal/")]
        archive.extractall(unpack, members=members, filter="tar")
    shutil.rmtree(solr_dir, ignore_errors=True)
    (unpack / "package" / "solr-minimal").rename(solr_dir)
    shutil.rmtree(unpack)
    return example


def _write_solr_home(cache: Path, example: Path, wipe_index: bool) -> Path:
    """A Solr home with one core, `ckan`: the example's config files around CKAN's schema."""
    home = cache / "solr-home"
    core = home / "ckan"
    data = core / "data"
    if wipe_index:  # a new CKAN database: an old index would list datasets it does not have
        shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(core / "conf", ignore_errors=True)
    shutil.copytree(example / "solr" / "collection1" / "conf", core / "conf")
    shutil.copy(example / "solr" / "solr.xml", home / "solr.xml")
    (core / "core.properties").write_text("name=ckan\n")
    schema = _ckan_package_file(cache, "config/solr/schema.xml").read_text()
    (core / "conf" / "schema.xml").write_text(adapt_schema_for_solr4(schema))
    config = (core / "conf" / "solrconfig.xml").read_text()
    (core / "conf" / "solrconfig.xml").write_text(_adapt_solrconfig(config, example.parent, data))
    return home


def adapt_schema_for_solr4(schema: str) -> str:
    """CKAN's schema.xml is written for Solr 8/9; Solr 4.4 lacks point fields and graph filters."""
    for kind in ("Int", "Float", "Long", "Double", "Date"):
        schema = schema.replace(f'class="solr.{kind}PointField"',
                                f'class="solr.Trie{kind}Field" precisionStep="0"')
    schema = schema.replace("solr.WordDelimiterGraphFilterFactory", "solr.WordDelimiterFilterFactory")
    schema = schema.replace("solr.SynonymGraphFilterFactory", "solr.SynonymFilterFactory")
    schema = re.sub(r'\s*<filter class="solr.FlattenGraphFilterFactory"/>[^\n]*', "", schema)
    schema = re.sub(r'(<schema name="ckan-[^"]+" version=)"[^"]+"', r'\1"1.5"', schema)
    schema = re.sub(r'<field name="_version_" type="string"', '<field name="_version_" type="long"', schema)
    if "PointField" in schema or "GraphFilter" in schema:
        raise PortalError("CKAN's schema.xml has constructs this adaptation does not know")
    return schema


def _adapt_solrconfig(config: str, solr_dir: Path, data: Path) -> str:
    # Relative <lib dir> and <dataDir> would resolve against the core directory, which moved.
    config = config.replace('<lib dir="../../../', f'<lib dir="{solr_dir}/')
    return re.sub(r"<dataDir>[^<]*</dataDir>", f"<dataDir>{data}</dataDir>", config)


def _ensure_database(admin_url: str, name: str) -> tuple[str, bool]:
    """CKAN's own database on the server of admin_url; return (its URL, created now)."""
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'create database "{name}" encoding \'UTF8\' template template0')
    except psycopg.OperationalError as error:
        raise PortalError(f"no PostgreSQL for CKAN at {_without_password(admin_url)} "
                          f"(set ORCP_CKAN_PG_ADMIN_URL): {error}") from error
    return admin_url.rsplit("/", 1)[0] + f"/{name}", not exists


def _write_config(cache: Path, db_url: str, solr_url: str, port: int, dcat: bool) -> Path:
    """ckan.ini: generated once (fresh secrets), then the options of this start."""
    ini = cache / "ckan.ini"
    if not ini.exists():
        _run([str(cache / "venv" / "bin" / "ckan"), "generate", "config", str(ini)],
             "ckan generate config")
    licenses = cache / "licenses.json"
    licenses.write_text(json.dumps(LICENSES, ensure_ascii=False, indent=2))
    (cache / "storage").mkdir(exist_ok=True)
    options = {
        "sqlalchemy.url": db_url,
        "solr_url": solr_url,
        "ckan.site_url": f"http://{HOST}:{port}",
        "ckan.site_id": "orcp-test",
        "ckan.site_title": "Portail de test ORCP",
        "ckan.storage_path": str(cache / "storage"),
        "ckan.max_resource_size": "100",
        "ckan.plugins": "dcat" if dcat else "",
        "ckan.devserver.threaded": "true",
        "licenses_group_url": f"file://{licenses}",
    }
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # CKAN's keys are case-sensitive (SECRET_KEY)
    parser.read(ini)
    for key, value in options.items():
        parser.set("app:main", key, value)
    with ini.open("w") as out:
        parser.write(out)
    return ini


def _sysadmin_token(cache: Path, db_url: str) -> str:
    """Create the sysadmin once per database, and a new API token for this start."""
    with psycopg.connect(db_url) as conn:
        exists = conn.execute('select 1 from "user" where name = %s', (SYSADMIN,)).fetchone()
    if not exists:
        password = secrets.token_urlsafe(24)  # nobody logs in: only the token is used
        _ckan(cache, "user", "add", SYSADMIN, f"email={SYSADMIN}@example.org", f"password={password}")
        _ckan(cache, "sysadmin", "add", SYSADMIN)
    output = _ckan(cache, "user", "token", "add", "--quiet", SYSADMIN, f"tests-{int(time.time())}")
    return output.strip().splitlines()[-1].strip()


# ---------------------------------------------------------------- processes


def _start_solr(cache: Path, example: Path, home: Path, port: int) -> int:
    cmd = ["java", "-Xmx512m", f"-Djetty.host={HOST}", f"-Djetty.port={port}",
           f"-Dsolr.solr.home={home}", "-jar", "start.jar"]
    return _spawn(cmd, example, cache / "solr.log")


def _start_ckan(cache: Path, ini: Path, port: int) -> int:
    cmd = [str(cache / "venv" / "bin" / "ckan"), "-c", str(ini), "run",
           "--host", HOST, "--port", str(port), "--disable-reloader"]
    return _spawn(cmd, cache, cache / "ckan.log")


def _spawn(cmd: list[str], cwd: Path, log_path: Path) -> int:
    """Start a server in its own process group (so stop() ends it and its children only)."""
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(cmd, cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    return process.pid


def _kill_group(pid: int | None) -> None:
    if not pid or not _alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child that exited: reap it
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie is not alive
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


def _wait_for(url: str, what: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _answers(url):
            return
        time.sleep(0.3)
    tail = log_path.read_text(errors="replace")[-3000:] if log_path.exists() else ""
    raise PortalError(f"{what} did not answer {url} within {timeout:.0f} s; end of {log_path}:\n{tail}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


# ---------------------------------------------------------------- helpers


def _ckan(cache: Path, *args: str) -> str:
    cmd = [str(cache / "venv" / "bin" / "ckan"), "-c", str(cache / "ckan.ini"), *args]
    shown = " ".join(args[:3])  # never the password or token arguments
    return _run(cmd, f"ckan {shown}")


def _run(cmd: list[str], what: str) -> str:
    result = subprocess.run(cmd, check=False, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        tail = (result.stderr or result.stdout)[-3000:]
        raise PortalError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def _ckan_package_file(cache: Path, relative: str) -> Path:
    matches = list((cache / "venv" / "lib").glob(f"python3*/site-packages/ckan/{relative}"))
    if not matches:
        raise PortalError(f"ckan/{relative} not found in {cache / 'venv'}")
    return matches[0]


def _require_tool(name: str, why: str) -> None:
    if not shutil.which(name):
        raise PortalError(f"`{name}` is not installed; it is needed {why}")


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _without_password(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    if command == "start":
        began = time.monotonic()
        portal, started = start(log=lambda message: print(message, file=sys.stderr))
        verb = "started" if started else "already running"
        print(f"CKAN {verb} at {portal.url} in {time.monotonic() - began:.0f} s "
              f"(URL and API token in {cache_dir() / 'portal.json'})")
    elif command == "env":
        portal = _running_portal(cache_dir())
        if not portal:
            print("no portal running; run `start` first", file=sys.stderr)
            return 1
        print(f"export ORCP_TEST_CKAN_URL={portal.url} ORCP_TEST_CKAN_TOKEN={portal.token}")
    elif command == "stop":
        stop()
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
