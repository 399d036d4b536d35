"""Databuilder interoperability: oktasync's graph and CSV files are databuilder's.

One simulated Okta org of 1,000 users. oktasync writes it straight into Neo4j,
and separately as databuilder CSV files (--csv-dir), which databuilder's own
Neo4jCsvPublisher and Neo4jCsvUnwindPublisher then load into an emptied Neo4j:
the three graphs must be the same. The CSV files must be what databuilder's
FsNeo4jCSVLoader writes for the same users as databuilder User models, and
databuilder's search extractor must find every synced user.
"""

import json
from pathlib import Path
from typing import Any, Dict, List

import pytest

import harness
from checks import report
from okta_expect import ExpectedUser, expected_users

USERS = 1000
SEED = 23
DIRECT_TAG = '2031-01-01T00:00:00Z'   # --published-tag of the direct sync
PUBLISH_TAG = '2031-01-02'            # job_publish_tag of the databuilder publishers

# Every property databuilder's User model writes on a node (models/user.py), plus okta_id.
DATABUILDER_USER_PROPERTIES = {'key', 'email', 'is_active', 'profile_url', 'first_name', 'last_name',
                               'full_name', 'github_username', 'team_name', 'employee_type', 'slack_id',
                               'role_name', 'updated_at'}


@pytest.fixture(scope='module')
def org(workdir):
    sim = harness.Simulator(USERS, SEED, workdir)
    try:
        export = sim.export()
        csv_dir = workdir / 'oktasync-csv'
        summary = harness.run_oktasync(sim.url, csv_dir=csv_dir)  # no Neo4j involved
        yield {'sim': sim, 'expected': expected_users(export), 'csv_dir': csv_dir, 'csv_summary': summary}
    finally:
        sim.close()


@pytest.fixture(scope='module')
def direct_graph(org, driver, neo4j_uri):
    """The graph `oktasync sync` writes itself into an empty database."""
    harness.reset_database(driver)
    harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri, published_tag=DIRECT_TAG)
    return harness.user_graph(driver)


def expected_node(e: ExpectedUser) -> Dict[str, Any]:
    return {'key': e.key, 'email': e.email, 'is_active': e.is_active, 'profile_url': e.profile_url,
            'first_name': e.first_name, 'last_name': e.last_name, 'full_name': e.full_name,
            'github_username': e.github_username, 'team_name': e.team_name, 'employee_type': e.employee_type,
            'slack_id': e.slack_id, 'role_name': e.role_name, 'updated_at': e.updated_at, 'okta_id': e.okta_id}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def props_diff(who: str, actual: Dict[str, Any], want: Dict[str, Any]) -> List[str]:
    out = []
    for k in sorted(set(actual) | set(want)):
        if k not in actual:
            out.append(f'{who}: missing {k} (want {want[k]!r})')
        elif k not in want:
            out.append(f'{who}: unexpected {k} = {actual[k]!r}')
        elif not _same(actual[k], want[k]):
            out.append(f'{who}: {k} = {actual[k]!r} ({type(actual[k]).__name__}), '
                       f'want {want[k]!r} ({type(want[k]).__name__})')
    return out


def graph_diff(actual, want) -> List[str]:
    (a_nodes, a_edges), (w_nodes, w_edges) = actual, want
    out = []
    for key in sorted(set(a_nodes) | set(w_nodes)):
        if key not in a_nodes:
            out.append(f'missing node {key}')
        elif key not in w_nodes:
            out.append(f'unexpected node {key}')
        else:
            out += props_diff(key, a_nodes[key], w_nodes[key])
    for edge in sorted(set(a_edges) | set(w_edges)):
        if a_edges.get(edge) != w_edges.get(edge):
            out.append(f'edge {edge}: {a_edges.get(edge)!r}, want {w_edges.get(edge)!r}')
    return out


def test_csv_files_are_what_databuilder_loader_writes(org, workdir):
    """oktasync --csv-dir writes the files databuilder's FsNeo4jCSVLoader writes for the
    same users given as databuilder User models: same file names, the same header bytes
    (column order, quoting, :UNQUOTED suffixes) and the same rows byte for byte."""
    from databuilder.loader.file_system_neo4j_csv_loader import FsNeo4jCSVLoader
    from databuilder.models.user import User
    from pyhocon import ConfigFactory

    ours = org['csv_dir']
    theirs = workdir / 'databuilder-csv'
    loader = FsNeo4jCSVLoader()
    loader.init(ConfigFactory.from_dict({'node_dir_path': str(theirs / 'nodes'),
                                         'relationship_dir_path': str(theirs / 'relationships'),
                                         'delete_created_directories': False}))
    for e in org['expected'].values():
        # manager_email only for managers that are synced: an edge to an absent manager
        # is a no-op for databuilder's publishers, and oktasync does not write it.
        loader.load(User(email=e.email, first_name=e.first_name, last_name=e.last_name, full_name=e.full_name,
                         github_username=e.github_username, team_name=e.team_name,
                         employee_type=e.employee_type, manager_email=e.manager_key or '',
                         slack_id=e.slack_id, is_active=e.is_active, profile_url=e.profile_url,
                         updated_at=e.updated_at, role_name=e.role_name, okta_id=e.okta_id))
    loader.close()
    # The loader registers its directory clean-up with the process-wide Job.closer; run
    # it now (a no-op with delete_created_directories=False) rather than at exit.
    from databuilder.job.base_job import Job
    Job.closer.close()

    def files(d: Path) -> List[str]:
        return sorted(str(p.relative_to(d)) for p in d.rglob('*') if p.is_file())

    assert files(ours) == files(theirs) == ['nodes/User_0.csv', 'relationships/User_User_MANAGE_BY_1.csv']
    for name in files(theirs):
        mine, want = (ours / name).read_bytes(), (theirs / name).read_bytes()
        assert mine.endswith(b'\r\n') and want.endswith(b'\r\n')
        mine_lines, want_lines = mine.split(b'\r\n'), want.split(b'\r\n')
        assert mine_lines[0] == want_lines[0], f'{name} header differs'
        # Row order follows Okta's paging order; compare rows as multisets.
        missing = sorted(set(want_lines[1:]) - set(mine_lines[1:]))
        extra = sorted(set(mine_lines[1:]) - set(want_lines[1:]))
        assert sorted(mine_lines) == sorted(want_lines), \
            f'{name}: rows only databuilder wrote: {missing[:5]}; rows only oktasync wrote: {extra[:5]}'


def test_direct_sync_writes_databuilder_user_schema(org, direct_graph, driver):
    """The graph oktasync writes: one node per synced user with exactly databuilder's
    User properties (+ okta_id), typed as databuilder writes them (is_active Boolean,
    updated_at Integer, text otherwise), the MANAGE_BY/MANAGE pair for each manager,
    and publisher metadata on every node and edge."""
    nodes, edges = direct_graph
    want_nodes = {k: expected_node(e) for k, e in org['expected'].items()}
    want_edges = {}
    for e in org['expected'].values():
        if e.manager_key:
            want_edges[(e.key, 'MANAGE_BY', e.manager_key)] = [{}]
            want_edges[(e.manager_key, 'MANAGE', e.key)] = [{}]
    assert DATABUILDER_USER_PROPERTIES | {'okta_id'} == set(expected_node(next(iter(org['expected'].values()))))
    problems = graph_diff((nodes, edges), (want_nodes, want_edges))
    assert not problems, report(problems)

    with driver.session() as session:
        bad = session.run(
            'MATCH (u:User) WHERE NOT (u.published_tag = $tag AND u.publisher_last_updated_epoch_ms > 0) '
            'RETURN count(u) AS n', tag=DIRECT_TAG).single()['n']
        bad += session.run(
            'MATCH (:User)-[r:MANAGE_BY|MANAGE]->(:User) '
            'WHERE NOT (r.published_tag = $tag AND r.publisher_last_updated_epoch_ms > 0) '
            'RETURN count(r) AS n', tag=DIRECT_TAG).single()['n']
    assert bad == 0, f'{bad} nodes/edges without published_tag={DIRECT_TAG!r} and publisher_last_updated_epoch_ms'


def test_resync_changes_nothing(org, direct_graph, driver, neo4j_uri):
    """A second full sync of the unchanged org writes nothing: no user created or updated, no
    user property set, no node or relationship created or deleted, and the graph (users, manager
    edges, label and relationship counts) is the same, run timestamps aside."""
    if harness.user_graph(driver) != direct_graph:  # a test in between changed the database
        harness.reset_database(driver)
        harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri, published_tag=DIRECT_TAG)
    before = harness.user_graph(driver), harness.label_counts(driver), harness.relationship_counts(driver)
    summary = harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri, published_tag=DIRECT_TAG)
    n = len(org['expected'])
    assert (summary['users_seen'], summary['users_unchanged'], summary['users_created'],
            summary['users_updated']) == (n, n, 0, 0), summary
    writes = summary['writes']
    assert {k: writes.get(k, 0) for k in ('user_properties', 'nodes_created', 'nodes_deleted',
                                          'relationships_created', 'relationships_deleted')} == \
        dict.fromkeys(('user_properties', 'nodes_created', 'nodes_deleted', 'relationships_created',
                       'relationships_deleted'), 0), writes
    after = harness.user_graph(driver), harness.label_counts(driver), harness.relationship_counts(driver)
    assert after[1:] == before[1:]
    problems = graph_diff(after[0], before[0])
    assert not problems, report(problems)


@pytest.mark.parametrize('publisher', ['csv', 'unwind'])
def test_databuilder_publisher_loads_oktasync_csv_into_the_same_graph(publisher, org, direct_graph, driver,
                                                                      neo4j_uri):
    """databuilder's Neo4jCsvPublisher ('csv') / Neo4jCsvUnwindPublisher ('unwind') loads
    oktasync's CSV files into an emptied Neo4j; the User nodes and MANAGE_BY/MANAGE edges
    equal those oktasync writes directly (publisher tags and timestamps aside)."""
    harness.reset_database(driver)
    harness.publish_csv_dir(publisher, neo4j_uri, org['csv_dir'], PUBLISH_TAG)
    published = harness.user_graph(driver)
    problems = graph_diff(published, direct_graph)
    assert not problems, report(problems)
    with driver.session() as session:
        tags = session.run('MATCH (u:User) RETURN DISTINCT u.published_tag AS t').value()
    assert tags == [PUBLISH_TAG]


@pytest.mark.parametrize('publish_tag', ['', DIRECT_TAG], ids=['no-tag-filter', 'tag-filter'])
def test_search_extractor_finds_every_synced_user(publish_tag, org, driver, neo4j_uri):
    """databuilder's Neo4jSearchDataExtractor (entity 'user', its default Cypher, model
    UserESDocument: what feeds Amundsen's people search) returns every synced user with
    the right names, team, role, Boolean is_active and manager email. With a
    job_publish_tag, {publish_tag_filter} becomes `WHERE user.published_tag = '<tag>'`;
    it sits on the manager's OPTIONAL MATCH, so a user without the tag would lose
    its manager_email."""
    from databuilder.extractor.neo4j_search_data_extractor import Neo4jSearchDataExtractor
    from pyhocon import ConfigFactory

    harness.reset_database(driver)
    harness.run_oktasync(org['sim'].url, neo4j_uri=neo4j_uri, published_tag=DIRECT_TAG)
    conf = {
        'entity_type': 'user',
        'extractor.neo4j.graph_url': neo4j_uri,
        'extractor.neo4j.model_class': 'databuilder.models.user_elasticsearch_document.UserESDocument',
        'extractor.neo4j.neo4j_auth_user': '',
        'extractor.neo4j.neo4j_auth_pw': '',
        'extractor.neo4j.neo4j_encrypted': False,
    }
    if publish_tag:
        conf['job_publish_tag'] = publish_tag
    extractor = Neo4jSearchDataExtractor()
    extractor.init(ConfigFactory.from_dict(conf))
    docs = []
    try:
        while (doc := extractor.extract()) is not None:
            docs.append(doc)
    finally:
        extractor.close()
    if publish_tag:
        assert f"WHERE user.published_tag = '{publish_tag}'" in extractor.cypher_query

    expected = org['expected']
    assert sorted(d.email for d in docs) == sorted(expected)
    problems = []
    for doc in docs:
        e = expected[doc.email]
        want = {'first_name': e.first_name, 'last_name': e.last_name, 'full_name': e.full_name,
                'github_username': e.github_username, 'team_name': e.team_name,
                'employee_type': e.employee_type, 'slack_id': e.slack_id, 'role_name': e.role_name,
                'is_active': e.is_active, 'manager_email': e.manager_key,
                'total_read': 0, 'total_own': 0, 'total_follow': 0}
        problems += props_diff(doc.email, {k: getattr(doc, k) for k in want}, want)
        json.loads(doc.to_json())
    assert not problems, report(problems)
