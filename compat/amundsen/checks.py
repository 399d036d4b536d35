"""Type-strict comparisons of what Amundsen returns with what Okta says.

Every check compares types as well as values: a Boolean must be the Python
bool (`is True` / `is False`), text must be str. A graph that stores
is_active as the string "true" or updated_at as a string fails here.
"""

from typing import Any, Dict, Iterable, List, Mapping

from okta_expect import ExpectedUser

TEXT_FIELDS = ('email', 'first_name', 'last_name', 'full_name', 'team_name', 'role_name',
               'employee_type', 'profile_url', 'github_username', 'slack_id')


def _text(problems: List[str], who: str, field: str, actual: Any, expected: str) -> None:
    if type(actual) is not str or actual != expected:
        problems.append(f'{who}: {field} = {actual!r} ({type(actual).__name__}), want {expected!r}')


def _bool(problems: List[str], who: str, field: str, actual: Any, expected: bool) -> None:
    if actual is not expected:
        problems.append(f'{who}: {field} = {actual!r} ({type(actual).__name__}), want {expected!r} (bool)')


def user_problems(actual: Mapping[str, Any], exp: ExpectedUser, *, with_manager: bool = True) -> List[str]:
    """Problems of one user as Amundsen serialises it (UserSchema().dump(...) or the
    metadata API's JSON) compared with the Okta expectation. Empty means equal."""
    who = exp.key
    problems: List[str] = []
    _text(problems, who, 'user_id', actual.get('user_id'), exp.key)
    for field in TEXT_FIELDS:
        _text(problems, who, field, actual.get(field), getattr(exp, field))
    _bool(problems, who, 'is_active', actual.get('is_active'), exp.is_active)
    if with_manager:
        _text(problems, who, 'manager_fullname', actual.get('manager_fullname'), exp.manager_full_name)
    return problems


def frontend_problems(dumped: Dict[str, Any], exp: ExpectedUser) -> List[str]:
    """What Amundsen's frontend shows: it re-loads the metadata response through
    amundsen_common's UserSchema, which derives display_name (and would fill a missing
    full_name). The profile header shows display_name; is_active decides 'Alumni'."""
    from amundsen_common.models.user import UserSchema

    shown = UserSchema().load(dict(dumped))
    problems: List[str] = []
    _text(problems, exp.key, 'display_name (frontend)', shown.display_name, exp.full_name)
    _text(problems, exp.key, 'full_name (frontend)', shown.full_name, exp.full_name)
    _bool(problems, exp.key, 'is_active (frontend)', shown.is_active, exp.is_active)
    return problems


def report(problems: Iterable[str], limit: int = 25) -> str:
    problems = list(problems)
    head = '\n  '.join(problems[:limit])
    more = f'\n  ... and {len(problems) - limit} more' if len(problems) > limit else ''
    return f'{len(problems)} mismatches:\n  {head}{more}'
