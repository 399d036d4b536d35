#!/usr/bin/env python3
"""Yardstick: how fast do Amundsen databuilder's publishers load a CSV directory?

    compat/amundsen/.venv/bin/python compat/amundsen/publish_bench.py \\
        --csv-dir DIR --neo4j-uri bolt://127.0.0.1:7711 [--publisher csv|unwind|both] [--reset]

DIR holds databuilder CSV files (DIR/nodes/*.csv, DIR/relationships/*.csv), e.g.
from `oktasync sync --csv-dir DIR` or databuilder's FsNeo4jCSVLoader. Each
publisher (databuilder's Neo4jCsvPublisher = 'csv', Neo4jCsvUnwindPublisher =
'unwind') publishes the whole directory into the given Neo4j and is timed
(publish() only; connecting is excluded). Rows are CSV rows: one node, or one
relationship row (which databuilder writes as an edge pair).

--reset empties the database (all nodes, constraints and indexes) before each
publisher, so every run loads into an empty graph, as a first sync does; this
DESTROYS the database's contents. Without it, runs upsert into whatever is there
(with --publisher both, the second one then measures updates of existing data).

On Neo4j 3.5 and 4.4 the publishers are databuilder's own, unpatched, as its users
run them. On Neo4j 5.x (which databuilder does not support) their key-constraint
statement is replaced by its Neo4j 5 form (amundsen#2094, see harness.py);
everything else is databuilder's own code. The JSON summary says which ran
('neo4j_version', 'neo4j5_workaround').
Prints one line per publisher, then a JSON summary with --json.
"""

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path

import harness


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--csv-dir', required=True, type=Path, help='directory with nodes/ and relationships/')
    ap.add_argument('--neo4j-uri', required=True, help='bolt://host:port of the target Neo4j')
    ap.add_argument('--neo4j-user', default='', help='username (default: no auth)')
    ap.add_argument('--neo4j-password', default='', help='password')
    ap.add_argument('--publisher', choices=['csv', 'unwind', 'both'], default='both')
    ap.add_argument('--reset', action='store_true',
                    help='empty the database before each publisher (destroys its contents)')
    ap.add_argument('--transaction-size', type=int, default=None,
                    help="neo4j_transaction_size (databuilder's default: 500 csv, 1000 unwind)")
    ap.add_argument('--tag', default=None, help='job_publish_tag (default: the run start, UTC)')
    ap.add_argument('--json', action='store_true', help='also print a JSON summary')
    ap.add_argument('--neo4j-pid', type=int, default=0,
                    help="the Neo4j server's pid: also report the CPU time it used while publishing")
    args = ap.parse_args(argv)

    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    # neo4j 4.4's verify_connectivity() (called by the unwind publisher) warns it is experimental.
    warnings.filterwarnings('ignore', message='The configuration may change in the future')
    if not (args.csv_dir / 'nodes').is_dir():
        ap.error(f'{args.csv_dir}/nodes is not a directory')
    nodes, rels = harness.csv_row_counts(args.csv_dir)
    rows = nodes + rels
    tag = args.tag or time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    kinds = ['csv', 'unwind'] if args.publisher == 'both' else [args.publisher]

    driver = harness.neo4j_driver(args.neo4j_uri, args.neo4j_user, args.neo4j_password)
    version = harness.neo4j_version(args.neo4j_uri, args.neo4j_user, args.neo4j_password)
    patched = harness.needs_neo4j5_workarounds(args.neo4j_uri, args.neo4j_user, args.neo4j_password)
    results = []
    try:
        for kind in kinds:
            if args.reset:
                harness.reset_database(driver)
            cpu0, neo0 = time.process_time(), process_cpu(args.neo4j_pid)
            seconds = harness.publish_csv_dir(kind, args.neo4j_uri, args.csv_dir, tag,
                                              user=args.neo4j_user, password=args.neo4j_password,
                                              transaction_size=args.transaction_size)
            result = {'publisher': {'csv': 'Neo4jCsvPublisher', 'unwind': 'Neo4jCsvUnwindPublisher'}[kind],
                      'node_rows': nodes, 'relationship_rows': rels, 'rows': rows,
                      'seconds': round(seconds, 3), 'rows_per_s': round(rows / seconds, 1) if seconds else None,
                      'empty_database': args.reset,
                      'neo4j_version': '%d.%d' % version, 'neo4j5_workaround': patched,
                      'cpu_seconds': round(time.process_time() - cpu0, 3)}
            if args.neo4j_pid:
                result['neo4j_cpu_seconds'] = round(process_cpu(args.neo4j_pid) - neo0, 3)
            results.append(result)
            print(f"{result['publisher']:<24} {rows} rows ({nodes} nodes, {rels} relationships) "
                  f"in {seconds:.3f} s: {result['rows_per_s']} rows/s"
                  f"{'' if args.reset else ' (into the existing graph)'}", flush=True)
    finally:
        driver.close()
    if args.json:
        print(json.dumps(results, indent=2))
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
