"""Fixtures of the Amundsen compatibility harness (run by `make compat` / `make test`).

Every test module starts from an empty Neo4j: the autouse `fresh_database`
fixture deletes all nodes, constraints and indexes of $NEO4J_TEST_URI first.
Without NEO4J_TEST_URI the run fails; it never skips. test_people_search.py also
needs SEARCH_TEST_URL (a search server whose user_search_index_v2_1* indices it
may delete); selected without it, the run fails too.
"""

import os
from pathlib import Path

import logging

import pytest

# metadata_service.deprecations runs warnings.simplefilter('always', DeprecationWarning)
# at import; importing it here, before pytest applies pytest.ini's filterwarnings for
# each test, keeps third-party deprecation noise out of the report. (Its import also
# logs that the optional amundsen_gremlin is not installed: not needed here.)
logging.disable(logging.WARNING)
import metadata_service.deprecations  # noqa: E402,F401
logging.disable(logging.NOTSET)

import harness  # noqa: E402


def pytest_sessionstart(session):
    if not os.environ.get('NEO4J_TEST_URI', '').strip():
        pytest.exit('NEO4J_TEST_URI is not set: the Amundsen harness needs a Neo4j it may wipe '
                    '(`make compat` starts one); refusing to skip', returncode=1)
    for binary in (harness.OKTASYNC, harness.OKTASIM):
        if not binary.is_file():
            pytest.exit(f'{binary} is missing: run `make build` first (make compat does)', returncode=1)


def pytest_collection_finish(session):
    # Like NEO4J_TEST_URI above: people search needs a search server it may wipe; without
    # one its tests fail, never skip. Only when they are selected (the 4.4 and 3.5 stages
    # leave test_people_search.py out) and about to run (--collect-only needs none).
    if session.config.option.collectonly or os.environ.get('SEARCH_TEST_URL', '').strip():
        return
    if any(item.path.name == 'test_people_search.py' for item in session.items):
        pytest.exit('SEARCH_TEST_URL is not set: test_people_search.py needs an OpenSearch or Elasticsearch '
                    'server it may wipe (scripts/with-search starts one; `make test` does); refusing to skip',
                    returncode=1)


@pytest.fixture(scope='session')
def neo4j_uri() -> str:
    return harness.neo4j_test_uri()


@pytest.fixture(scope='session')
def driver(neo4j_uri):
    drv = harness.neo4j_driver(neo4j_uri)
    with drv.session() as session:
        session.run('RETURN 1').consume()
    yield drv
    drv.close()


@pytest.fixture(scope='module', autouse=True)
def fresh_database(driver):
    """Each test module starts from an empty database."""
    harness.reset_database(driver)


@pytest.fixture(scope='session')
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('compat')


@pytest.fixture(scope='module')
def proxy(neo4j_uri):
    """Amundsen's Neo4jProxy, constructed the way the metadata service constructs it."""
    from metadata_service.proxy.neo4j_proxy import Neo4jProxy

    host, port = harness.split_bolt_uri(neo4j_uri)
    p = Neo4jProxy(host=host, port=port, user='neo4j', password='', encrypted=False)
    yield p
    p._driver.close()


@pytest.fixture(scope='module')
def metadata_app(monkeypatch_module):
    """Amundsen's metadata Flask app (create_app) configured by metadata_config.py."""
    import metadata_service.proxy as proxy_module
    from metadata_service import create_app

    # The env var would override the config class create_app is given.
    monkeypatch_module.delenv('METADATA_SVC_CONFIG_MODULE_CLASS', raising=False)
    proxy_module._proxy_client = None  # the service caches one proxy per process
    app = create_app(config_module_class='metadata_config.OktasyncNeo4jConfig')
    yield app
    if proxy_module._proxy_client is not None:
        proxy_module._proxy_client._driver.close()
        proxy_module._proxy_client = None


@pytest.fixture(scope='module')
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()
