"""Shared machinery of the Amundsen compatibility harness.

- Simulator: bin/oktasim as a subprocess on a random port, plus its admin API.
- run_oktasync: bin/oktasync sync against the simulator (Neo4j or --csv-dir).
- Graph helpers on the Neo4j Python driver Amundsen itself uses (4.4), for Neo4j 3.5, 4.4
  and 5.x: the server's version is read at run time (neo4j_version, CALL dbms.components()).
- Databuilder publishing with databuilder's own models, loader and publishers.
- The two Neo4j 5 workarounds for Amundsen's own Cypher, confined to this file and applied
  on Neo4j 5.x only (needs_neo4j5_workarounds): the publishers' constraint statement
  (amundsen#2094) and get_table's column query. On 3.5 and 4.4 databuilder and the metadata
  service run unpatched, as their users run them.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple
from urllib.parse import quote, urlsplit

import neo4j
from neo4j import GraphDatabase

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
# OKTASYNC_BIN / OKTASIM_BIN point the harness at other builds (e.g. a release).
OKTASYNC = Path(os.environ.get('OKTASYNC_BIN') or REPO_ROOT / 'bin' / 'oktasync')
OKTASIM = Path(os.environ.get('OKTASIM_BIN') or REPO_ROOT / 'bin' / 'oktasim')

# Properties the comparison of graphs ignores: run metadata that differs between
# any two publishes (tags, timestamps) and oktasync's own *_epoch_ms bookkeeping.
IGNORED_EXACT = {'published_tag', 'publisher_last_updated_epoch_ms'}


def ignored_property(name: str) -> bool:
    return name in IGNORED_EXACT or name.endswith('_epoch_ms')


# --------------------------------------------------------------------------- Neo4j

def neo4j_test_uri() -> str:
    uri = os.environ.get('NEO4J_TEST_URI', '').strip()
    if not uri:
        raise RuntimeError('NEO4J_TEST_URI is not set: run `make compat` (it starts a private Neo4j) '
                           'or set NEO4J_TEST_URI=bolt://127.0.0.1:PORT of a server you may wipe')
    return uri


def neo4j_driver(uri: str, user: str = '', password: str = '') -> neo4j.Driver:
    auth = (user, password) if user else None
    return GraphDatabase.driver(uri, auth=auth, encrypted=False)


def server_version(driver: neo4j.Driver) -> Tuple[int, int]:
    """(major, minor) of the Neo4j server behind driver, e.g. (3, 5), (4, 4), (5, 26) or
    (2025, 1): `CALL dbms.components()`, which every version answers."""
    with driver.session() as session:
        version = session.run("CALL dbms.components() YIELD name, versions WHERE name = 'Neo4j Kernel' "
                              "RETURN versions[0] AS v").single()['v']
    m = re.match(r'(\d+)\.(\d+)', version)
    if not m:
        raise RuntimeError(f'cannot read the Neo4j version {version!r}')
    return int(m.group(1)), int(m.group(2))


_VERSIONS: Dict[str, Tuple[int, int]] = {}


def neo4j_version(uri: Optional[str] = None, user: str = '', password: str = '') -> Tuple[int, int]:
    """server_version of the server at uri (default $NEO4J_TEST_URI), asked once per URI."""
    uri = uri or neo4j_test_uri()
    if uri not in _VERSIONS:
        driver = neo4j_driver(uri, user, password)
        try:
            _VERSIONS[uri] = server_version(driver)
        finally:
            driver.close()
    return _VERSIONS[uri]


def needs_neo4j5_workarounds(uri: Optional[str] = None, user: str = '', password: str = '') -> bool:
    """The one switch of the harness's Amundsen workarounds: True on Neo4j 5.x (and the calendar
    versions after it), where databuilder's `CREATE CONSTRAINT ON ... ASSERT` (amundsen#2094) and
    get_table's column query fail; False on 3.5 and 4.4, where databuilder's publishers and the
    metadata service run unpatched."""
    return neo4j_version(uri, user, password)[0] >= 5


def reset_database(driver: neo4j.Driver) -> None:
    """Empties the database: every node and relationship, constraint and index
    (Neo4j's built-in token LOOKUP indexes stay). Neo4j 3.5 has no SHOW and no
    names: its schema is read with db.constraints()/db.indexes() and dropped by
    description."""
    major, _ = server_version(driver)
    with driver.session() as session:
        while session.run('MATCH (n) WITH n LIMIT 20000 DETACH DELETE n RETURN count(*) AS c').single()['c']:
            pass
        if major == 3:
            for desc in session.run('CALL db.constraints() YIELD description RETURN description').value():
                session.run(f'DROP {desc}').consume()
            # Unique indexes went with their constraints.
            for rec in session.run('CALL db.indexes() YIELD description, indexName, type '
                                   'RETURN description, indexName, type').data():
                if 'fulltext' in rec['type']:
                    session.run('CALL db.index.fulltext.drop($name)', name=rec['indexName']).consume()
                else:
                    session.run(f"DROP {rec['description']}").consume()
            return
        for rec in session.run('SHOW CONSTRAINTS YIELD name RETURN name').data():
            session.run(f"DROP CONSTRAINT `{rec['name']}` IF EXISTS").consume()
        for rec in session.run("SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name").data():
            session.run(f"DROP INDEX `{rec['name']}` IF EXISTS").consume()


# A uniqueness (or node key) constraint on :User(key) as Neo4j 3.5's db.constraints() describes it,
# e.g. "CONSTRAINT ON ( user:User ) ASSERT user.key IS UNIQUE".
_USER_KEY_CONSTRAINT_35 = re.compile(r'CONSTRAINT ON \( *\w+:User *\) ASSERT \(? *\w+\.key *\)? IS (UNIQUE|NODE KEY)',
                                     re.IGNORECASE)


def user_key_constraints(driver: neo4j.Driver) -> List[str]:
    """Every uniqueness or node key constraint on :User(key), one string each: its description
    on 3.5, '<name> <type>' on 4.4+."""
    major, _ = server_version(driver)
    with driver.session() as session:
        if major == 3:
            return sorted(d for d in session.run('CALL db.constraints() YIELD description RETURN description').value()
                          if _USER_KEY_CONSTRAINT_35.fullmatch(d.strip()))
        rows = session.run("SHOW CONSTRAINTS YIELD name, type, labelsOrTypes, properties "
                           "WHERE labelsOrTypes = ['User'] AND properties = ['key'] "
                           "AND (type CONTAINS 'UNIQUENESS' OR type CONTAINS 'KEY') "
                           "RETURN name, type").data()
    return sorted(f"{r['name']} {r['type']}" for r in rows)


def label_counts(driver: neo4j.Driver) -> Dict[str, int]:
    with driver.session() as session:
        rows = session.run('MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS c').data()
    return {r['label']: r['c'] for r in rows}


def relationship_counts(driver: neo4j.Driver) -> Dict[str, int]:
    with driver.session() as session:
        rows = session.run('MATCH ()-[r]->() RETURN type(r) AS t, count(*) AS c').data()
    return {r['t']: r['c'] for r in rows}


Props = Dict[str, Any]
EdgeKey = Tuple[str, str, str]


def user_graph(driver: neo4j.Driver) -> Tuple[Dict[str, Props], Dict[EdgeKey, List[Props]]]:
    """Every :User node (by key) and every MANAGE_BY/MANAGE edge between users,
    (start key, type, end key) -> list of edge property maps (a list, so that
    duplicate edges show), all without the ignored run metadata."""
    with driver.session() as session:
        nodes = {}
        for rec in session.run('MATCH (u:User) RETURN u'):
            props = dict(rec['u'].items())
            nodes[props.get('key')] = {k: v for k, v in props.items() if not ignored_property(k)}
        edges: Dict[EdgeKey, List[Props]] = {}
        for rec in session.run('MATCH (a:User)-[r:MANAGE_BY|MANAGE]->(b:User) '
                               'RETURN a.key AS a, type(r) AS t, b.key AS b, properties(r) AS p'):
            props = {k: v for k, v in rec['p'].items() if not ignored_property(k)}
            edges.setdefault((rec['a'], rec['t'], rec['b']), []).append(props)
    return nodes, edges


# --------------------------------------------------------------------------- oktasim

class Service:
    """A server process printing `<ready> <url>` on stdout once it listens (it binds port 0, so
    the URL it prints is where it really listens). Its output goes to <workdir>/<name>.out/.err."""

    def __init__(self, name: str, args: List[str], workdir: Path, ready: str, timeout: float,
                 env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None) -> None:
        self.name = name
        self._out = workdir / f'{name}.out'
        self._err = workdir / f'{name}.err'
        with open(self._out, 'wb') as out, open(self._err, 'wb') as err:
            self._proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                          cwd=str(cwd) if cwd else None)
        self.url = self._wait_ready(ready, timeout)

    def _wait_ready(self, ready: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self._out.read_text(errors='replace').splitlines():
                if line.startswith(ready + ' '):
                    return line.split()[1]
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f'{self.name} did not become ready:\n{self.log()}')

    def log(self) -> str:
        return self._err.read_text(errors='replace')[-4000:]

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


class Simulator:
    """bin/oktasim on 127.0.0.1 and a random port, with its admin API. groups > 0 also
    generates that many groups (--groups): teams as groups, Everyone and non-team groups."""

    def __init__(self, users: int, seed: int, workdir: Path, groups: int = 0) -> None:
        if not OKTASIM.is_file():
            raise RuntimeError(f'{OKTASIM} is missing: run `make build` (make compat does)')
        args = [str(OKTASIM), '--users', str(users), '--seed', str(seed), '--addr', '127.0.0.1:0']
        if groups:
            args += ['--groups', str(groups)]
        self._service = Service(f'oktasim-{seed}', args, workdir, 'OKTASIM_READY', timeout=30)
        self.url = self._service.url

    def close(self) -> None:
        self._service.close()

    def _call(self, method: str, path: str, body: Optional[dict] = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json', 'Accept': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise RuntimeError(f'oktasim {method} {path}: HTTP {e.code}: {e.read()[:500]!r}') from e
        return json.loads(raw) if raw.strip() else None

    def export(self) -> List[Dict[str, Any]]:
        """All users, DEPROVISIONED included, in Okta's JSON shape."""
        return self._call('GET', '/admin/users')

    def groups(self) -> List[Dict[str, Any]]:
        """All groups, ordered by id: {'id', 'type', 'name', 'description', 'members': [user ids]}
        (every user for Everyone)."""
        return self._call('GET', '/admin/groups')['groups']

    def delete_user(self, okta_id: str) -> None:
        self._call('DELETE', f'/admin/users/{quote(okta_id)}')

    def deactivate_user(self, okta_id: str) -> None:
        self._call('POST', f'/admin/users/{quote(okta_id)}/deactivate')

    def patch_profile(self, okta_id: str, profile: Dict[str, Any]) -> None:
        self._call('PATCH', f'/admin/users/{quote(okta_id)}', {'profile': profile})

    def set_manager(self, okta_id: str, manager_okta_id: str) -> None:
        self._call('PUT', f'/admin/users/{quote(okta_id)}/manager', {'managerId': manager_okta_id})


# --------------------------------------------------------------------------- oktasync

def oktasync_env(sim_url: str, neo4j_uri: Optional[str] = None,
                 extra_env: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of an oktasync process: this one's without any OKTA_*, NEO4J_* or
    OKTASYNC_SEARCH_* variable (a stray OKTASYNC_SEARCH_URL would turn people search on),
    then the simulator, Neo4j and extra_env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(('OKTA_', 'NEO4J_', 'OKTASYNC_SEARCH_'))}
    env['OKTA_ORG_URL'] = sim_url
    env['OKTA_API_TOKEN'] = 'compat-harness-token'
    if neo4j_uri:
        env['NEO4J_URI'] = neo4j_uri
    env.update(extra_env or {})
    return env


def team_groups_config(path: Path, patterns: Iterable[str]) -> Path:
    """Writes an oktasync config file at path whose only setting is team_name from Okta groups
    (mapping.team.source: groups with these patterns, in priority order) and returns path."""
    quoted = ', '.join(json.dumps(p) for p in patterns)  # a JSON string is a YAML flow scalar
    path.write_text(f'mapping:\n  team:\n    source: groups\n    groups:\n      patterns: [{quoted}]\n')
    return path


def run_oktasync(sim_url: str, *, neo4j_uri: Optional[str] = None, csv_dir: Optional[Path] = None,
                 published_tag: Optional[str] = None, timeout: float = 300, args: Iterable[str] = (),
                 extra_env: Optional[Dict[str, str]] = None, config: Optional[Path] = None) -> Dict[str, Any]:
    """Runs `oktasync sync --summary json [--config config] [args]` and returns the summary; fails
    on a non-zero exit. extra_env adds to (or overrides) the environment, e.g. OKTASYNC_SEARCH_URL;
    config is an oktasync config file, e.g. from team_groups_config."""
    if not OKTASYNC.is_file():
        raise RuntimeError(f'{OKTASYNC} is missing: run `make build` (make compat does)')
    env = oktasync_env(sim_url, neo4j_uri, extra_env)
    args = [str(OKTASYNC), 'sync', '--summary', 'json', '--log-format', 'json', *args]
    if config is not None:
        args += ['--config', str(config)]
    if csv_dir is not None:
        args += ['--csv-dir', str(csv_dir)]
    if published_tag:
        args += ['--published-tag', published_tag]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f'oktasync sync exited {proc.returncode}\nstdout: {proc.stdout[-3000:]}\n'
                             f'stderr: {proc.stderr[-3000:]}')
    summary = json.loads(proc.stdout)
    assert summary.get('outcome') == 'success', summary
    return summary


# --------------------------------------------------------------------------- databuilder

# amundsen#2094: both databuilder publishers create their key constraint with
# `CREATE CONSTRAINT ON (n:L) ASSERT n.key IS UNIQUE`, syntax Neo4j 5 removed, so
# every publish fails on Neo4j 5 before writing anything. On Neo4j 5 (only: see
# needs_neo4j5_workarounds) the subclasses below replace that step with the
# 4.4+/5 form of the same constraint; every MERGE the publishers run is
# databuilder's own. On 3.5 and 4.4 databuilder's own classes run. oktasync itself
# needs no workaround: it creates the constraint each version accepts (on 3.5 and
# 4.4 databuilder's own statement, which databuilder then finds already there).
CONSTRAINT_CYPHER = 'CREATE CONSTRAINT IF NOT EXISTS FOR (node:`{label}`) REQUIRE node.key IS UNIQUE'


def node_file_labels(node_file: str) -> Set[str]:
    with open(node_file, newline='', encoding='utf8') as f:
        return {row['LABEL'] for row in csv.DictReader(f)}


def _create_constraints(driver: neo4j.Driver, database: str, labels: Iterable[str]) -> None:
    with driver.session(database=database) as session:
        for label in sorted(labels):
            session.run(CONSTRAINT_CYPHER.format(label=label)).consume()


def _neo4j5_publishers():
    # Imported lazily so that `publish_bench.py --help` stays fast.
    from databuilder.publisher.neo4j_csv_publisher import Neo4jCsvPublisher
    from databuilder.publisher.neo4j_csv_unwind_publisher import Neo4jCsvUnwindPublisher

    class Neo4j5CsvPublisher(Neo4jCsvPublisher):
        """databuilder's Neo4jCsvPublisher; constraint step in Neo4j 5 syntax (amundsen#2094)."""

        def _try_create_index(self, label: str) -> None:
            _create_constraints(self._driver, self._db_name, [label])

    class Neo4j5CsvUnwindPublisher(Neo4jCsvUnwindPublisher):
        """databuilder's Neo4jCsvUnwindPublisher; constraint step in Neo4j 5 syntax (amundsen#2094)."""

        def pre_publish_node_file(self, node_file: str) -> None:
            new = node_file_labels(node_file) - self._labels
            _create_constraints(self._driver, self._db_name, new)
            self._labels |= new

    return {'csv': Neo4j5CsvPublisher, 'unwind': Neo4j5CsvUnwindPublisher}


def stock_publisher_class(kind: str):
    """databuilder's own publisher, unpatched: 'csv' = Neo4jCsvPublisher, 'unwind' = Neo4jCsvUnwindPublisher."""
    from databuilder.publisher.neo4j_csv_publisher import Neo4jCsvPublisher
    from databuilder.publisher.neo4j_csv_unwind_publisher import Neo4jCsvUnwindPublisher

    return {'csv': Neo4jCsvPublisher, 'unwind': Neo4jCsvUnwindPublisher}[kind]


def publisher_class(kind: str, uri: Optional[str] = None, user: str = '', password: str = ''):
    """The publisher databuilder's users can run against the server at uri (default
    $NEO4J_TEST_URI): databuilder's own class on 3.5 and 4.4, the Neo4j 5 subclass on 5.x."""
    if needs_neo4j5_workarounds(uri, user, password):
        return _neo4j5_publishers()[kind]
    return stock_publisher_class(kind)


def publisher_conf(uri: str, node_dir: Path, rel_dir: Path, tag: str,
                   user: str = '', password: str = '', transaction_size: Optional[int] = None) -> Dict[str, Any]:
    """Config of the publisher.neo4j scope, as a databuilder job would set it."""
    conf = {
        'node_files_directory': str(node_dir),
        'relation_files_directory': str(rel_dir),
        'neo4j_endpoint': uri,
        'neo4j_user': user,
        'neo4j_password': password,
        # databuilder turns TLS on for bolt:// unless told otherwise; the test server has none.
        'neo4j_encrypted': False,
        'job_publish_tag': tag,
    }
    if transaction_size:
        conf['neo4j_transaction_size'] = transaction_size
    return conf


def publish_csv_dir(kind: str, uri: str, csv_dir: Path, tag: str, **kwargs: Any) -> float:
    """Publishes DIR/nodes + DIR/relationships with databuilder's `kind` publisher
    ('csv' = Neo4jCsvPublisher, 'unwind' = Neo4jCsvUnwindPublisher). Returns the
    seconds publish() took (connecting excluded)."""
    from pyhocon import ConfigFactory

    publisher = publisher_class(kind, uri, kwargs.get('user', ''), kwargs.get('password', ''))()
    publisher.init(ConfigFactory.from_dict(
        publisher_conf(uri, csv_dir / 'nodes', csv_dir / 'relationships', tag, **kwargs)))
    try:
        start = time.perf_counter()
        publisher.publish()
        return time.perf_counter() - start
    finally:
        publisher._driver.close()


def publish_models(uri: str, records: List[Any], tag: str, kind: str = 'csv') -> None:
    """Runs a databuilder DefaultJob: records (databuilder models) -> FsNeo4jCSVLoader
    -> Neo4jCsvPublisher ('csv') or Neo4jCsvUnwindPublisher ('unwind'); databuilder's own
    on 3.5 and 4.4, with the Neo4j 5 constraint step on 5.x (publisher_class)."""
    from databuilder.extractor.base_extractor import Extractor
    from databuilder.job.job import DefaultJob
    from databuilder.loader.file_system_neo4j_csv_loader import FsNeo4jCSVLoader
    from databuilder.models.table_metadata import TableMetadata
    from databuilder.task.task import DefaultTask
    from pyhocon import ConfigFactory, ConfigTree

    # TableMetadata remembers, in class-level sets, the Database/Cluster/Schema nodes, relations
    # and records it already serialized in this process, and skips them afterwards: a later
    # publish into a fresh database would lack them. Each publish starts from a clean slate, so
    # test modules do not depend on their order.
    for seen in (TableMetadata.serialized_nodes_keys, TableMetadata.serialized_rels_keys,
                 TableMetadata.serialized_records_keys):
        seen.clear()

    class RecordsExtractor(Extractor):
        def init(self, conf: ConfigTree) -> None:
            self._it = iter(records)

        def extract(self) -> Any:
            return next(self._it, None)

        def get_scope(self) -> str:
            return 'extractor.records'

    with tempfile.TemporaryDirectory(prefix='databuilder-') as tmp:
        node_dir, rel_dir = Path(tmp, 'nodes'), Path(tmp, 'relationships')
        conf = {
            'loader.filesystem_csv_neo4j.node_dir_path': str(node_dir),
            'loader.filesystem_csv_neo4j.relationship_dir_path': str(rel_dir),
            'loader.filesystem_csv_neo4j.delete_created_directories': False,
        }
        conf.update({f'publisher.neo4j.{k}': v for k, v in publisher_conf(uri, node_dir, rel_dir, tag).items()})
        task = DefaultTask(extractor=RecordsExtractor(), loader=FsNeo4jCSVLoader())
        publisher = publisher_class(kind, uri)()
        try:
            DefaultJob(conf=ConfigFactory.from_dict(conf), task=task, publisher=publisher).launch()
        finally:
            if hasattr(publisher, '_driver'):
                publisher._driver.close()


def csv_row_counts(csv_dir: Path) -> Tuple[int, int]:
    """(node rows, relationship rows) of a databuilder CSV directory."""
    def rows(sub: str) -> int:
        total = 0
        d = csv_dir / sub
        if d.is_dir():
            for f in sorted(d.iterdir()):
                if f.is_file():
                    with open(f, newline='', encoding='utf8') as fh:
                        total += sum(1 for _ in csv.DictReader(fh))
        return total
    return rows('nodes'), rows('relationships')


def split_bolt_uri(uri: str) -> Tuple[str, int]:
    """bolt://host:7687 -> ('bolt://host', 7687): Amundsen's PROXY_HOST and PROXY_PORT
    (the metadata service joins them as f'{host}:{port}')."""
    parts = urlsplit(uri)
    return f'{parts.scheme}://{parts.hostname}', parts.port or 7687


# --------------------------------------------------------------------------- metadata service

# Amundsen metadata 3.13.0's Neo4jProxy.get_table fails on Neo4j 5 before it gets
# to owners: its column query builds a map from grouping keys and an aggregate in
# one WITH item, which Neo4j 5 rejects ("Aggregation column contains implicit
# grouping expressions"; implicit grouping keys were removed in Neo4j 5.0). This
# harness-only subclass rewrites that single statement into the Neo4j 4.4
# semantics made explicit (tm and tm_dscrpt as grouping keys, then the map);
# every other statement, and all of get_table's Python, is Amundsen's own.
_COLUMN_QUERY_NEO4J4 = """WITH db, clstr, schema, tbl, tbl_dscrpt, col, col_dscrpt, collect(distinct stat) as col_stats,
collect(distinct badge) as col_badges,
{node: tm, description: tm_dscrpt, badges: collect(distinct tm_badge)} as tm_results"""
_COLUMN_QUERY_NEO4J5 = """WITH db, clstr, schema, tbl, tbl_dscrpt, col, col_dscrpt, tm, tm_dscrpt,
collect(distinct stat) as col_stats, collect(distinct badge) as col_badges, collect(distinct tm_badge) as tm_badges
WITH db, clstr, schema, tbl, tbl_dscrpt, col, col_dscrpt, col_stats, col_badges,
{node: tm, description: tm_dscrpt, badges: tm_badges} as tm_results"""


def neo4j5_table_proxy_class():
    from metadata_service.proxy.neo4j_proxy import Neo4jProxy

    class Neo4j5TableProxy(Neo4jProxy):
        """Neo4jProxy whose get_table column query runs on Neo4j 5 (see above)."""

        def _execute_cypher_query(self, *, statement: str, param_dict: Dict[str, Any]):
            if _COLUMN_QUERY_NEO4J4 in statement:
                statement = statement.replace(_COLUMN_QUERY_NEO4J4, _COLUMN_QUERY_NEO4J5)
            return super()._execute_cypher_query(statement=statement, param_dict=param_dict)

    return Neo4j5TableProxy


def table_proxy_class(uri: Optional[str] = None):
    """The metadata service's proxy for get_table against the server at uri (default
    $NEO4J_TEST_URI): Amundsen's own Neo4jProxy on 3.5 and 4.4, Neo4j5TableProxy on 5.x."""
    if needs_neo4j5_workarounds(uri):
        return neo4j5_table_proxy_class()
    from metadata_service.proxy.neo4j_proxy import Neo4jProxy

    return Neo4jProxy


# --------------------------------------------------------------------------- people search

# The alias Amundsen's search service reads people from (its ES_INDEX_ALIAS_TEMPLATE
# '{resource}_search_index_v2_1'), and oktasync's default search.alias.
USER_SEARCH_ALIAS = 'user_search_index_v2_1'

# Index settings that name or date one index rather than describe it.
EPHEMERAL_INDEX_SETTINGS = {'uuid', 'creation_date', 'provided_name', 'version', 'creation_date_string'}


def search_test_url() -> str:
    url = os.environ.get('SEARCH_TEST_URL', '').strip().rstrip('/')
    if not url:
        raise RuntimeError('SEARCH_TEST_URL is not set: run the harness under scripts/with-search (it starts a '
                           'private OpenSearch) or set SEARCH_TEST_URL=http://127.0.0.1:PORT of a server you may wipe')
    return url


class SearchServer:
    """The test search server (OpenSearch or Elasticsearch, plain HTTP, no auth) through its
    REST API, with urllib: what the tests read back is what the server holds, no client
    library in between."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip('/')

    def request(self, method: str, path: str, body: Any = None, ok: Iterable[int] = (200,),
                timeout: float = 30) -> Tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={'Content-Type': 'application/json', 'Accept': 'application/json'})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in tuple(ok):
            raise AssertionError(f'search {method} {path}: HTTP {status}: {raw[:1000]!r}')
        return status, (json.loads(raw) if raw.strip() else None)

    def alias_indices(self, alias: str) -> List[str]:
        """The indices the alias points at ([] when there is no such alias)."""
        status, body = self.request('GET', f'/_alias/{quote(alias)}', ok=(200, 404))
        return sorted(body) if status == 200 else []

    def indices(self, prefix: str = '') -> List[str]:
        """Every index whose name starts with prefix (system indices aside)."""
        _, rows = self.request('GET', '/_cat/indices?format=json&h=index&expand_wildcards=open,closed')
        return sorted(r['index'] for r in rows if r['index'].startswith(prefix) and not r['index'].startswith('.'))

    def delete_indices(self, prefix: str) -> None:
        for index in self.indices(prefix):
            self.request('DELETE', f'/{quote(index)}', ok=(200, 404))

    def refresh(self, index: str) -> None:
        self.request('POST', f'/{quote(index)}/_refresh')

    def hits(self, index: str, size: int = 10000) -> List[Dict[str, Any]]:
        """Every document of index (or alias) as its hit: _index, _id, _source. Not refreshed
        first: what a search sees now."""
        _, body = self.request('POST', f'/{quote(index)}/_search',
                               {'size': size, 'query': {'match_all': {}}, 'sort': ['_doc']})
        hits = body['hits']['hits']
        assert body['hits']['total']['value'] == len(hits) < size, 'more documents than one page holds'
        return hits

    def mapping(self, index: str) -> Dict[str, Any]:
        _, body = self.request('GET', f'/{quote(index)}/_mapping')
        (only,) = body.values()
        return only['mappings']

    def index_settings(self, index: str) -> Dict[str, Any]:
        """The index's settings (GET /<index>/_settings, the `index` object) without those
        that name or date the index (uuid, creation date, provided_name, created version)."""
        _, body = self.request('GET', f'/{quote(index)}/_settings')
        (only,) = body.values()
        return {k: v for k, v in only['settings']['index'].items() if k not in EPHEMERAL_INDEX_SETTINGS}


def databuilder_user_search_index(neo4j_uri: str, search_url: str, alias: str) -> None:
    """Runs databuilder's own people-search job against the graph at neo4j_uri: a DefaultJob
    with SearchMetadatatoElasticasearchTask (doc_type 'user', its document_mappings.User, a
    fresh <alias>_<date>_<uuid> index, the alias swapped onto it) fed by
    Neo4jSearchDataExtractor with databuilder's v2.1 user query, search_data_queries'
    DEFAULT_USER_QUERY: the key/name/usage documents that the v2.1 mapping and Amundsen's
    search service (ElasticsearchProxyV2_1) read. (The extractor's own built-in user query,
    used when no cypher_query is given, predates that mapping: it returns email/full_name and
    flat total_* columns, no key, name or usage.) The Elasticsearch client is
    elasticsearch-py 7.13.3, the release before the product check."""
    from databuilder.extractor.neo4j_search_data_extractor import Neo4jSearchDataExtractor
    from databuilder.job.job import DefaultJob
    from databuilder.task.search.search_data_queries import DEFAULT_USER_QUERY
    from databuilder.task.search.search_metadata_to_elasticsearch_task import SearchMetadatatoElasticasearchTask
    from elasticsearch import Elasticsearch
    from pyhocon import ConfigFactory

    client = Elasticsearch([search_url])
    task_scope = 'task.search_metadata_to_elasticsearch'
    conf = ConfigFactory.from_dict({
        f'{task_scope}.{SearchMetadatatoElasticasearchTask.ENTITY_TYPE}': 'user',
        f'{task_scope}.{SearchMetadatatoElasticasearchTask.ELASTICSEARCH_CLIENT_CONFIG_KEY}': client,
        f'{task_scope}.{SearchMetadatatoElasticasearchTask.ELASTICSEARCH_ALIAS_CONFIG_KEY}': alias,
        'extractor.search_data.entity_type': 'user',
        f'extractor.search_data.{Neo4jSearchDataExtractor.CYPHER_QUERY_CONFIG_KEY}': DEFAULT_USER_QUERY,
        'extractor.search_data.extractor.neo4j.graph_url': neo4j_uri,
        'extractor.search_data.extractor.neo4j.neo4j_auth_user': '',
        'extractor.search_data.extractor.neo4j.neo4j_auth_pw': '',
        'extractor.search_data.extractor.neo4j.neo4j_encrypted': False,
    })
    try:
        DefaultJob(conf=conf, task=SearchMetadatatoElasticasearchTask(extractor=Neo4jSearchDataExtractor())).launch()
    finally:
        client.close()


class OktasyncServe:
    """`oktasync serve --config FILE --log-format json` against the simulator; its JSON log
    (stderr) goes to <workdir>/<name>.err and is read line by line."""

    def __init__(self, name: str, sim_url: str, neo4j_uri: str, config: Path, workdir: Path,
                 extra_env: Optional[Dict[str, str]] = None) -> None:
        if not OKTASYNC.is_file():
            raise RuntimeError(f'{OKTASYNC} is missing: run `make build` (make compat does)')
        self._err = workdir / f'{name}.err'
        self._out = workdir / f'{name}.out'
        with open(self._out, 'wb') as out, open(self._err, 'wb') as err:
            self._proc = subprocess.Popen([str(OKTASYNC), 'serve', '--config', str(config), '--log-format', 'json'],
                                          env=oktasync_env(sim_url, neo4j_uri, extra_env), stdout=out, stderr=err,
                                          stdin=subprocess.DEVNULL)

    def log_lines(self) -> List[Dict[str, Any]]:
        out = []
        for line in self._err.read_text(errors='replace').splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_for(self, msg: str, timeout: float, after: int = 0) -> Dict[str, Any]:
        """The first log line (from line index `after` on) whose msg is msg."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.log_lines()[after:]:
                if line.get('msg') == msg:
                    return line
            if self._proc.poll() is not None:
                raise AssertionError(f'oktasync serve exited {self._proc.returncode} before logging {msg!r}:\n'
                                     f'{self.log()}')
            if time.monotonic() > deadline:
                raise AssertionError(f'oktasync serve did not log {msg!r} within {timeout:g} s:\n{self.log()}')
            time.sleep(0.05)

    def log(self) -> str:
        return self._err.read_text(errors='replace')[-6000:]

    def close(self) -> int:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        return self._proc.returncode


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_oktasync_command(sim_url: str, args: List[str], extra_env: Optional[Dict[str, str]] = None,
                         timeout: float = 120) -> subprocess.CompletedProcess:
    """Runs `oktasync ARGS...` (any subcommand) against the simulator; fails on a non-zero exit."""
    proc = subprocess.run([str(OKTASYNC), *args], env=oktasync_env(sim_url, None, extra_env), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise AssertionError(f'oktasync {" ".join(args)} exited {proc.returncode}\nstdout: {proc.stdout[-3000:]}\n'
                             f'stderr: {proc.stderr[-3000:]}')
    return proc
