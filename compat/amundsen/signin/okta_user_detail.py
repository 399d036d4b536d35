"""The baseline oktasync replaces: a USER_DETAIL_METHOD that asks Okta's Users API per user.

Written for the sign-in harness (not shipped): it does what the usual on-demand workaround does,
GET /api/v1/users/{email} with an SSWS token for the user, and a second GET for the manager's
name, mapped to Amundsen's user fields. OKTA_ORG_URL and OKTA_API_TOKEN come from the environment
of the metadata service.
"""

import os
from typing import Any, Dict
from urllib.parse import quote

import requests

_session = requests.Session()


def _get(path: str) -> Dict[str, Any]:
    resp = _session.get(os.environ['OKTA_ORG_URL'].rstrip('/') + path, timeout=30,
                        headers={'Authorization': 'SSWS ' + os.environ['OKTA_API_TOKEN'],
                                 'Accept': 'application/json'})
    resp.raise_for_status()  # a 429 or 404 fails the lookup, as it does in the workaround
    return resp.json()


def okta_user_detail(user_id: str) -> Dict[str, Any]:
    okta_user = _get('/api/v1/users/' + quote(user_id, safe=''))
    p = okta_user.get('profile') or {}
    manager = ''
    if p.get('managerId'):
        m = _get('/api/v1/users/' + quote(p['managerId'], safe='')).get('profile') or {}
        manager = m.get('displayName') or f"{m.get('firstName') or ''} {m.get('lastName') or ''}".strip()
    email = (p.get('email') or user_id).strip().lower()
    return {
        'email': email,
        'user_id': email,
        'first_name': p.get('firstName'),
        'last_name': p.get('lastName'),
        'full_name': p.get('displayName') or f"{p.get('firstName') or ''} {p.get('lastName') or ''}".strip(),
        'is_active': okta_user.get('status') not in ('SUSPENDED', 'DEPROVISIONED'),
        'team_name': p.get('department'),
        'role_name': p.get('title'),
        'employee_type': p.get('userType'),
        'profile_url': p.get('profileUrl'),
        'github_username': p.get('githubUsername'),
        'slack_id': p.get('slackId'),
        'manager_fullname': manager,
    }
