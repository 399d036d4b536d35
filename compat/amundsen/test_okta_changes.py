"""Ownership and people changes across syncs, seen through Amundsen's own code.

A table, its owner and a reader are published with databuilder's own models
(TableMetadata, TableOwner, TableColumnUsage), FsNeo4jCSVLoader and
Neo4jCsvPublisher before the first sync, so the owner and reader start as the
bare User stubs databuilder creates (from a mixed-case owner email, which
databuilder lowercases); a follower bookmarks the table through the metadata
API, whose stub has no publisher metadata at all. Then oktasync syncs, Okta
changes, and oktasync re-syncs.

The tests of this module run in order and share one org and one graph.
"""

from http import HTTPStatus
from urllib.parse import quote

import attr
import pytest

import harness
from checks import report, user_problems
from okta_expect import expected_users

USERS = 300
SEED = 17
DATABASE, CLUSTER, SCHEMA, TABLE = 'hive', 'gold', 'core', 'orders'
TABLE_KEY = f'{DATABASE}://{CLUSTER}.{SCHEMA}/{TABLE}'


def _leaves(expected, export):
    """Active users that manage nobody (removing them orphans no one)."""
    managers = {(u.get('profile') or {}).get('managerId') for u in export}
    return [e for e in expected.values() if e.is_active and e.okta_id not in managers]


@pytest.fixture(scope='module')
def org(workdir, neo4j_uri, driver, metadata_app):
    from databuilder.models.table_column_usage import ColumnReader, TableColumnUsage
    from databuilder.models.table_metadata import ColumnMetadata, TableMetadata
    from databuilder.models.table_owner import TableOwner

    sim = harness.Simulator(USERS, SEED, workdir)
    try:
        export = sim.export()
        expected = expected_users(export)
        raw_email = {u['id']: u['profile']['email'] for u in export}
        leaves = _leaves(expected, export)
        mixed = [e for e in leaves if raw_email[e.okta_id] != e.key]
        owner = (mixed or leaves)[0]
        reader = next(e for e in leaves if e.key != owner.key)
        follower = next(e for e in leaves if e.key not in {owner.key, reader.key})

        harness.publish_models(neo4j_uri, [
            TableMetadata(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, name=TABLE,
                          description='One row per order.',
                          columns=[ColumnMetadata('order_id', 'order id', 'bigint', 0),
                                   ColumnMetadata('amount', 'in cents', 'bigint', 1)]),
            # Okta's original spelling: databuilder lowercases owner and reader emails.
            TableOwner(db_name=DATABASE, schema=SCHEMA, table_name=TABLE, cluster=CLUSTER,
                       owners=[raw_email[owner.okta_id]]),
            TableColumnUsage(col_readers=[
                ColumnReader(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, table=TABLE,
                             column='*', user_email=raw_email[reader.okta_id], read_count=42)]),
        ], tag='2024-01-01')
        # A bookmark from the UI: the frontend sends the signed-in user_id (our key).
        resp = metadata_app.test_client().put(f'/user/{quote(follower.key)}/follow/table/{TABLE_KEY}')
        assert resp.status_code == HTTPStatus.OK, resp.data

        with driver.session() as session:
            stubs = {r['k']: sorted(r['p']) for r in session.run('MATCH (u:User) RETURN u.key AS k, keys(u) AS p')}
        meta = ['published_tag', 'publisher_last_updated_epoch_ms']
        assert stubs == {owner.key: sorted(['key', 'email'] + meta), reader.key: sorted(['key', 'email'] + meta),
                         follower.key: ['email', 'key']}, stubs

        harness.run_oktasync(sim.url, neo4j_uri=neo4j_uri)
        yield {'sim': sim, 'expected': expected, 'export': export, 'owner': owner, 'reader': reader,
               'follower': follower, 'mixed_case_owner': bool(mixed)}
    finally:
        sim.close()


@pytest.fixture(scope='module')
def table_view(neo4j_uri, metadata_app):
    """What Amundsen shows about the table and its owner: get_table's owners and readers
    (Amundsen's Neo4jProxy; on Neo4j 5 with the harness's one-query fix, see harness.py), and
    the owner's "Owned" tab, GET /user/<id>/own/ on the unmodified metadata app."""
    host, port = harness.split_bolt_uri(neo4j_uri)
    table_proxy = harness.table_proxy_class(neo4j_uri)(host=host, port=port, user='neo4j', password='',
                                                      encrypted=False)
    client = metadata_app.test_client()

    def tables(path):
        resp = client.get(path)
        assert resp.status_code == HTTPStatus.OK, resp.data
        return [(t['database'], t['cluster'], t['schema'], t['name']) for t in resp.get_json()['table']]

    def view(owner_key, follower_key):
        with metadata_app.app_context():  # get_table reads USER_DETAIL_METHOD from the app config
            table = table_proxy.get_table(table_uri=TABLE_KEY)
        return {
            'owners': [o.email for o in table.owners],
            'readers': [(r.user.email, r.read_count) for r in table.table_readers],
            'owned_tables': tables(f'/user/{quote(owner_key)}/own/'),
            'bookmarks': tables(f'/user/{quote(follower_key)}/follow/'),
        }

    yield view
    table_proxy._driver.close()


def _table_as_published(org):
    table = [(DATABASE, CLUSTER, SCHEMA, TABLE)]
    return {'owners': [org['owner'].key], 'readers': [(org['reader'].key, 42)],
            'owned_tables': table, 'bookmarks': table}


def test_stubs_from_databuilder_and_the_ui_become_the_synced_users(org, proxy, driver, table_view):
    """The User stubs databuilder made for an owner and a reader, and the one the metadata
    API made for a bookmark, are the nodes oktasync syncs (same lowercased key): the
    table still shows its owner, reader and follower, and get_user shows full profiles."""
    owner, reader, follower = org['owner'], org['reader'], org['follower']
    assert org['mixed_case_owner'], 'the org should have an owner whose Okta email is mixed-case'
    assert table_view(owner.key, follower.key) == _table_as_published(org)
    problems = []
    for exp in (owner, reader, follower):
        problems += user_problems(attr.asdict(proxy.get_user(id=exp.key)), exp)
    assert not problems, report(problems)
    assert harness.label_counts(driver)['User'] == len(org['expected'])


def test_user_who_leaves_okta_keeps_table_ownership(org, proxy, neo4j_uri, table_view):
    """A table owner deleted from Okta: after the next sync Amundsen still shows the
    table's owner and reader, and the owner's profile page still resolves."""
    owner = org['owner']
    org['sim'].delete_user(owner.okta_id)
    harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri)

    assert table_view(owner.key, org['follower'].key) == _table_as_published(org)
    gone = proxy.get_user(id=owner.key)
    assert (gone.email, gone.full_name, gone.team_name) == (owner.email, owner.full_name, owner.team_name)

    # Depends on issue 3 (reconciliation: users deleted from Okta become
    # is_active=false). Until it is merged, nothing touches the deleted user's node
    # and these two assertions fail while everything above holds.
    assert gone.is_active is False, f'deleted Okta user shown with is_active={gone.is_active!r}'
    assert owner.key not in {u.user_id for u in proxy.get_users()}


def test_okta_changes_show_up_after_resync(org, proxy, neo4j_uri):
    """Deactivation, profile edits and a manager change in Okta reach Amundsen on the
    next sync: every user still in Okta matches the new export, the deactivated user
    drops out of get_users, and the moved user has exactly one (the new) manager."""
    sim, before = org['sim'], org['expected']
    taken = {org['owner'].key, org['reader'].key, org['follower'].key}
    leaves = [e for e in _leaves(before, org['export']) if e.key not in taken]
    leaving, edited = leaves[0], leaves[1]
    new_manager = next(e for e in before.values()
                       if e.is_active and not e.manager_okta_id and e.key not in {leaving.key, edited.key})
    moved = next(e for e in leaves[2:] if e.manager_key and e.manager_key != new_manager.key)

    sim.deactivate_user(leaving.okta_id)
    sim.patch_profile(edited.okta_id, {'title': 'Staff Data Engineer', 'department': 'Data Platform',
                                       'displayName': 'Renamed Person', 'slackId': 'U0CHANGED1'})
    sim.set_manager(moved.okta_id, new_manager.okta_id)
    harness.run_oktasync(sim.url, neo4j_uri=neo4j_uri)

    after = expected_users(sim.export())
    # The expectation itself reflects the edits (the simulator applied them).
    assert after[leaving.key].is_active is False and after[leaving.key].status == 'DEPROVISIONED'
    assert (after[edited.key].role_name, after[edited.key].full_name) == ('Staff Data Engineer', 'Renamed Person')
    assert after[moved.key].manager_full_name == new_manager.full_name != moved.manager_full_name

    problems = []
    for key, exp in after.items():
        problems += user_problems(attr.asdict(proxy.get_user(id=key)), exp)
    assert not problems, report(problems)
    active = {u.user_id for u in proxy.get_users()}
    assert leaving.key not in active and edited.key in active and moved.key in active


def test_moved_user_has_one_manager_edge_each_way(org, driver):
    """Amundsen's get_user takes the first MANAGE_BY row: after a manager change there
    must be exactly one MANAGE_BY out of the user and one MANAGE into it, both to the
    new manager (databuilder writes the pair; oktasync must also drop the old one)."""
    with driver.session() as session:
        rows = session.run(
            'MATCH (u:User)-[r:MANAGE_BY]->(m:User) WITH u, count(r) AS n, collect(m.key) AS ms '
            'WHERE n > 1 RETURN u.key AS user, ms').data()
        assert rows == [], f'users with several managers: {rows[:10]}'
        unpaired = session.run(
            'MATCH (u:User)-[:MANAGE_BY]->(m:User) WHERE NOT (m)-[:MANAGE]->(u) RETURN u.key AS u, m.key AS m '
            'UNION MATCH (m:User)-[:MANAGE]->(u:User) WHERE NOT (u)-[:MANAGE_BY]->(m) RETURN u.key AS u, m.key AS m'
        ).data()
        assert unpaired == [], f'MANAGE_BY without MANAGE or the reverse: {unpaired[:10]}'
