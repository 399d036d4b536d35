"""What Amundsen should show for an Okta org, computed from the simulator's own export.

This is an independent re-statement of the mapping documented in the README
("Mapping"), written from the Okta side: it never reads the graph, so a test
comparing Amundsen's answers against it checks oktasync end to end.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
import unicodedata
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional

ACTIVE_STATUSES = {'ACTIVE', 'PROVISIONED', 'RECOVERY', 'LOCKED_OUT', 'PASSWORD_EXPIRED'}
INACTIVE_STATUSES = {'SUSPENDED', 'DEPROVISIONED'}
# STAGED and any unknown status: no node.


@dataclasses.dataclass(frozen=True)
class ExpectedUser:
    key: str
    email: str
    first_name: str
    last_name: str
    full_name: str
    role_name: str
    team_name: str
    employee_type: str
    profile_url: str
    github_username: str
    slack_id: str
    is_active: bool
    updated_at: int
    okta_id: str
    status: str
    manager_okta_id: str          # '' when the profile names no manager
    manager_key: Optional[str]    # the manager's node, if that manager was synced
    manager_full_name: str        # what get_user shows as manager_fullname ('' without a manager)


def text(profile: Dict[str, Any], name: str) -> str:
    """A profile attribute as Amundsen gets it: missing or null is ''."""
    value = profile.get(name)
    if value is None:
        return ''
    if isinstance(value, str):
        return value.strip()
    raise AssertionError(f'profile attribute {name!r} is {type(value).__name__}, the harness expects text')


def normalize(email: str) -> str:
    """oktasync's key of an email (README, Keys): NFC, then Python's lower()."""
    return unicodedata.normalize('NFC', email.strip()).lower()


def usable_email(email: str) -> bool:
    """One address: exactly one @ with text on both sides, no whitespace or control characters."""
    if not email or len(email) > 320 or email.count('@') != 1:
        return False
    local, _, domain = email.partition('@')
    if not local or not domain:
        return False
    return not any(ch.isspace() or not ch.isprintable() for ch in email)


def epoch_seconds(okta_time: str) -> int:
    """Okta's lastUpdated ('2024-05-01T10:20:30.123Z') as whole epoch seconds."""
    parsed = datetime.fromisoformat(okta_time.replace('Z', '+00:00'))
    return calendar.timegm(parsed.utctimetuple())


def full_name(profile: Dict[str, Any], email: str) -> str:
    display = text(profile, 'displayName')
    if display:
        return display
    first_last = f"{text(profile, 'firstName')} {text(profile, 'lastName')}".strip()
    return first_last or email


def expected_users(export: Iterable[Dict[str, Any]]) -> Dict[str, ExpectedUser]:
    """Maps the simulator's /admin/users export to the users Amundsen should show, by key."""
    candidates: List[Dict[str, Any]] = []
    for okta_user in export:
        status = okta_user['status']
        if status not in ACTIVE_STATUSES and status not in INACTIVE_STATUSES:
            continue
        profile = okta_user.get('profile') or {}
        email = normalize(text(profile, 'email'))
        if not usable_email(email):
            continue
        candidates.append(okta_user)

    # Two Okta users with the same key: the active one wins, then the most recently updated.
    winners: Dict[str, Dict[str, Any]] = {}
    for okta_user in candidates:
        key = normalize(text(okta_user['profile'], 'email'))
        other = winners.get(key)
        if other is None or _rank(okta_user) > _rank(other):
            winners[key] = okta_user

    by_okta_id = {u['id']: key for key, u in winners.items()}
    names = {key: full_name(u['profile'], key) for key, u in winners.items()}

    result: Dict[str, ExpectedUser] = {}
    for key, okta_user in winners.items():
        profile = okta_user['profile']
        manager_id = text(profile, 'managerId')
        if manager_id == okta_user['id']:
            manager_id = ''
        manager_key = by_okta_id.get(manager_id) if manager_id else None
        if manager_key == key:
            manager_key = None
        result[key] = ExpectedUser(
            key=key,
            email=key,
            first_name=text(profile, 'firstName'),
            last_name=text(profile, 'lastName'),
            full_name=names[key],
            role_name=text(profile, 'title'),
            team_name=text(profile, 'department'),
            employee_type=text(profile, 'userType'),
            profile_url=text(profile, 'profileUrl'),
            github_username=text(profile, 'githubUsername'),
            slack_id=text(profile, 'slackId'),
            is_active=okta_user['status'] in ACTIVE_STATUSES,
            updated_at=epoch_seconds(okta_user['lastUpdated']),
            okta_id=okta_user['id'],
            status=okta_user['status'],
            manager_okta_id=manager_id,
            manager_key=manager_key,
            manager_full_name=names[manager_key] if manager_key else '',
        )
    return result


def _rank(okta_user: Dict[str, Any]) -> tuple:
    return (okta_user['status'] in ACTIVE_STATUSES, epoch_seconds(okta_user['lastUpdated']))


@dataclasses.dataclass(frozen=True)
class TeamGroup:
    """A group that is a team (mapping.team.source: groups), with what ranks it."""
    name: str
    team: str
    pattern: int  # index of the first pattern that matches the group's name


def team_memberships(groups: Iterable[Dict[str, Any]], patterns: List[str],
                     group_type: str = '') -> Dict[str, List[TeamGroup]]:
    """Maps an Okta user id to the team groups the user is in, best first, from the
    simulator's /admin/groups export. The rule (README, "Teams and scope from Okta groups"):
    a group is a team if a pattern matches its name (group_type, if set, limits teams to that
    group type); its team is the pattern's first capture, or the whole name without one. A
    person in several team groups gets the team of the earliest pattern that matches one of
    them; among groups of that pattern, the longest name, then the first name."""
    compiled = [re.compile(p) for p in patterns]
    out: Dict[str, List[TeamGroup]] = {}
    for group in groups:
        if group_type and group['type'] != group_type:
            continue
        name = group['name']
        for i, rx in enumerate(compiled):
            m = rx.search(name)
            if m is None:
                continue
            team = m.group(1) if rx.groups and m.group(1) else name
            for user_id in group['members']:
                out.setdefault(user_id, []).append(TeamGroup(name, team, i))
            break
    for memberships in out.values():
        memberships.sort(key=lambda g: (g.pattern, -len(g.name), g.name))
    return out


def expected_teams(groups: Iterable[Dict[str, Any]], patterns: List[str],
                   group_type: str = '') -> Dict[str, str]:
    """Okta user id -> team_name from groups (team_memberships' best); a user in no team
    group is absent (team_name '')."""
    return {user_id: memberships[0].team
            for user_id, memberships in team_memberships(groups, patterns, group_type).items()}


def skipped_keys(export: Iterable[Dict[str, Any]]) -> List[str]:
    """Usable emails of users that must have no node (STAGED or unknown status)."""
    out = []
    for okta_user in export:
        status = okta_user['status']
        if status in ACTIVE_STATUSES or status in INACTIVE_STATUSES:
            continue
        email = normalize(text(okta_user.get('profile') or {}, 'email'))
        if usable_email(email):
            out.append(email)
    return out
