#!/usr/bin/env python3
"""Yardstick for S8: how long does databuilder's own people-search job take on a graph?

    compat/amundsen/.venv/bin/python bench/search_bench.py \\
        --neo4j-uri bolt://127.0.0.1:7740 --search-url http://127.0.0.1:9271 --alias ALIAS \\
        [--neo4j-pid PID] [--search-pid PID] [--json]

Runs databuilder's SearchMetadatatoElasticasearchTask (doc type 'user') fed by
Neo4jSearchDataExtractor with databuilder's v2.1 user query (search_data_queries'
DEFAULT_USER_QUERY), exactly as compat/amundsen/harness.py's
databuilder_user_search_index does (that function is what runs): a fresh
<alias>_<yyyymmdd>_<uuid> index, bulk-loaded with elasticsearch-py's parallel_bulk, then
the alias swapped onto it and the previous index removed. The job is timed from
DefaultJob.launch() to its return (connecting to Neo4j included; the imports are not).
Its first extract() runs the whole Cypher query and materializes every row before the
first document goes out, so it is timed too: `extract_seconds` (the Neo4j read), the
rest is the bulk load and the alias swap.

databuilder's task does not refresh the new index (its documents become searchable
within the index's refresh interval, 1 s): the refresh the script does afterwards, to
count the documents, is timed apart (`refresh_seconds`) and is not in `seconds`.

CPU: this process's own (all threads), and with --neo4j-pid / --search-pid the Neo4j
and search servers' during the job, from /proc. Peak RSS is measured from outside
(the bench harness reads VmHWM); `rss_before_mib` is this process's VmRSS after the
imports, before the job.
"""

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'compat' / 'amundsen'))

import harness  # noqa: E402  (compat/amundsen/harness.py)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--neo4j-uri', required=True)
    ap.add_argument('--search-url', required=True)
    ap.add_argument('--alias', required=True, help='the alias to build (NOT the one oktasync keeps)')
    ap.add_argument('--neo4j-pid', type=int, default=0)
    ap.add_argument('--search-pid', type=int, default=0)
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    warnings.filterwarnings('ignore')

    # Import everything the job imports before anything is timed.
    from databuilder.extractor.neo4j_search_data_extractor import Neo4jSearchDataExtractor
    import databuilder.job.job  # noqa: F401
    import databuilder.task.search.search_metadata_to_elasticsearch_task  # noqa: F401
    import elasticsearch  # noqa: F401

    search = harness.SearchServer(args.search_url)

    # Time the first extract(): it runs the query and reads every row.
    extract_seconds = []
    original = Neo4jSearchDataExtractor.extract

    def timed_extract(self):
        if extract_seconds:
            return original(self)
        t = time.monotonic()
        try:
            return original(self)
        finally:
            extract_seconds.append(time.monotonic() - t)

    Neo4jSearchDataExtractor.extract = timed_extract

    rss_before = status_kib('VmRSS') / 1024
    cpu0, neo0, srch0 = time.process_time(), process_cpu(args.neo4j_pid), process_cpu(args.search_pid)
    t0 = time.monotonic()
    harness.databuilder_user_search_index(args.neo4j_uri, args.search_url, args.alias)
    seconds = time.monotonic() - t0
    cpu = time.process_time() - cpu0
    neo = process_cpu(args.neo4j_pid) - neo0
    srch = process_cpu(args.search_pid) - srch0

    indices = search.alias_indices(args.alias)
    if len(indices) != 1:
        raise SystemExit(f'{args.alias} points at {indices} after the job')
    t1 = time.monotonic()
    search.refresh(indices[0])
    refresh_seconds = time.monotonic() - t1
    _, body = search.request('GET', f'/{indices[0]}/_count')
    result = {
        'job': 'databuilder SearchMetadatatoElasticasearchTask (user, DEFAULT_USER_QUERY)',
        'index': indices[0],
        'documents': body['count'],
        'seconds': round(seconds, 3),
        'extract_seconds': round(extract_seconds[0], 3) if extract_seconds else None,
        'refresh_seconds': round(refresh_seconds, 3),
        'cpu_seconds': round(cpu, 3),
        'rss_before_mib': round(rss_before, 1),
        'rss_hwm_mib': round(status_kib('VmHWM') / 1024, 1),
    }
    if args.neo4j_pid:
        result['neo4j_cpu_seconds'] = round(neo, 3)
    if args.search_pid:
        result['search_cpu_seconds'] = round(srch, 3)
    print(f"databuilder user search job: {result['documents']} documents in {seconds:.3f} s "
          f"(first extract {result['extract_seconds']} s)", flush=True)
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return 0


def process_cpu(pid):
    """User+system CPU seconds of a live process (all threads), from /proc; 0 for pid 0."""
    if not pid:
        return 0.0
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


if __name__ == '__main__':
    sys.exit(main())
