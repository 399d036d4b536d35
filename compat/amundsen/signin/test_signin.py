"""Amundsen sign-in end to end: Okta SSO (the simulator's OIDC provider) -> Amundsen's real
frontend (flaskoidc) -> the user oktasync synced, through Amundsen's real metadata service.

One simulated org, synced by bin/oktasync into an empty Neo4j; Amundsen's frontend 4.3.0 with
flaskoidc 1.1.2 (compat/amundsen/signin/.venv) and metadata service 3.13.0 (compat/amundsen/.venv)
run as processes on loopback. A cookie-keeping client walks the real redirect flow. Expectations
come from the simulator's export (okta_expect.py), never from the graph.

The tests of this module run in order and share the org and the graph.
"""

from http import HTTPStatus
from urllib.parse import quote

import pytest

import harness
import signin_harness as sh
from checks import report, user_problems

USERS = 200
SEED = 23


@pytest.fixture(scope='module')
def world(workdir, neo4j_uri):
    d = workdir / 'signin'
    d.mkdir(exist_ok=True)
    w = sh.World(d, neo4j_uri, USERS, SEED)
    yield w
    w.close()


def _profile(browser, key):
    resp = browser.api('GET', f'/api/metadata/v0/user?user_id={quote(key)}')
    return resp.status_code, (resp.json() if resp.headers.get('Content-Type', '').startswith('application/json') else {})


def test_recommended_settings_show_the_mixed_case_user_their_synced_profile(world):
    """John.Smith@Acme.com signs in through the real redirect flow with the README's settings
    (OktasyncOidcConfig, org authorization server). /api/auth_user and the profile endpoint show
    the synced profile (names, team, role, manager, is_active), and that step makes no Okta
    Users API request."""
    key = world.key['mixed']
    assert key == 'john.smith@acme.com' and key in world.expected
    exp = world.expected[key]
    assert exp.manager_full_name == 'Maëlle Dubois-Ølstad' and exp.team_name == 'Data Platform'

    b = world.browser('recommended')
    b.sign_in('John.Smith@Acme.com', authorize_prefix=world.sim.url + '/oauth2/v1/authorize')
    before = world.sim.stats()
    resp = b.api('GET', '/api/auth_user')
    assert resp.status_code == HTTPStatus.OK, resp.text
    assert not user_problems(resp.json()['user'], exp), report(user_problems(resp.json()['user'], exp))
    status, body = _profile(b, key)
    assert status == HTTPStatus.OK, body
    assert not user_problems(body['user'], exp), report(user_problems(body['user'], exp))
    assert body['user']['display_name'] == 'John Smith'
    after = world.sim.stats()
    assert sh.users_api_requests(after) == sh.users_api_requests(before), (before, after)


def test_graph_user_detail_profiles_match_no_user_detail_method_but_404_for_unknown(world):
    """The README's claim for graph_user_detail: the metadata service's profile endpoint answers
    as without a USER_DETAIL_METHOD (SIGNIN_USER_DETAIL=none), except that an unknown id is a 404
    rather than a 500."""
    http = sh.http_session()
    graph, none = world.metadata['graph'].url, world.metadata['none'].url
    for name in ('mixed', 'non_ascii', 'manager'):
        key = quote(world.key[name])
        g, n = http.get(f'{graph}/user/{key}', timeout=120), http.get(f'{none}/user/{key}', timeout=120)
        assert (g.status_code, n.status_code) == (HTTPStatus.OK, HTTPStatus.OK), (g.text[:500], n.text[:500])
        assert g.json() == n.json() and g.json()['user_id'] == world.key[name]
    unknown = quote('nobody.at.all@acme.com')
    g, n = http.get(f'{graph}/user/{unknown}', timeout=120), http.get(f'{none}/user/{unknown}', timeout=120)
    assert (g.status_code, n.status_code) == (HTTPStatus.NOT_FOUND, HTTPStatus.INTERNAL_SERVER_ERROR), \
        (g.status_code, g.text[:500], n.status_code, n.text[:500])


def test_a_bookmark_lands_on_the_synced_node(world, driver):
    """A bookmark set through the frontend follows the synced :User (the one with okta_id);
    afterwards there is still exactly one :User for that person."""
    key = world.key['mixed']
    b = world.browser('recommended')
    b.sign_in('john.smith@acme.com')
    before = world.sim.stats()
    resp = b.api('PUT', '/api/metadata/v0/user/bookmark', json={'type': 'table', 'key': sh.TABLE_KEY})
    assert resp.status_code == HTTPStatus.OK, resp.text
    resp = b.api('GET', '/api/metadata/v0/user/bookmark')
    assert resp.status_code == HTTPStatus.OK, resp.text
    assert [t['key'] for t in resp.json()['bookmarks']['table']] == [sh.TABLE_KEY]
    assert sh.users_api_requests(world.sim.stats()) == sh.users_api_requests(before)
    nodes = sh.user_nodes(driver, key)
    assert len(nodes) == 1 and nodes[0]['key'] == key and nodes[0]['okta_id'] == world.okta_ids['mixed'], nodes
    with driver.session() as session:
        followers = session.run('MATCH (u:User)-[:FOLLOW]->(t:Table {key: $t}) RETURN u.key AS k, u.okta_id AS id',
                                t=sh.TABLE_KEY).data()
    assert followers == [{'k': key, 'id': world.okta_ids['mixed']}]


def test_stock_settings_fail_for_a_mixed_case_email(world, driver, neo4j_uri):
    """The stock OidcConfig signs Mary.Major@Acme.com in as 'Mary.Major@Acme.com' (the ID token's
    email, verbatim): Amundsen finds no such user, and her bookmark creates a second, bare
    :User. The same person with the recommended settings gets her synced profile."""
    key = world.key['mixed2']
    b = world.browser('stock')
    b.sign_in('Mary.Major@Acme.com')
    # The frontend asks the metadata service for 'Mary.Major@Acme.com': there is no such user.
    failed = {'msg': 'Encountered error: failed to fetch user with user_id: Mary.Major@Acme.com', 'user': {}}
    resp = b.api('GET', '/api/auth_user')
    assert (resp.status_code, resp.json()) == (HTTPStatus.NOT_FOUND, failed), resp.text
    assert _profile(b, 'Mary.Major@Acme.com') == (HTTPStatus.NOT_FOUND, failed)
    resp = b.api('PUT', '/api/metadata/v0/user/bookmark', json={'type': 'table', 'key': sh.TABLE_KEY})
    assert resp.status_code == HTTPStatus.OK, resp.text
    nodes = sorted(sh.user_nodes(driver, key), key=lambda n: n['key'])
    assert [(n['key'], n.get('okta_id')) for n in nodes] == [
        ('Mary.Major@Acme.com', None), (key, world.okta_ids['mixed2'])], nodes

    b = world.browser('recommended')
    b.sign_in('Mary.Major@Acme.com')
    resp = b.api('GET', '/api/auth_user')
    assert resp.status_code == HTTPStatus.OK, resp.text
    assert resp.json()['user']['user_id'] == key and resp.json()['user']['full_name'] == 'Mary Major'

    # The next full sync merges the case-variant stub, with its bookmark, into the synced user.
    summary = harness.run_oktasync(world.sim.url, neo4j_uri=neo4j_uri)
    assert (summary['case_variant_stubs'], summary['stubs_merged']) == (1, 1), summary
    nodes = sh.user_nodes(driver, key)
    assert [(n['key'], n['okta_id']) for n in nodes] == [(key, world.okta_ids['mixed2'])]
    resp = b.api('GET', '/api/metadata/v0/user/bookmark')
    assert resp.status_code == HTTPStatus.OK, resp.text
    assert [t['key'] for t in resp.json()['bookmarks']['table']] == [sh.TABLE_KEY]


def test_custom_claim_works_with_the_stock_config(world):
    """The alternative for orgs with API Access Management: a custom authorization server whose
    user_id claim is String.toLowerCase(user.email). The stock OidcConfig prefers user_id, so it
    signs in as the synced key."""
    key = world.key['mixed2']
    b = world.browser('custom_claim')
    b.sign_in('Mary.Major@Acme.com', authorize_prefix=world.sim.url + '/oauth2/default/v1/authorize')
    resp = b.api('GET', '/api/auth_user')
    assert resp.status_code == HTTPStatus.OK, resp.text
    problems = user_problems(resp.json()['user'], world.expected[key])
    assert not problems, report(problems)


def test_non_ascii_names_survive_sign_in_and_profile(world):
    key = world.key['non_ascii']
    b = world.browser('recommended')
    b.sign_in('zoe.angstrom@acme.com')
    resp = b.api('GET', '/api/auth_user')
    assert resp.status_code == HTTPStatus.OK, resp.text
    user = resp.json()['user']
    problems = user_problems(user, world.expected[key])
    assert not problems, report(problems)
    assert (user['full_name'], user['manager_fullname']) == ('Zoë Ångström', 'Maëlle Dubois-Ølstad')


def test_table_lists_synced_owners_with_full_names_without_okta(world):
    """The frontend's table endpoint lists the 20 synced owners with full names (graph_user_detail
    in the metadata service), with no Okta request."""
    b = world.browser('recommended')
    b.sign_in('John.Smith@Acme.com')
    before = world.sim.stats()
    resp = b.api('GET', f'/api/metadata/v0/table?key={quote(sh.TABLE_KEY)}')
    assert resp.status_code == HTTPStatus.OK, resp.text
    owners = {o['user_id']: o for o in resp.json()['tableData']['owners']}
    assert sorted(owners) == sorted(world.owner_keys)
    assert len(owners) == sh.OWNERS
    shown = {k: (o['display_name'], o['full_name'], o['team_name'], o['is_active']) for k, o in owners.items()}
    want = {k: (world.expected[k].full_name,) * 2 + (world.expected[k].team_name, True) for k in world.owner_keys}
    assert shown == want
    after = world.sim.stats()
    assert sh.users_api_requests(after) == sh.users_api_requests(before), (before, after)


def test_on_demand_baseline_asks_okta_per_owner(world):
    """The setup oktasync replaces: the same pages through a metadata service whose
    USER_DETAIL_METHOD calls the Users API make one Okta request per owner (plus managers)."""
    b = world.browser('ondemand')
    b.sign_in('John.Smith@Acme.com')
    before = world.sim.stats()
    resp = b.api('GET', f'/api/metadata/v0/table?key={quote(sh.TABLE_KEY)}')
    assert resp.status_code == HTTPStatus.OK, resp.text
    owners = {o['user_id']: o['full_name'] for o in resp.json()['tableData']['owners']}
    assert owners == {k: world.expected[k].full_name for k in world.owner_keys}
    mid = world.sim.stats()
    with_manager = sum(1 for k in world.owner_keys if world.expected[k].manager_okta_id)
    assert mid['get_user_requests'] - before['get_user_requests'] == sh.OWNERS + with_manager
    status, body = _profile(b, world.key['mixed'])
    assert status == HTTPStatus.OK and body['user']['manager_fullname'] == 'Maëlle Dubois-Ølstad', body
    assert world.sim.stats()['get_user_requests'] - mid['get_user_requests'] == 2


def test_a_leaver_cannot_sign_in_and_shows_as_inactive(world, neo4j_uri):
    """Lee Vair signs in while active; Okta deactivates them and oktasync re-syncs. The
    simulator refuses their next sign-in; their profile still shows them, inactive (Amundsen's
    'Alumni')."""
    key = world.key['leaver']
    b = world.browser('recommended')
    b.sign_in('lee.vair@acme.com')
    assert b.api('GET', '/api/auth_user').json()['user']['is_active'] is True

    world.sim.deactivate_user(world.okta_ids['leaver'])
    harness.run_oktasync(world.sim.url, neo4j_uri=neo4j_uri)
    refused = world.sim.oidc_stats()['sign_ins_refused']
    with pytest.raises(sh.SignInRefused, match='Unable to sign in'):
        world.browser('recommended').sign_in('lee.vair@acme.com')
    assert world.sim.oidc_stats()['sign_ins_refused'] == refused + 1

    colleague = world.browser('recommended')
    colleague.sign_in('John.Smith@Acme.com')
    status, body = _profile(colleague, key)
    assert status == HTTPStatus.OK, body
    user = body['user']
    assert (user['full_name'], user['team_name'], user['is_active']) == ('Lee Vair', 'Growth', False), user


def test_one_user_per_person(world, driver):
    """After every sign-in, bookmark and page view: one :User per synced person, keys unique
    regardless of case, and no node without okta_id."""
    with driver.session() as session:
        rows = session.run('MATCH (u:User) RETURN u.key AS key, u.okta_id AS okta_id').data()
    keys = [r['key'] for r in rows]
    assert len({k.lower() for k in keys}) == len(keys)
    assert sorted(keys) == sorted(world.expected)
    assert all(r['okta_id'] for r in rows)
