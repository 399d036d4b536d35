"""Machinery of the sign-in harness: the simulator as an OIDC provider, Amundsen's real frontend
(flaskoidc) and metadata service as processes on loopback, and a cookie-keeping browser.

- SigninSimulator: harness.Simulator plus the admin calls of the OIDC provider and the faults.
- Service: a server process that prints `<NAME>_READY <url>` once listening.
- start_metadata / start_frontend: Amundsen's metadata service (compat/amundsen/.venv) and
  frontend (compat/amundsen/signin/.venv), configured through the environment a deployment sets.
- Browser: requests.Session that follows the sign-in redirects one hop at a time and checks each.
"""

from __future__ import annotations

import html
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

import requests

import harness

HERE = Path(__file__).resolve().parent
FRONTEND_PYTHON = HERE / '.venv' / 'bin' / 'python'
METADATA_PYTHON = Path(sys.executable)  # pytest runs in compat/amundsen/.venv
SIGN_IN_PASSWORD = 'oktasim-password'  # oktasim.SignInPassword: the simulator's test shortcut
SCOPES = 'openid email profile offline_access'

STOCK_CONFIG = 'amundsen_application.oidc_config.OidcConfig'
RECOMMENDED_CONFIG = 'oktasync_oidc_config.OktasyncOidcConfig'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class SigninSimulator(harness.Simulator):
    """bin/oktasim with its OIDC admin API."""

    def create_user(self, profile: Dict[str, Any], status: str = 'ACTIVE') -> Dict[str, Any]:
        return self._call('POST', '/admin/users', {'profile': profile, 'status': status})

    def register_app(self, redirect_uris: List[str]) -> Dict[str, Any]:
        return self._call('POST', '/admin/oidc/apps', {'name': 'Amundsen', 'redirect_uris': redirect_uris})

    def set_authorization_server(self, server_id: str, claims: List[Dict[str, str]]) -> None:
        self._call('PUT', f'/admin/oidc/authservers/{server_id}', {'claims': claims})

    def stats(self) -> Dict[str, int]:
        return self._call('GET', '/admin/stats')

    def oidc_stats(self) -> Dict[str, int]:
        return self._call('GET', '/admin/oidc/stats')

    def set_faults(self, **faults: Any) -> None:
        self._call('PUT', '/admin/faults', faults)

    def reset_rate_limits(self) -> None:
        self._call('POST', '/admin/ratelimits/reset')


def users_api_requests(stats: Dict[str, int]) -> int:
    """Requests the simulator's Users API (and anything else under /api/v1/) received."""
    return stats['list_users_requests'] + stats['get_user_requests'] + stats['other_api_requests']


class Service:
    """A server process printing `<ready> <url>` on stdout once it listens."""

    def __init__(self, name: str, args: List[str], env: Dict[str, str], workdir: Path, ready: str) -> None:
        self.name = name
        self._out = workdir / f'{name}.out'
        self._err = workdir / f'{name}.err'
        with open(self._out, 'wb') as out, open(self._err, 'wb') as err:
            self._proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                                          cwd=str(HERE))
        self.url = self._wait_ready(ready, timeout=60)

    def _wait_ready(self, ready: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self._out.read_text(errors='replace').splitlines():
                if line.startswith(ready + ' '):
                    return line.split()[1]
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise RuntimeError(f'{self.name} did not become ready:\n{self.log()}')

    def log(self) -> str:
        return self._err.read_text(errors='replace')[-4000:]

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def _base_env() -> Dict[str, str]:
    # Nothing of the caller's Amundsen, Flask, Okta or Neo4j settings leaks in.
    prefixes = ('FLASK_', 'FRONTEND_', 'METADATA', 'SQLALCHEMY_', 'OKTA_', 'NEO4J_', 'SIGNIN_', 'PYTHON')
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def start_metadata(workdir: Path, neo4j_uri: str, user_detail: str, sim_url: str, name: str) -> Service:
    """Amundsen's metadata service; user_detail is graph, okta or none (see metadata_server.py)."""
    env = _base_env()
    env.update({'NEO4J_TEST_URI': neo4j_uri, 'SIGNIN_USER_DETAIL': user_detail,
                'OKTA_ORG_URL': sim_url, 'OKTA_API_TOKEN': 'signin-harness-token'})
    return Service(name, [str(METADATA_PYTHON), str(HERE / 'metadata_server.py'), str(free_port())],
                   env, workdir, 'METADATA_READY')


def frontend_env(*, config_class: str, config_url: str, client_id: str, client_secret: str,
                 metadata_url: str, sessions_db: Path) -> Dict[str, str]:
    """The frontend's settings, as the README gives them for a deployment."""
    return {
        'FLASK_APP_MODULE_NAME': 'flaskoidc',
        'FLASK_APP_CLASS_NAME': 'FlaskOIDC',
        'FRONTEND_SVC_CONFIG_MODULE_CLASS': config_class,
        'FLASK_OIDC_PROVIDER_NAME': 'okta',
        'FLASK_OIDC_CONFIG_URL': config_url,
        'FLASK_OIDC_CLIENT_ID': client_id,
        'FLASK_OIDC_CLIENT_SECRET': client_secret,
        'FLASK_OIDC_SCOPES': SCOPES,
        'FLASK_OIDC_USER_ID_FIELD': 'email',
        'FLASK_OIDC_REDIRECT_URI': '/auth',
        'FLASK_OIDC_OVERWRITE_REDIRECT_URI': '/',
        'FLASK_OIDC_WHITELISTED_ENDPOINTS': 'status,healthcheck,health',
        'FLASK_OIDC_SECRET_KEY': secrets.token_hex(16),
        'SQLALCHEMY_DATABASE_URI': f'sqlite:///{sessions_db}',
        'METADATASERVICE_BASE': metadata_url,
    }


def start_frontend(workdir: Path, name: str, port: int, settings: Dict[str, str]) -> Service:
    if not FRONTEND_PYTHON.is_file():
        raise RuntimeError(f'{FRONTEND_PYTHON} is missing: run compat/amundsen/ensure-venv signin')
    env = _base_env()
    env.update(settings)
    env['PYTHONPATH'] = str(HERE)  # oktasync_oidc_config, as a deployment ships it
    return Service(name, [str(FRONTEND_PYTHON), str(HERE / 'frontend_server.py'), str(port)], env, workdir,
                   'FRONTEND_READY')


_HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


class SignInRefused(AssertionError):
    """The identity provider answered the sign-in form with a refusal."""


class Browser:
    """A cookie-keeping HTTP client that walks the sign-in redirects one hop at a time."""

    def __init__(self, frontend_url: str) -> None:
        self.frontend = frontend_url
        self.http = requests.Session()
        self.hops: List[Tuple[int, str]] = []

    def _get(self, url: str, **kw: Any) -> requests.Response:
        resp = self.http.get(url, allow_redirects=False, timeout=60, **kw)
        self.hops.append((resp.status_code, url))
        return resp

    def sign_in(self, username: str, password: str = SIGN_IN_PASSWORD, authorize_prefix: str = '') -> None:
        """frontend /login -> authorize -> sign-in form -> frontend /auth -> session.
        authorize_prefix is the authorization endpoint the frontend must send us to."""
        resp = self._get(self.frontend + '/login')
        assert resp.status_code == 302, (resp.status_code, resp.text[:500])
        authorize = resp.headers['Location']
        assert authorize.split('?')[0].startswith(authorize_prefix), authorize
        params = parse_qs(urlsplit(authorize).query)
        assert params['response_type'] == ['code'] and params['scope'] == [SCOPES], params
        assert params['state'][0] and params['nonce'][0], 'flaskoidc sends state and nonce'
        assert params['redirect_uri'] == [self.frontend + '/auth'], params['redirect_uri']

        form_page = self._get(authorize)
        assert form_page.status_code == 200 and 'name="password"' in form_page.text, form_page.text[:500]
        form = {html.unescape(k): html.unescape(v) for k, v in _HIDDEN.findall(form_page.text)}
        form.update(username=username, password=password)
        resp = self.http.post(authorize.split('?')[0], data=form, allow_redirects=False, timeout=60)
        self.hops.append((resp.status_code, authorize.split('?')[0]))
        if resp.status_code == 401:
            raise SignInRefused(resp.text)
        assert resp.status_code == 302, (resp.status_code, resp.text[:500])
        callback = resp.headers['Location']
        assert callback.startswith(self.frontend + '/auth?'), callback

        resp = self._get(callback)  # flaskoidc: code -> tokens -> verified ID token -> session
        assert resp.status_code == 302 and resp.headers['Location'].rstrip('/') in ('', self.frontend), \
            (resp.status_code, resp.headers.get('Location'), resp.text[:1000])

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        resp = self.http.request(method, self.frontend + path, allow_redirects=False, timeout=120, **kw)
        self.hops.append((resp.status_code, path))
        return resp


def user_nodes(driver, key: str) -> List[Dict[str, Any]]:
    """Every :User whose key equals key but for case."""
    with driver.session() as session:
        return [dict(r['u'].items()) for r in
                session.run('MATCH (u:User) WHERE toLower(u.key) = toLower($key) RETURN u', key=key)]


# --------------------------------------------------------------------------- the org and the stack

# Not test_okta_changes.py's database and cluster: databuilder's TableMetadata remembers, in
# class-level sets, the Database/Cluster/Schema nodes it already emitted in this process, and would
# skip them for a later module whose fresh database lacks them.
DATABASE, CLUSTER, SCHEMA, TABLE = 'snowflake', 'signin', 'sales', 'orders_by_region'
TABLE_KEY = f'{DATABASE}://{CLUSTER}.{SCHEMA}/{TABLE}'
OWNERS = 20

# The people the tests sign in as, created in the simulated org before the sync.
PEOPLE = {
    'manager': {'login': 'maelle.dubois@acme.com', 'email': 'maelle.dubois@acme.com', 'firstName': 'Maëlle',
                'lastName': 'Dubois-Ølstad', 'title': 'Director of Data', 'department': 'Data Platform'},
    'mixed': {'login': 'John.Smith@Acme.com', 'email': 'John.Smith@Acme.com', 'firstName': 'John',
              'lastName': 'Smith', 'title': 'Staff Data Engineer', 'department': 'Data Platform'},
    'mixed2': {'login': 'Mary.Major@Acme.com', 'email': 'Mary.Major@Acme.com', 'firstName': 'Mary',
               'lastName': 'Major', 'title': 'Analyst', 'department': 'Finance'},
    'non_ascii': {'login': 'zoe.angstrom@acme.com', 'email': 'zoe.angstrom@acme.com', 'firstName': 'Zoë',
                  'lastName': 'Ångström', 'title': 'Data Scientist', 'department': 'Research'},
    'leaver': {'login': 'lee.vair@acme.com', 'email': 'lee.vair@acme.com', 'firstName': 'Lee',
               'lastName': 'Vair', 'title': 'Engineer', 'department': 'Growth'},
}


class World:
    """One simulated org synced into Neo4j by bin/oktasync, a table with OWNERS synced owners
    (published with databuilder), the simulator's OIDC app, and Amundsen's services:

    metadata['graph'|'okta']  the metadata service with graph_user_detail / okta_user_detail
    frontends[name]           name: stock (OidcConfig, org server), recommended (OktasyncOidcConfig,
                              org server), custom_claim (OidcConfig, custom server `default` with
                              user_id = String.toLowerCase(user.email)), ondemand (recommended,
                              against metadata['okta'])
    """

    def __init__(self, workdir: Path, neo4j_uri: str, users: int, seed: int,
                 frontends: Tuple[str, ...] = ('stock', 'recommended', 'custom_claim', 'ondemand')) -> None:
        from okta_expect import expected_users

        self.services: List[Service] = []
        self.sim = SigninSimulator(users, seed, workdir)
        try:
            self.okta_ids: Dict[str, str] = {}
            for name, profile in PEOPLE.items():
                self.okta_ids[name] = self.sim.create_user(profile)['id']
            self.sim.set_manager(self.okta_ids['mixed'], self.okta_ids['manager'])
            self.sim.set_manager(self.okta_ids['non_ascii'], self.okta_ids['manager'])
            harness.run_oktasync(self.sim.url, neo4j_uri=neo4j_uri)
            self.export = self.sim.export()
            self.expected = expected_users(self.export)
            self.key = {name: PEOPLE[name]['email'].lower() for name in PEOPLE}
            self.owner_keys = self._publish_table(neo4j_uri)

            self.sim.set_authorization_server('default', [
                {'name': 'user_id', 'value': 'String.toLowerCase(user.email)'}])
            ports = {name: free_port() for name in frontends}
            app = self.sim.register_app([f'http://127.0.0.1:{p}/auth' for p in ports.values()])
            self.metadata = {mode: self._start(start_metadata, workdir, neo4j_uri, mode, self.sim.url,
                                               f'metadata-{mode}')
                             for mode in ('graph', 'okta')}
            # The first get_table of a fresh service takes seconds (Neo4j plans Amundsen's big
            # queries; the driver connects): more than the frontend's 3 s request timeout
            # (REQUEST_SESSION_TIMEOUT_SEC). A deployment is warm; warm these up too.
            for svc in self.metadata.values():
                requests.get(f'{svc.url}/table/{TABLE_KEY}', timeout=120).raise_for_status()
            self.frontends: Dict[str, Service] = {}
            for name, port in ports.items():
                config_class = STOCK_CONFIG if name in ('stock', 'custom_claim') else RECOMMENDED_CONFIG
                config_url = (self.sim.url + ('/oauth2/default' if name == 'custom_claim' else '')
                              + '/.well-known/openid-configuration')
                metadata = self.metadata['okta' if name == 'ondemand' else 'graph']
                settings = frontend_env(config_class=config_class, config_url=config_url,
                                        client_id=app['client_id'], client_secret=app['client_secret'],
                                        metadata_url=metadata.url, sessions_db=workdir / f'sessions-{name}.db')
                self.frontends[name] = self._start(start_frontend, workdir, f'frontend-{name}', port, settings)
        except BaseException:
            self.close()
            raise

    def _start(self, fn, *args: Any) -> Service:
        svc = fn(*args)
        self.services.append(svc)
        return svc

    def _publish_table(self, neo4j_uri: str) -> List[str]:
        """A table whose OWNERS owners are synced active users, John Smith first; owner emails as
        Okta spells them (databuilder lowercases them)."""
        from databuilder.models.table_metadata import ColumnMetadata, TableMetadata
        from databuilder.models.table_owner import TableOwner

        raw_email = {u['id']: u['profile']['email'] for u in self.export}
        keys = [self.key['mixed']] + sorted(k for k, e in self.expected.items()
                                            if e.is_active and k not in self.key.values())[:OWNERS - 1]
        raw = [raw_email[self.expected[k].okta_id] for k in keys]
        harness.publish_models(neo4j_uri, [
            TableMetadata(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, name=TABLE,
                          description='Orders by region, daily.',
                          columns=[ColumnMetadata('region', 'sales region', 'string', 0),
                                   ColumnMetadata('orders', 'order count', 'bigint', 1)]),
            TableOwner(db_name=DATABASE, schema=SCHEMA, table_name=TABLE, cluster=CLUSTER, owners=raw),
        ], tag='2024-06-01')
        return keys

    def browser(self, frontend: str) -> Browser:
        return Browser(self.frontends[frontend].url)

    def close(self) -> None:
        for svc in reversed(self.services):
            svc.close()
        self.sim.close()
