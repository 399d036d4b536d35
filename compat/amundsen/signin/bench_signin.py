"""Yardstick: Amundsen's table page and profile page, on-demand Okta lookups vs the synced graph.

Builds the sign-in harness's world (signin_harness.World: bin/oktasim, bin/oktasync sync, a table
with 20 synced owners, Amundsen's metadata service and frontend), gives the simulator's Users API
a per-request latency (default 150 ms, about what Okta answers from another region) under its
default rate limit (600 requests per minute per endpoint), signs in through the frontend, then
times, for each setting:

- table page: the frontend's GET /api/metadata/v0/table (owners are resolved here), and the
  metadata service's GET /table/<key> behind it (the frontend gives up after 3 s);
- profile page: the frontend's GET /api/metadata/v0/user for each of the 20 owners;

and counts the Okta requests each made. `ondemand` is a USER_DETAIL_METHOD calling the Users API
(okta_user_detail.py, the setup oktasync replaces); `graph` is graph_user_detail.

WIPES the Neo4j database it is given.

    compat/amundsen/.venv/bin/python compat/amundsen/signin/bench_signin.py \\
        --neo4j-uri bolt://127.0.0.1:7721 [--latency-ms 150] [--rounds 5] [--json]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import harness  # noqa: E402
import signin_harness as sh  # noqa: E402


def timed(fn):
    start = time.perf_counter()
    resp = fn()
    return resp, (time.perf_counter() - start) * 1000


def summary(ms):
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return {'median_ms': round(statistics.median(ms)), 'p95_ms': round(p95), 'n': len(ms)}


def measure(world, setting, frontend, metadata, rounds):
    http = sh.http_session()
    b = world.browser(frontend)
    b.sign_in('John.Smith@Acme.com')
    out = {}

    def okta_requests():
        # The metadata service goes on resolving owners after the frontend gave up on it: wait
        # until the simulator has seen no request for a second, so each phase counts its own.
        last, stable_since = sh.users_api_requests(world.sim.stats()), time.monotonic()
        while time.monotonic() - stable_since < 1.0:
            time.sleep(0.2)
            now = sh.users_api_requests(world.sim.stats())
            if now != last:
                last, stable_since = now, time.monotonic()
        return last

    # Table page through the frontend.
    world.sim.reset_rate_limits()
    before, lat, codes = okta_requests(), [], []
    for _ in range(rounds):
        resp, ms = timed(lambda: b.api('GET', f'/api/metadata/v0/table?key={quote(sh.TABLE_KEY)}'))
        lat.append(ms)
        codes.append(resp.status_code)
    out['table_page_frontend'] = dict(summary(lat), statuses=sorted(set(codes)),
                                      okta_requests_per_view=(okta_requests() - before) / rounds)
    # The metadata service's table endpoint behind it (no 3 s cut-off).
    world.sim.reset_rate_limits()
    before, lat, codes = okta_requests(), [], []
    for _ in range(rounds):
        resp, ms = timed(lambda: http.get(f'{metadata.url}/table/{sh.TABLE_KEY}', timeout=300))
        lat.append(ms)
        codes.append(resp.status_code)
    out['table_metadata_service'] = dict(summary(lat), statuses=sorted(set(codes)),
                                         okta_requests_per_view=(okta_requests() - before) / rounds)
    # Profile page of each owner.
    world.sim.reset_rate_limits()
    before, lat, codes = okta_requests(), [], []
    for key in world.owner_keys:
        resp, ms = timed(lambda: b.api('GET', f'/api/metadata/v0/user?user_id={quote(key)}'))
        lat.append(ms)
        codes.append(resp.status_code)
    out['profile_page'] = dict(summary(lat), statuses=sorted(set(codes)),
                               okta_requests_per_view=(okta_requests() - before) / len(world.owner_keys))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--neo4j-uri', required=True, help='a Neo4j the benchmark may wipe')
    ap.add_argument('--latency-ms', type=int, default=150, help='latency of each simulated Okta API request')
    ap.add_argument('--rounds', type=int, default=5, help='table page views per setting')
    ap.add_argument('--users', type=int, default=1000, help='users in the simulated org')
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args()

    driver = harness.neo4j_driver(args.neo4j_uri)
    harness.reset_database(driver)
    driver.close()
    with tempfile.TemporaryDirectory(prefix='bench-signin-') as tmp:
        world = sh.World(Path(tmp), args.neo4j_uri, args.users, 29, frontends=('recommended', 'ondemand'),
                         metadata_modes=('graph', 'okta'), harness_timeout=False)
        try:
            world.sim.set_faults(latency_ms=args.latency_ms)
            results = {
                'graph': measure(world, 'graph', 'recommended', world.metadata['graph'], args.rounds),
                'ondemand': measure(world, 'ondemand', 'ondemand', world.metadata['okta'], args.rounds),
            }
        finally:
            world.close()
    results['settings'] = {'latency_ms': args.latency_ms, 'owners': sh.OWNERS, 'rounds': args.rounds,
                           'users': args.users, 'rate_limit_per_minute': 600}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"Okta latency {args.latency_ms} ms per request, table with {sh.OWNERS} owners, "
          f"{args.rounds} table views, {sh.OWNERS} profiles\n")
    print('| page | setting | median | p95 | HTTP | Okta requests per view |')
    print('|---|---|---|---|---|---|')
    for page, label in (('table_page_frontend', 'table page (frontend)'),
                        ('table_metadata_service', 'table (metadata service)'),
                        ('profile_page', 'profile page (frontend)')):
        for setting in ('ondemand', 'graph'):
            r = results[setting][page]
            print(f"| {label} | {setting} | {r['median_ms']} ms | {r['p95_ms']} ms | "
                  f"{','.join(map(str, r['statuses']))} | {r['okta_requests_per_view']:g} |")


if __name__ == '__main__':
    main()
