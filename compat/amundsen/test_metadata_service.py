"""Amundsen's metadata service reads the users oktasync writes, exactly as Okta has them.

One simulated Okta org of 1,000 users, one `oktasync sync` into an empty Neo4j,
then Amundsen's own code: Neo4jProxy (get_user, get_users) and the metadata
Flask app (GET /user/<id>, GET /user). Expectations come from the simulator's
export (okta_expect.py), never from the graph.
"""

from http import HTTPStatus
from urllib.parse import quote

import attr
import pytest

import harness
from checks import frontend_problems, report, user_problems
from okta_expect import expected_users, skipped_keys

USERS = 1000
SEED = 5


@pytest.fixture(scope='module')
def org(workdir, neo4j_uri):
    sim = harness.Simulator(USERS, SEED, workdir)
    try:
        summary = harness.run_oktasync(sim.url, neo4j_uri=neo4j_uri)
        export = sim.export()
        yield {'summary': summary, 'export': export, 'expected': expected_users(export)}
    finally:
        sim.close()


def test_sync_population_matches_okta(org, driver):
    """The synced population is the Okta org minus STAGED and email-less users:
    the same counts in oktasync's summary, one :User node each, and no other Amundsen
    label in the graph."""
    expected = org['expected']
    summary = org['summary']
    active = sum(1 for e in expected.values() if e.is_active)
    # The org exercises every branch of the mapping.
    assert {e.status for e in expected.values()} >= {'ACTIVE', 'PROVISIONED', 'RECOVERY', 'LOCKED_OUT',
                                                       'PASSWORD_EXPIRED', 'SUSPENDED', 'DEPROVISIONED'}
    assert skipped_keys(org['export']), 'the org should contain STAGED users'
    assert any(e.manager_key for e in expected.values()) and any(not e.manager_key for e in expected.values())
    assert (summary['users_seen'], summary['users_active'], summary['users_inactive']) == \
        (len(expected), active, len(expected) - active)
    labels = harness.label_counts(driver)
    assert labels.pop('User') == len(expected)
    # Besides :User, only oktasync's own bookkeeping (labels no Amundsen query reads).
    assert all(label.startswith('Oktasync') for label in labels), labels


def test_get_user_shows_every_user_as_in_okta(org, proxy):
    """Neo4jProxy.get_user(id=key) for every synced user: email, names, team, role,
    employee type, profile URL, GitHub, Slack, is_active (a real bool) and the
    manager's full name; display_name as the frontend derives it."""
    from amundsen_common.models.user import UserSchema

    problems = []
    for key, exp in org['expected'].items():
        user = proxy.get_user(id=key)
        # attr.asdict, not UserSchema().dump: marshmallow's Boolean would turn "true" into True.
        problems += user_problems(attr.asdict(user), exp)
        problems += frontend_problems(UserSchema().dump(user), exp)
    assert not problems, report(problems)


def test_get_user_finds_no_skipped_user(org, proxy):
    """STAGED users get no node: Amundsen answers 'not found in the graph' for them."""
    from metadata_service.exception import NotFoundException

    keys = sorted(set(skipped_keys(org['export'])) - set(org['expected']))
    assert keys
    for key in keys:
        with pytest.raises(NotFoundException):
            proxy.get_user(id=key)


def test_get_users_returns_exactly_the_active_users(org, proxy):
    """Neo4jProxy.get_users() (`WHERE usr.is_active = true`) lists every active user once
    and no inactive one: is_active must be a Boolean for that filter to work."""
    expected = org['expected']
    users = proxy.get_users()
    ids = [u.user_id for u in users]
    assert len(ids) == len(set(ids)), 'get_users returned a user twice'
    assert set(ids) == {k for k, e in expected.items() if e.is_active}
    problems = []
    for user in users:
        # get_users reads no manager edge, so it has no manager name to compare.
        problems += user_problems(attr.asdict(user), expected[user.user_id], with_manager=False)
    assert not problems, report(problems)


def test_metadata_api_get_user(org, metadata_app):
    """GET /user/<id> on Amundsen's metadata Flask app returns the same user as JSON,
    with okta_id exposed through USER_OTHER_KEYS."""
    client = metadata_app.test_client()
    problems = []
    for key, exp in org['expected'].items():
        resp = client.get(f'/user/{quote(key)}')
        if resp.status_code != HTTPStatus.OK:
            problems.append(f'{key}: HTTP {resp.status_code}: {resp.data[:200]!r}')
            continue
        body = resp.get_json()
        problems += user_problems(body, exp)
        problems += frontend_problems(body, exp)
        if body.get('other_key_values') != {'okta_id': exp.okta_id}:
            problems.append(f"{key}: other_key_values = {body.get('other_key_values')!r}, "
                            f"want {{'okta_id': {exp.okta_id!r}}}")
    assert not problems, report(problems)


def test_metadata_api_list_users_and_unknown_user(org, metadata_app):
    """GET /user lists exactly the active users; an id with no node gets the error
    Amundsen's metadata service produces for it (its NotFoundException is not mapped
    to 404, so Flask answers 500 - amundsen#1392), for an unknown email and for a
    STAGED user alike."""
    client = metadata_app.test_client()
    resp = client.get('/user')
    assert resp.status_code == HTTPStatus.OK
    listed = resp.get_json()
    assert sorted(u['user_id'] for u in listed) == sorted(k for k, e in org['expected'].items() if e.is_active)
    assert all(u['is_active'] is True for u in listed)

    staged = sorted(set(skipped_keys(org['export'])) - set(org['expected']))[0]
    for missing in ('nobody.at.all@example.com', staged):
        resp = client.get(f'/user/{quote(missing)}')
        assert resp.status_code == HTTPStatus.INTERNAL_SERVER_ERROR, (missing, resp.status_code, resp.data)
        assert resp.get_json() == {'message': 'Internal Server Error'}
