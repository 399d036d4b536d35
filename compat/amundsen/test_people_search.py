"""People search: oktasync keeps Amundsen's user search index as databuilder's search job writes it.

One simulated Okta org of 300 users, synced by `oktasync sync` with people search on
(OKTASYNC_SEARCH_URL=$SEARCH_TEST_URL, the default alias user_search_index_v2_1). Before the
first sync databuilder publishes three tables with owners and readers (TableOwner,
TableColumnUsage) and a user no Okta knows (its User model), and the metadata API records
bookmarks, so the documents' `usage` (rank_features total_read / total_own / total_follow) is
not all null. Then:

- golden equality: databuilder's own SearchMetadatatoElasticasearchTask with
  Neo4jSearchDataExtractor (doc type user) indexes the same graph under another alias; the
  documents (`_source`, by key), the mapping and the index settings must be oktasync's. Its
  query has no is_active filter: oktasync's default index is compared with its active users,
  and a full sync with `search.keep_inactive: true` with all of them;
- Amundsen's search service (amundsen-search, in-process, ElasticsearchProxyV2_1) finds synced
  people by name, email and team; not a user deactivated before a full sync; a user renamed
  before an incremental sync under the new name, at once;
- `oktasync serve`: an Okta event hook reaches search within 2 s;
- the alias resolves to exactly one index at every moment of every full sync from the first on.

The tests of this module run in order and share one org, one graph and one search server.
"""

import re
import threading
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import pytest

import harness
from checks import report
from okta_expect import expected_users

USERS = 300
SEED = 41
ALIAS = harness.USER_SEARCH_ALIAS
CHECK_ALIAS = 'databuilder_user_check'   # databuilder's index of the same graph, for comparison
# The contract's index name: <alias>_<yyyymmdd>_<32 hex> (databuilder's is <alias>_<yyyymmdd>_<uuid4 hex>).
# oktasync names its indexes as databuilder does, with "_oktasync" after the alias: the mark
# by which it knows the indexes it made (an alias on any other index is refused).
INDEX_NAME = re.compile(re.escape(ALIAS) + r'_oktasync_\d{8}_[0-9a-f]{32}')
DATABASE, CLUSTER, SCHEMA = 'hive', 'gold', 'core'
TABLES = ('orders', 'payments', 'refunds')
OUTSIDER = 'pat.contractor@vendor.example'   # a user databuilder publishes and Okta does not know
GHOST_OWNER = 'ghost.owner@vendor.example'   # an owner nobody describes: a stub without full_name
HOOK_SECRET = 'people-search-hook-secret-0123'


def table_key(name: str) -> str:
    return f'{DATABASE}://{CLUSTER}.{SCHEMA}/{name}'


def _leaves(expected, export):
    """Active users that manage nobody (deactivating or renaming them touches no one else)."""
    managers = {(u.get('profile') or {}).get('managerId') for u in export}
    return [e for e in expected.values() if e.is_active and e.okta_id not in managers]


# --------------------------------------------------------------------------- the alias, watched

class AliasWatcher:
    """Polls GET /_alias/<alias> in a thread for as long as the `with` block runs and keeps
    every answer: the indices it resolved to, [] for a 404."""

    def __init__(self, search: harness.SearchServer, alias: str = ALIAS) -> None:
        self._search, self._alias = search, alias
        self._stop = threading.Event()
        self.seen: List[List[str]] = []
        self.error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.seen.append(self._search.alias_indices(self._alias))
                self._stop.wait(0.005)  # ~150 polls a second, without starving the run on 2 cores
        except BaseException as e:  # noqa: BLE001 - reported by check()
            self.error = e

    def __enter__(self) -> 'AliasWatcher':
        self._thread.start()
        while not self.seen and self.error is None:  # one answer before the work starts
            time.sleep(0.001)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seen.append(self._search.alias_indices(self._alias))  # one answer after it ended
        self._stop.set()
        self._thread.join(timeout=30)

    def check(self, *, absent_before: bool = False) -> List[str]:
        """Asserts the alias resolved to exactly one index at every poll (a leading run of
        404s is allowed with absent_before: the first sync creates the alias) and returns the
        distinct indices in the order they were seen."""
        assert self.error is None, f'polling {self._alias}: {self.error!r}'
        answers = self.seen
        if absent_before:
            while answers and answers[0] == []:
                answers = answers[1:]
            assert answers, f'{self._alias} never appeared'
        bad = [(i, a) for i, a in enumerate(answers) if len(a) != 1]
        assert not bad, (f'{self._alias} did not resolve to exactly one index at {len(bad)} of {len(answers)} '
                         f'polls, e.g. {bad[:5]}')
        order: List[str] = []
        for (index,) in answers:
            if not order or order[-1] != index:
                order.append(index)
        assert len(order) == len(set(order)), f'{self._alias} went back to an earlier index: {order}'
        return order


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope='module')
def search() -> harness.SearchServer:
    """The test search server, without any index of this module's aliases."""
    server = harness.SearchServer(harness.search_test_url())
    for prefix in (ALIAS, CHECK_ALIAS):
        server.delete_indices(prefix)
    return server


@pytest.fixture(scope='module')
def search_env(search) -> Dict[str, str]:
    return {'OKTASYNC_SEARCH_URL': search.url}


def full_sync(org, search, search_env, *, args=(), absent_before=False) -> Dict[str, Any]:
    """A full sync with people search on, watched: returns the summary, with the indices the
    alias resolved to during the run under '_aliased' (exactly one at every poll)."""
    with AliasWatcher(search) as watcher:
        summary = harness.run_oktasync(org['sim'].url, neo4j_uri=org['neo4j_uri'], args=args,
                                       extra_env=search_env)
    assert 'search' in summary, (
        f'the run summary has no "search" object: {harness.OKTASYNC} does not do people search '
        f'(OKTASYNC_SEARCH_URL={search.url} was set); build oktasync with people search (`make build`).\n'
        f'summary: {summary}')
    summary['_aliased'] = watcher.check(absent_before=absent_before)
    return summary


@pytest.fixture(scope='module')
def org(workdir, neo4j_uri, driver, metadata_app, search, search_env):
    """The org, the tables databuilder publishes before the first sync, and the first sync."""
    from databuilder.models.table_column_usage import ColumnReader, TableColumnUsage
    from databuilder.models.table_metadata import ColumnMetadata, TableMetadata
    from databuilder.models.table_owner import TableOwner
    from databuilder.models.user import User

    sim = harness.Simulator(USERS, SEED, workdir)
    try:
        export = sim.export()
        expected = expected_users(export)
        leaves = _leaves(expected, export)
        inactive = [e for e in expected.values() if not e.is_active]
        assert len(leaves) > 12 and inactive, 'the org needs leaves and leavers'
        heavy, owner, reader, bookmarker, follower = leaves[:5]
        leaver = inactive[0]
        people = {'heavy': heavy, 'owner': owner, 'reader': reader, 'bookmarker': bookmarker, 'follower': follower,
                  'leaver': leaver}
        others = [e for e in leaves[5:] if e.full_name not in {p.full_name for p in people.values()}]

        def reads(who, table, count):
            return ColumnReader(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, table=table, column='*',
                                user_email=who, read_count=count)

        orders, payments, refunds = TABLES
        harness.publish_models(neo4j_uri, [
            *[TableMetadata(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, name=t, description=f'One row per {t}.',
                            columns=[ColumnMetadata('id', 'id', 'bigint', 0)]) for t in TABLES],
            # heavy owns all three tables and reads two: databuilder's sum of read_count runs
            # over the product of its OPTIONAL MATCH rows (see publisher/neo4j/search.go).
            TableOwner(db_name=DATABASE, schema=SCHEMA, table_name=orders, cluster=CLUSTER,
                       owners=[heavy.key, owner.key, GHOST_OWNER]),
            TableOwner(db_name=DATABASE, schema=SCHEMA, table_name=payments, cluster=CLUSTER,
                       owners=[heavy.key, leaver.key]),
            TableOwner(db_name=DATABASE, schema=SCHEMA, table_name=refunds, cluster=CLUSTER, owners=[heavy.key]),
            TableColumnUsage(col_readers=[reads(heavy.key, orders, 5), reads(heavy.key, payments, 7),
                                          reads(reader.key, orders, 42), reads(owner.key, refunds, 3),
                                          reads(leaver.key, refunds, 11), reads(OUTSIDER, orders, 2)]),
            User(email=OUTSIDER, first_name='Pat', last_name='Contractor', full_name='Pat Contractor',
                 team_name='Vendors', role_name='Contractor', employee_type='Contractor', is_active=True),
        ], tag='2024-01-01')
        # Bookmarks as Amundsen's UI makes them: (user)-[:FOLLOW]->(table) and (table)-[:FOLLOWED_BY]->(user).
        client = metadata_app.test_client()
        for table in (orders, payments):
            resp = client.put(f'/user/{quote(bookmarker.key)}/follow/table/{table_key(table)}')
            assert resp.status_code == HTTPStatus.OK, resp.data
        # databuilder's user query counts (user)-[:FOLLOWED_BY]->(x), the direction Amundsen's
        # own bookmarks never take, so total_follow is null for every bookmark above. To give
        # total_follow values (and heavy a third factor in its read product), the test adds
        # that edge directly.
        with driver.session() as session:
            session.run('UNWIND $pairs AS p MATCH (t:Table {key: p[1]}) '
                        'MERGE (u:User {key: p[0]}) ON CREATE SET u.email = p[0] '  # a stub, as the UI makes
                        'CREATE (u)-[:FOLLOWED_BY]->(t)',
                        pairs=[[follower.key, table_key(orders)], [follower.key, table_key(refunds)],
                               [heavy.key, table_key(orders)], [heavy.key, table_key(payments)]]).consume()

        world = {'sim': sim, 'neo4j_uri': neo4j_uri, 'expected': expected, 'export': export, 'others': others,
                 **people}
        world['first_sync'] = full_sync(world, search, search_env, absent_before=True)
        yield world
    finally:
        sim.close()


@pytest.fixture(scope='module')
def databuilder_docs(org, search, neo4j_uri) -> Dict[str, Dict[str, Any]]:
    """databuilder's index of the graph as the first sync left it: _source by key."""
    harness.databuilder_user_search_index(neo4j_uri, search.url, CHECK_ALIAS)
    (index,) = search.alias_indices(CHECK_ALIAS)
    search.refresh(index)  # databuilder's task does not refresh; its bulk load becomes visible within 1 s
    return by_key(search.hits(index), 'databuilder')


@pytest.fixture(scope='module')
def search_app(org, monkeypatch_module):
    """Amundsen's search service (create_app) configured by search_config.py; created after
    the first sync, as its proxy chooses V2.1 only when an index has the v2 mapping."""
    import search_service.proxy as proxy_module
    from search_service import create_app

    monkeypatch_module.delenv('SEARCH_SVC_CONFIG_MODULE_CLASS', raising=False)
    proxy_module._proxy_client = None  # the service caches one proxy per process
    app = create_app(config_module_class='search_config.OktasyncSearchConfig')
    yield app
    proxy_module._proxy_client = None


# --------------------------------------------------------------------------- helpers

def by_key(hits: List[Dict[str, Any]], who: str) -> Dict[str, Dict[str, Any]]:
    docs: Dict[str, Dict[str, Any]] = {}
    for hit in hits:
        key = hit['_source'].get('key')
        assert key not in docs, f'{who}: two documents for {key!r}'
        docs[key] = hit['_source']
    return docs


def aliased_index(search) -> str:
    indices = search.alias_indices(ALIAS)
    assert len(indices) == 1, f'{ALIAS} points at {indices}'
    return indices[0]


def oktasync_docs(search) -> Dict[str, Dict[str, Any]]:
    return by_key(search.hits(ALIAS), 'oktasync')


def docs_diff(actual: Dict[str, Dict[str, Any]], want: Dict[str, Dict[str, Any]]) -> List[str]:
    """Differences between two {key: _source} maps, type-strict (True is not 1)."""
    out = []
    for key in sorted(set(actual) | set(want)):
        if key not in actual:
            out.append(f'{key}: missing (databuilder: {want[key]})')
        elif key not in want:
            out.append(f'{key}: unexpected document {actual[key]}')
        elif not same(actual[key], want[key]):
            out.append(f'{key}: oktasync {actual[key]}\n    databuilder {want[key]}')
    return out


def same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def people(app, term: str, n: int = 1000) -> List[Dict[str, Any]]:
    """POST /v2/search for users, as Amundsen's frontend sends it; the user results, best first."""
    resp = app.test_client().post('/v2/search', json={
        'query_term': term, 'resource_types': ['user'], 'page_index': 0, 'results_per_page': n,
        'filters': [], 'highlight_options': {}})
    assert resp.status_code == HTTPStatus.OK, resp.data
    body = resp.get_json()
    assert body['status_code'] == HTTPStatus.OK, body['msg']
    assert 'user' in body['results'], f'the search service searched no user index: {body}'
    return body['results']['user']['results']


def emails(results: List[Dict[str, Any]]) -> List[str]:
    return [r['email'] for r in results]


# --------------------------------------------------------------------------- tests

def test_first_full_sync_creates_the_alias_on_one_fresh_index(org, search):
    """The first full sync ends with the alias on one index named <alias>_<yyyymmdd>_<32 hex>,
    the only index of that prefix, and the alias resolved to it from the moment it appeared."""
    index = aliased_index(search)
    assert INDEX_NAME.fullmatch(index), f'{index} is not named <alias>_oktasync_<yyyymmdd>_<32 hex>'
    assert search.indices(ALIAS) == [index]
    assert org['first_sync']['_aliased'] == [index]
    assert isinstance(org['first_sync']['search'], dict), org['first_sync']['search']


def test_documents_are_databuilders_for_active_users(org, search, databuilder_docs):
    """Every document oktasync indexes equals, field for field and type for type, the one
    databuilder's search task writes for the same user from the same graph; oktasync leaves out
    the leavers (databuilder's query does not). The usage counts include databuilder's own
    arithmetic (read_count summed over the product of the OPTIONAL MATCH rows)."""
    expected = org['expected']
    # What databuilder indexed, checked against Okta and the planted tables first, so that
    # the comparison below compares something: every synced user and the outsider, no ghost.
    assert set(databuilder_docs) == set(expected) | {OUTSIDER}
    heavy, follower, reader = (databuilder_docs[org[w].key]['usage'] for w in ('heavy', 'follower', 'reader'))
    assert heavy == {'total_read': (5 + 7) * 3 * 2, 'total_own': 3, 'total_follow': 2}, heavy
    assert follower == {'total_read': None, 'total_own': None, 'total_follow': 2}, follower
    assert reader == {'total_read': 42, 'total_own': None, 'total_follow': None}, reader
    assert databuilder_docs[org['leaver'].key]['is_active'] is False

    ours = oktasync_docs(search)
    want = {k: d for k, d in databuilder_docs.items() if d['is_active'] is True}
    assert len(want) < len(databuilder_docs)
    problems = docs_diff(ours, want)
    assert not problems, report(problems)


def test_mapping_and_settings_are_databuilders(search, databuilder_docs):
    """The index oktasync creates has databuilder's mapping (document_mappings.User: the custom
    analyzers, rank_features usage, keyword resource_type, _meta.version 2, and the same dynamic
    fields) and its settings (analysis, max_shingle_diff 10, shards and replicas), the index's
    name, uuid and dates aside."""
    ours = aliased_index(search)
    (theirs,) = search.alias_indices(CHECK_ALIAS)
    assert search.mapping(ours) == search.mapping(theirs)
    assert search.mapping(ours)['_meta'] == {'version': 2}
    settings = search.index_settings(ours)
    assert settings == search.index_settings(theirs)
    assert settings['max_shingle_diff'] == '10' and 'analysis' in settings


def test_document_ids_are_the_okta_ids(search):
    """Each document's _id is the user's Okta id, so that a rename replaces the document in
    place, or the key for a user Okta does not manage (databuilder lets the server choose)."""
    driver = harness.neo4j_driver(harness.neo4j_test_uri())
    try:
        with driver.session() as session:
            ids = {r['email']: r['id'] for r in session.run(
                'MATCH (u:User) WHERE u.full_name IS NOT NULL RETURN u.email AS email, coalesce(u.okta_id, u.key) AS id')}
    finally:
        driver.close()
    hits = search.hits(ALIAS)
    assert hits
    wrong = [(h['_id'], h['_source']['key']) for h in hits if h['_id'] != ids.get(h['_source']['key'])]
    assert not wrong, f'{len(wrong)} documents whose _id is not their Okta id (or key), e.g. {wrong[:5]}'
    assert any(h['_id'] == OUTSIDER for h in hits), 'the databuilder-only user is not indexed under its key'


def test_keep_inactive_indexes_every_user_databuilder_does(org, search, search_env, databuilder_docs, workdir):
    """A full sync with `search.keep_inactive: true` indexes the leavers too: exactly
    databuilder's documents, in a fresh index; the previous one is deleted."""
    before = aliased_index(search)
    config = workdir / 'people-search-keep-inactive.yaml'
    config.write_text('search:\n  keep_inactive: true\n')
    summary = full_sync(org, search, search_env, args=['--config', str(config)])
    after = aliased_index(search)
    assert summary['_aliased'] == [before, after]
    assert search.indices(ALIAS) == [after], 'the previous index was not deleted'
    problems = docs_diff(oktasync_docs(search), databuilder_docs)
    assert not problems, report(problems)
    (theirs,) = search.alias_indices(CHECK_ALIAS)
    assert search.mapping(after) == search.mapping(theirs)


def test_alias_never_missing_during_a_rebuild(org, search, search_env):
    """A default full sync (leavers out again) rebuilds into a fresh index while the alias is
    polled: every answer names exactly one index, first the old one, then the new one; the old
    one is gone afterwards."""
    before = aliased_index(search)
    summary = full_sync(org, search, search_env)
    after = aliased_index(search)
    assert summary['_aliased'] == [before, after], summary['_aliased']
    assert search.indices(ALIAS) == [after]
    assert org['leaver'].key not in oktasync_docs(search)


def test_search_service_finds_people_by_name_email_and_team(org, search_app):
    """Amundsen's search service, unmodified, serves oktasync's index with its V2.1 proxy and
    finds a synced person by full name, by email and by team name."""
    from search_service.proxy import get_proxy_client
    from search_service.proxy.es_proxy_v2_1 import ElasticsearchProxyV2_1

    with search_app.app_context():
        assert type(get_proxy_client()) is ElasticsearchProxyV2_1, 'no index with the v2 mapping (_meta.version 2)'
    person = org['others'][0]
    by_name = people(search_app, person.full_name)
    assert person.key in emails(by_name), f'{person.full_name!r} not found: {emails(by_name)[:10]}'
    assert by_name[0]['full_name'] == person.full_name, by_name[:3]
    hit = next(r for r in by_name if r['email'] == person.key)
    assert (hit['first_name'], hit['last_name'], hit['resource_type']) == (person.first_name, person.last_name,
                                                                           'user')
    assert emails(people(search_app, person.key))[0] == person.key

    team = [e.key for e in org['expected'].values() if e.is_active and e.team_name == person.team_name]
    missing = set(team) - set(emails(people(search_app, person.team_name)))
    assert not missing, f'team {person.team_name!r}: {len(missing)} of {len(team)} members not found'
    assert OUTSIDER in emails(people(search_app, 'Pat Contractor'))


def test_user_deactivated_before_a_full_sync_is_not_found(org, search, search_env, search_app):
    """A user deactivated in Okta: after the next full sync, search finds them neither by
    name nor by email."""
    gone = org['others'][1]
    assert gone.key in emails(people(search_app, gone.full_name))
    org['sim'].deactivate_user(gone.okta_id)
    full_sync(org, search, search_env)
    assert gone.key not in oktasync_docs(search)
    assert gone.key not in emails(people(search_app, gone.full_name))
    assert gone.key not in emails(people(search_app, gone.key))


def test_user_renamed_before_an_incremental_sync_is_found_under_the_new_name(org, search, search_env, search_app):
    """A display name changed in Okta: right after `oktasync sync --incremental` returns (no
    waiting), search finds the user under the new name, and the index still has one document
    for them."""
    renamed = org['others'][2]
    new_name = 'Zephyrine Quillfeather'
    assert renamed.key not in emails(people(search_app, new_name))[:1]
    index = aliased_index(search)
    org['sim'].patch_profile(renamed.okta_id, {'displayName': new_name})
    with AliasWatcher(search) as watcher:
        summary = harness.run_oktasync(org['sim'].url, neo4j_uri=org['neo4j_uri'], args=['--incremental'],
                                       extra_env=search_env)
    assert isinstance(summary.get('search'), dict), f'no "search" in the incremental summary: {summary}'
    assert watcher.check() == [index], 'an incremental sync must update the index in place'
    found = people(search_app, new_name)
    assert found and found[0]['email'] == renamed.key and found[0]['full_name'] == new_name, found[:3]
    assert oktasync_docs(search)[renamed.key]['name'] == new_name


def test_event_hook_reaches_search_within_two_seconds(org, search, search_env, search_app, workdir):
    """`oktasync serve` with people search on and its Okta event hook registered (`oktasync hooks
    register`, verified by the simulator): a display name changed in Okta is found by Amundsen's
    search within 2 s of the change, and a user deactivated in Okta is gone within 2 s."""
    sim = org['sim']
    port = harness.free_port()
    config = workdir / 'people-search-serve.yaml'
    config.write_text(f'serve:\n  listen: "127.0.0.1:{port}"\n'
                      '  schedule: {incremental: "off", full: "off", at_start: none}\n'
                      '  hook_worker: {coalesce: 50ms}\n'
                      'log:\n  level: debug\n')  # the hook's path through serve, in the failure message
    env = {**search_env, 'OKTASYNC_HOOK_SECRETS': HOOK_SECRET}
    serve = harness.OktasyncServe('oktasync-serve-search', sim.url, org['neo4j_uri'], config, workdir, env)
    try:
        serve.wait_for('serving', timeout=60)
        harness.run_oktasync_command(sim.url, ['hooks', 'register', '--config', str(config), '--url',
                                               f'http://127.0.0.1:{port}/okta/events'], extra_env=env)
        renamed, gone = org['others'][3], org['others'][4]
        assert gone.key in emails(people(search_app, gone.full_name))

        def within(seconds: float, found) -> float:
            start = time.monotonic()
            while not found():
                if time.monotonic() - start > seconds:
                    raise AssertionError(f'not in search within {seconds:g} s\n{serve.log()}')
                time.sleep(0.02)
            return time.monotonic() - start

        # The first delivery after serve starts pays for planning its statements on the server
        # (about 1.5 s on this machine): warm up with another user, then measure.
        warm = org['others'][5]
        sim.patch_profile(warm.okta_id, {'displayName': 'Warmington Firstbatch'})
        within(15.0, lambda: emails(people(search_app, 'Warmington Firstbatch'))[:1] == [warm.key])

        sim.patch_profile(renamed.okta_id, {'displayName': 'Octavian Brightwater'})
        t_rename = within(2.0, lambda: emails(people(search_app, 'Octavian Brightwater'))[:1] == [renamed.key])
        sim.deactivate_user(gone.okta_id)
        t_gone = within(2.0, lambda: gone.key not in emails(people(search_app, gone.full_name)))
        print(f'hook to search: rename {t_rename:.2f} s, deactivation {t_gone:.2f} s')
    finally:
        code = serve.close()
    assert code == 0, f'oktasync serve exited {code} after SIGTERM\n{serve.log()}'
