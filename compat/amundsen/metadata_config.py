"""Amundsen metadata service configuration for a Neo4j that oktasync writes.

Used as `create_app(config_module_class='metadata_config.OktasyncNeo4jConfig')`,
the way a deployment sets METADATA_SVC_CONFIG_MODULE_CLASS. The settings that
matter for users:

- PROXY_CLIENT: the Neo4j proxy. PROXY_HOST is the URI without the port and
  PROXY_PORT the port: the proxy connects to f'{PROXY_HOST}:{PROXY_PORT}'.
- PROXY_ENCRYPTED: False for a plain bolt:// server (the base Config says True).
- USER_DETAIL_METHOD: None. With oktasync filling the graph, no per-request
  lookup is needed; the profile comes from the :User node.
- USER_OTHER_KEYS: extra node properties returned in other_key_values; here
  okta_id, to show that Amundsen can surface it.
"""

import os
from urllib.parse import urlsplit

from metadata_service.config import PROXY_CLIENTS, Config

_uri = urlsplit(os.environ.get('NEO4J_TEST_URI', 'bolt://127.0.0.1:7687'))


class OktasyncNeo4jConfig(Config):
    TESTING = False  # errors become HTTP statuses, as in production
    LOG_LEVEL = 'WARNING'
    PROXY_CLIENT = PROXY_CLIENTS['NEO4J']
    PROXY_HOST = f'{_uri.scheme}://{_uri.hostname}'
    PROXY_PORT = _uri.port or 7687
    PROXY_USER = os.environ.get('NEO4J_TEST_USERNAME', 'neo4j')
    PROXY_PASSWORD = os.environ.get('NEO4J_TEST_PASSWORD', '')
    PROXY_ENCRYPTED = False
    PROXY_VALIDATE_SSL = False
    PROXY_DATABASE_NAME = None  # the server's default database ('neo4j')
    USER_DETAIL_METHOD = None
    USER_OTHER_KEYS = {'okta_id'}
