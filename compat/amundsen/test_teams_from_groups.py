"""Amundsen's metadata service shows the team oktasync takes from Okta groups.

One simulated Okta org of 600 users and 40 groups (teams as groups: team-<department>,
nested team-<department>-<sub>, an empty team-archived-1, beside Everyone, an APP_GROUP and
groups that are not teams), one `oktasync sync` with `mapping.team.source: groups`, then
Amundsen's own code: Neo4jProxy.get_user and the metadata Flask app's GET /user/<id>. The
expected team comes from the simulator's /admin/groups export (okta_expect.expected_teams),
never from the graph.
"""

import dataclasses
from http import HTTPStatus
from urllib.parse import quote

import attr
import pytest

import harness
from checks import report, user_problems
from okta_expect import expected_teams, expected_users, team_memberships

USERS = 600
SEED = 46
GROUPS = 40
PATTERNS = ['^team-(.+)$']


@pytest.fixture(scope='module')
def org(workdir, neo4j_uri):
    sim = harness.Simulator(USERS, SEED, workdir, groups=GROUPS)
    try:
        config = harness.team_groups_config(workdir / 'teams-from-groups.yaml', PATTERNS)
        summary = harness.run_oktasync(sim.url, neo4j_uri=neo4j_uri, config=config)
        groups = sim.groups()
        by_department = expected_users(sim.export())
        teams = expected_teams(groups, PATTERNS)
        # The Okta expectation with the team from groups: every other field as before.
        expected = {key: dataclasses.replace(exp, team_name=teams.get(exp.okta_id, ''))
                    for key, exp in by_department.items()}
        yield {'summary': summary, 'groups': groups, 'memberships': team_memberships(groups, PATTERNS),
               'by_department': by_department, 'expected': expected}
    finally:
        sim.close()


def test_org_exercises_every_branch_of_the_team_rule(org):
    """The org is not vacuous: team groups nested, overlapping and empty beside groups that
    are not teams; synced users with a team, in several team groups (the longest name and,
    for names of one length, the first name deciding), and in none; teams that differ from
    the department oktasync would take without the mapping."""
    groups = org['groups']
    assert len(groups) == GROUPS
    names = {g['name'] for g in groups}
    assert {'Everyone', 'team-engineering', 'team-engineering-platform', 'team-archived-1'} <= names, names
    assert any(g['type'] == 'APP_GROUP' for g in groups)
    assert not next(g for g in groups if g['name'] == 'team-archived-1')['members']

    expected, memberships = org['expected'], org['memberships']
    assert org['summary']['users_seen'] == len(expected)
    synced = [memberships.get(e.okta_id, []) for e in expected.values()]
    with_team = sum(1 for m in synced if m)
    several = [m for m in synced if len(m) > 1]
    by_length = [m for m in several if len(m[0].name) > len(m[1].name)]
    by_name = [m for m in several if len(m[0].name) == len(m[1].name)]
    assert with_team > len(expected) // 2, with_team
    assert len(expected) - with_team > 10, 'too few synced users in no team group'
    assert len(by_length) > 10, 'too few users whose nested team wins'
    assert by_name, f'no user in two team groups of one length (seed {SEED}): pick another seed'
    differs = sum(1 for key, exp in expected.items() if exp.team_name != org['by_department'][key].team_name)
    assert differs > len(expected) // 2, 'the teams from groups should differ from the departments'


def test_get_user_shows_the_team_from_groups(org, proxy):
    """Neo4jProxy.get_user(id=key) for every synced user: team_name is the team of the
    user's best team group ('' for none), type-strictly, and every other field as in Okta."""
    problems = []
    for key, exp in org['expected'].items():
        problems += user_problems(attr.asdict(proxy.get_user(id=key)), exp)
    assert not problems, report(problems)


def test_metadata_api_get_user_shows_the_team_from_groups(org, metadata_app):
    """GET /user/<id> on Amundsen's metadata Flask app: the same team_name as JSON."""
    client = metadata_app.test_client()
    problems = []
    for key, exp in org['expected'].items():
        resp = client.get(f'/user/{quote(key)}')
        if resp.status_code != HTTPStatus.OK:
            problems.append(f'{key}: HTTP {resp.status_code}: {resp.data[:200]!r}')
            continue
        problems += user_problems(resp.get_json(), exp)
    assert not problems, report(problems)
