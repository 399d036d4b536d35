"""Runs Amundsen's real metadata service (amundsen-metadata 3.13.0) on 127.0.0.1 for the sign-in harness.

Started by signin_harness.py with compat/amundsen/.venv. The config is metadata_config's
OktasyncNeo4jConfig (Neo4j at $NEO4J_TEST_URI) plus:
- PROXY_CLIENT: on Neo4j 5.x only, Neo4jProxy with the harness's one-statement Neo4j 5 fix for
  get_table (harness.py); on 3.5 and 4.4 Amundsen's own Neo4jProxy, unpatched;
- USER_DETAIL_METHOD from $SIGNIN_USER_DETAIL: `graph` (oktasync_user_detail.graph_user_detail,
  the recommended setting), `okta` (okta_user_detail, the on-demand baseline) or `none`.

    python metadata_server.py PORT     # prints METADATA_READY http://127.0.0.1:PORT
"""

import os
import sys
from pathlib import Path

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # harness, metadata_config

import harness  # noqa: E402
from metadata_config import OktasyncNeo4jConfig  # noqa: E402
from okta_user_detail import okta_user_detail  # noqa: E402
from oktasync_user_detail import graph_user_detail  # noqa: E402

Neo4j5TableProxy = harness.neo4j5_table_proxy_class()

_USER_DETAIL = {'graph': graph_user_detail, 'okta': okta_user_detail, 'none': None}


class SigninMetadataConfig(OktasyncNeo4jConfig):
    if harness.needs_neo4j5_workarounds():  # $NEO4J_TEST_URI's server
        PROXY_CLIENT = 'metadata_server.Neo4j5TableProxy'
    USER_DETAIL_METHOD = _USER_DETAIL[os.environ.get('SIGNIN_USER_DETAIL', 'graph')]


def main() -> None:
    import logging

    from werkzeug.serving import make_server

    logging.disable(logging.WARNING)
    import metadata_service.deprecations  # noqa: F401  (its import-time warnings are not ours)
    logging.disable(logging.NOTSET)
    from metadata_service import create_app

    os.environ.pop('METADATA_SVC_CONFIG_MODULE_CLASS', None)  # it would override the class below
    app = create_app(config_module_class='metadata_server.SigninMetadataConfig')
    server = make_server('127.0.0.1', int(sys.argv[1]), app, threaded=True)
    print(f'METADATA_READY http://127.0.0.1:{server.server_port}', flush=True)
    server.serve_forever()


if __name__ == '__main__':
    main()
