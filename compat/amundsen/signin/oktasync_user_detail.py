"""USER_DETAIL_METHOD for Amundsen's metadata service once oktasync fills the graph.

Why not simply no USER_DETAIL_METHOD: amundsen-metadata 3.13.0 builds table owners and readers
from `_get_user_details(email)`, which, without a USER_DETAIL_METHOD, returns only the email
(base_proxy.py), so table pages would list owners by email. `graph_user_detail` answers from the
:User node oktasync wrote, with the service's own `get_user` query: full names, team, role,
manager, is_active, and no call to Okta. The profile endpoint (GET /user/<id>) gets the same user
as without a USER_DETAIL_METHOD, except that an unknown id is a 404 instead of a 500.

Set it in the metadata service config class:

    from oktasync_user_detail import graph_user_detail
    USER_DETAIL_METHOD = graph_user_detail
"""

from typing import Any, Dict

import attr


def graph_user_detail(user_id: str) -> Dict[str, Any]:
    """The user as the graph holds it (raises NotFoundException when there is no such node)."""
    from metadata_service.proxy import get_proxy_client

    user = get_proxy_client().get_user(id=user_id)
    data = attr.asdict(user)
    # Neo4jProxy._build_user_from_record reads USER_OTHER_KEYS from the top level of a record.
    data.update(data.get('other_key_values') or {})
    return data
