"""Amundsen search service configuration for the test search server oktasync writes.

Used as `create_app(config_module_class='search_config.OktasyncSearchConfig')`, the
way a deployment sets SEARCH_SVC_CONFIG_MODULE_CLASS. The settings that matter:

- PROXY_ENDPOINT: the server's URL ($SEARCH_TEST_URL). The proxy builds its own
  elasticsearch-py client from it (ELASTICSEARCH_CLIENT None), without credentials
  (PROXY_USER empty: the test server has no security plugin).
- ES_PROXY_CLIENT: ElasticsearchProxyV2_1, the service's default. It serves an index
  only if one carries `_meta.version == 2` (the v2.1 mapping); otherwise it falls back
  to the V2 proxy and the legacy `user_search_index`.
- ES_INDEX_ALIAS_TEMPLATE stays '{resource}_search_index_v2_1': people are read from
  user_search_index_v2_1.
"""

import os

from search_service.config import PROXY_CLIENTS, Config


class OktasyncSearchConfig(Config):
    TESTING = False  # errors become HTTP statuses, as in production
    LOG_LEVEL = 'WARNING'
    STATS = False
    SWAGGER_ENABLED = False
    PROXY_ENDPOINT = os.environ.get('SEARCH_TEST_URL', 'http://127.0.0.1:9200').rstrip('/')
    PROXY_USER = ''
    PROXY_PASSWORD = ''
    ELASTICSEARCH_CLIENT = None
    ES_PROXY_CLIENT = PROXY_CLIENTS['ELASTICSEARCH_V2_1']
