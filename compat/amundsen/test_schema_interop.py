"""oktasync and databuilder on one graph, in either order, on Neo4j 3.5, 4.4 and 5.x.

databuilder's publishers (Neo4jCsvPublisher, Neo4jCsvUnwindPublisher) create their key
constraint with `CREATE CONSTRAINT ON (node:User) ASSERT node.key IS UNIQUE` and go on when
Neo4j answers that an equivalent constraint exists. oktasync creates that same unnamed
constraint on 3.5 and 4.4, so databuilder runs **unpatched** there, before or after a sync.
On Neo4j 5.x databuilder's statement is a syntax error whatever the graph holds
(amundsen#2094): these tests then run with the harness's constraint workaround
(harness.needs_neo4j5_workarounds), and check the rest (same people, one constraint).

Each test starts from an emptied database and shares one simulated org. A table, owned by
synced users and published with databuilder's own models (owner emails in Okta's spelling,
which databuilder lowercases), is what databuilder writes about people.
"""

import importlib.util
from http import HTTPStatus
from urllib.parse import quote

import pytest

import harness
from okta_expect import expected_users

USERS = 200
SEED = 41
DATABASE, CLUSTER, SCHEMA, TABLE = 'hive', 'interop', 'core', 'payments'
TABLE_KEY = f'{DATABASE}://{CLUSTER}.{SCHEMA}/{TABLE}'
OWNERS = 5


@pytest.fixture(scope='module')
def org(workdir):
    sim = harness.Simulator(USERS, SEED, workdir)
    try:
        export = sim.export()
        expected = expected_users(export)
        raw_email = {u['id']: u['profile']['email'] for u in export}
        active = sorted(k for k, e in expected.items() if e.is_active)
        # Mixed-case Okta emails first: databuilder must lowercase them onto the synced keys.
        owners = sorted(active, key=lambda k: raw_email[expected[k].okta_id] == k)[:OWNERS]
        yield {'sim': sim, 'expected': expected, 'owners': owners,
               'raw_owners': [raw_email[expected[k].okta_id] for k in owners]}
    finally:
        sim.close()


def _table_records(raw_owners):
    from databuilder.models.table_metadata import ColumnMetadata, TableMetadata
    from databuilder.models.table_owner import TableOwner

    return [
        TableMetadata(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, name=TABLE, description='Payments.',
                      columns=[ColumnMetadata('payment_id', 'payment id', 'bigint', 0)]),
        TableOwner(db_name=DATABASE, schema=SCHEMA, table_name=TABLE, cluster=CLUSTER, owners=raw_owners),
    ]


def _databuilder(neo4j_uri, org, kind, tag, raw_owners=None):
    """databuilder publishes the table and its owners: its own publisher on 3.5 and 4.4."""
    raw = org['raw_owners'] if raw_owners is None else raw_owners
    harness.publish_models(neo4j_uri, _table_records(raw), tag=tag, kind=kind)


def _publisher_is_stock(neo4j_uri):
    from databuilder.publisher.neo4j_csv_publisher import Neo4jCsvPublisher
    from databuilder.publisher.neo4j_csv_unwind_publisher import Neo4jCsvUnwindPublisher

    stock = (harness.publisher_class('csv', neo4j_uri) is Neo4jCsvPublisher
             and harness.publisher_class('unwind', neo4j_uri) is Neo4jCsvUnwindPublisher)
    assert stock != harness.needs_neo4j5_workarounds(neo4j_uri), harness.neo4j_version(neo4j_uri)
    return stock


def _check_people(driver, org):
    """One :User per synced person, every one synced (okta_id), the table's owners are the
    synced nodes, and the schema holds exactly one uniqueness constraint on User.key."""
    with driver.session() as session:
        rows = session.run('MATCH (u:User) RETURN u.key AS key, u.okta_id AS okta_id').data()
        owners = session.run('MATCH (:Table {key: $t})-[:OWNER]->(u:User) RETURN u.key AS key, u.okta_id AS id',
                             t=TABLE_KEY).data()
        back = session.run('MATCH (u:User)-[:OWNER_OF]->(:Table {key: $t}) RETURN count(*) AS n',
                           t=TABLE_KEY).single()['n']
    keys = [r['key'] for r in rows]
    assert len({k.lower() for k in keys}) == len(keys), 'two :User nodes for one person'
    assert sorted(keys) == sorted(org['expected'])
    assert [r['key'] for r in rows if not r['okta_id']] == []
    expected = org['expected']
    assert sorted((o['key'], o['id']) for o in owners) == sorted((k, expected[k].okta_id) for k in org['owners'])
    assert back == OWNERS
    constraints = harness.user_key_constraints(driver)
    assert len(constraints) == 1, constraints


def test_oktasync_first_then_databuilder_unpatched(org, driver, neo4j_uri):
    """oktasync syncs into an empty graph (creating the User.key constraint); then databuilder's
    Neo4jCsvPublisher and then its Neo4jCsvUnwindPublisher publish the table and its owners,
    unpatched on 3.5 and 4.4 (on 5.x with the harness's constraint workaround): no error, no
    duplicate person, the owners are the synced users, one uniqueness constraint on User.key."""
    harness.reset_database(driver)
    _publisher_is_stock(neo4j_uri)
    harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri)
    assert len(harness.user_key_constraints(driver)) == 1
    _databuilder(neo4j_uri, org, 'csv', '2024-07-01')
    _check_people(driver, org)
    _databuilder(neo4j_uri, org, 'unwind', '2024-07-02')
    _check_people(driver, org)


def test_databuilder_first_then_oktasync_then_databuilder(org, driver, neo4j_uri):
    """databuilder publishes first into an empty graph: its publisher creates the User.key
    constraint itself (unpatched on 3.5 and 4.4) and the owners as bare stubs. oktasync's sync
    then succeeds on that schema and turns the stubs into the synced users; databuilder's two
    publishers publish again without error. One node per person, one constraint on User.key."""
    harness.reset_database(driver)
    _databuilder(neo4j_uri, org, 'csv', '2024-07-01')
    with driver.session() as session:
        stubs = session.run('MATCH (u:User) RETURN u.key AS k, u.okta_id AS id').data()
    assert sorted((s['k'], s['id']) for s in stubs) == sorted((k, None) for k in org['owners'])
    assert len(harness.user_key_constraints(driver)) == 1, 'databuilder should have created its constraint'

    summary = harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri)
    assert summary['users_created'] == len(org['expected']) - OWNERS, summary
    _check_people(driver, org)
    _databuilder(neo4j_uri, org, 'csv', '2024-07-02')
    _check_people(driver, org)
    _databuilder(neo4j_uri, org, 'unwind', '2024-07-03')
    _check_people(driver, org)


def test_old_named_constraint_is_replaced_so_databuilder_works(org, driver, neo4j_uri):
    """A graph from an older oktasync holds its User.key constraint as `oktasync_user_key`.
    On 4.4 databuilder's unnamed CREATE CONSTRAINT fails against it (ConstraintAlreadyExists):
    one oktasync sync replaces it by the unnamed constraint, and databuilder's unpatched
    publishers then work. On 5.x the name may stay (databuilder runs with the workaround,
    whose IF NOT EXISTS accepts it). Neo4j 3.5 has no constraint names."""
    if harness.neo4j_version(neo4j_uri)[0] < 4:
        pytest.skip('Neo4j 3.5 has no named constraints: no older oktasync graph holds one')
    harness.reset_database(driver)
    with driver.session() as session:
        session.run('CREATE CONSTRAINT oktasync_user_key IF NOT EXISTS FOR (u:User) REQUIRE u.key IS UNIQUE').consume()
    assert [c.split()[0] for c in harness.user_key_constraints(driver)] == ['oktasync_user_key']

    harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri)
    constraints = harness.user_key_constraints(driver)
    assert len(constraints) == 1, constraints
    if not harness.needs_neo4j5_workarounds(neo4j_uri):
        assert not constraints[0].startswith('oktasync_user_key '), constraints
    _databuilder(neo4j_uri, org, 'csv', '2024-07-01')
    _databuilder(neo4j_uri, org, 'unwind', '2024-07-02')
    _check_people(driver, org)


def _graph_user_detail():
    """signin/oktasync_user_detail.graph_user_detail: the USER_DETAIL_METHOD a deployment sets,
    without which get_table lists owners by email only."""
    spec = importlib.util.spec_from_file_location('oktasync_user_detail',
                                                  harness.HERE / 'signin' / 'oktasync_user_detail.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.graph_user_detail


def test_mixed_case_ui_stub_owning_a_table_is_merged_by_a_full_sync(org, driver, neo4j_uri, metadata_app,
                                                                     monkeypatch):
    """Before any sync, someone adds an owner in Amundsen's UI typing `Dana.Lee@Example.com`:
    the metadata service (PUT /table/<key>/owner/<id>) creates a :User with that verbatim key and
    no okta_id. The first full sync merges that stub into the synced user: one node for the
    person, and get_table (Amundsen's Neo4jProxy; the 5.x query fix only on 5.x) lists the owner
    under the synced key, with the synced full name once the metadata service has the README's
    USER_DETAIL_METHOD (graph_user_detail); get_user shows the synced profile."""
    harness.reset_database(driver)
    # The table, owned by the other owners (databuilder's lowercased stubs).
    _databuilder(neo4j_uri, org, 'csv', '2024-07-01', raw_owners=org['raw_owners'][1:])
    person = org['expected'][org['owners'][0]]
    stub_key = '.'.join(p.capitalize() for p in person.key.split('@')[0].split('.')) + '@' + \
        '.'.join(p.capitalize() for p in person.key.split('@')[1].split('.'))
    if stub_key == person.key:
        stub_key = person.key.upper()
    assert stub_key != person.key and stub_key.lower() == person.key
    resp = metadata_app.test_client().put(f'/table/{TABLE_KEY}/owner/{quote(stub_key)}')
    assert resp.status_code == HTTPStatus.OK, resp.data
    with driver.session() as session:
        stub = session.run('MATCH (u:User {key: $k}) RETURN u.okta_id AS id', k=stub_key).data()
    assert stub == [{'id': None}]

    summary = harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri)
    assert (summary['case_variant_stubs'], summary['stubs_merged']) == (1, 1), summary
    with driver.session() as session:
        nodes = session.run('MATCH (u:User) WHERE toLower(u.key) = $k RETURN u.key AS key, u.okta_id AS id',
                            k=person.key).data()
    assert nodes == [{'key': person.key, 'id': person.okta_id}]
    _check_people(driver, org)

    host, port = harness.split_bolt_uri(neo4j_uri)
    proxy = harness.table_proxy_class(neo4j_uri)(host=host, port=port, user='neo4j', password='', encrypted=False)
    try:
        with metadata_app.app_context():  # get_table reads USER_DETAIL_METHOD from the app config
            plain = proxy.get_table(table_uri=TABLE_KEY)  # no USER_DETAIL_METHOD: owners by email
            monkeypatch.setitem(metadata_app.config, 'USER_DETAIL_METHOD', _graph_user_detail())
            table = proxy.get_table(table_uri=TABLE_KEY)
        user = proxy.get_user(id=person.key)
    finally:
        proxy._driver.close()
    expected = org['expected']
    assert sorted(o.email for o in plain.owners) == sorted(expected[k].email for k in org['owners'])
    owners = {o.user_id: (o.email, o.full_name, o.is_active) for o in table.owners}
    assert owners == {k: (expected[k].email, expected[k].full_name, True) for k in org['owners']}
    assert (user.user_id, user.full_name, user.email) == (person.key, person.full_name, person.email)
