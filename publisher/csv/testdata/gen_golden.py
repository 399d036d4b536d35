#!/usr/bin/env python3
"""Regenerate the databuilder golden CSV files for publisher/csv/writer_test.go.

The goldens are written by Amundsen databuilder itself: every user in
golden_users.json is built as a databuilder.models.user.User and loaded, in
file order, through databuilder's FsNeo4jCSVLoader. The resulting node and
relationship files are copied to databuilder/<scenario>/{nodes,relationships}/
next to this script. The Go test feeds the same JSON through loader.Node and
CSVWriter and requires byte-identical output, so never edit the goldens by hand.

How to regenerate (from the repository root):

    python3 -m venv /tmp/dbvenv
    /tmp/dbvenv/bin/pip install amundsen-databuilder==7.5.1
    /tmp/dbvenv/bin/python publisher/csv/testdata/gen_golden.py
    go test ./loader/

Must run on Linux or macOS: databuilder opens its files in text mode without
newline='', so on Windows every newline (also inside values) would be written
as \\r\\n.

Optional ad hoc check: `gen_golden.py --compare DIR` reads DIR/<scenario>/
{nodes,relationships} (e.g. written by the Go CSVWriter) and the goldens with
pandas.read_csv(f, na_filter=False), as databuilder's Neo4jCsvPublisher and
Neo4jCsvUnwindPublisher do, and reports whether the records are equal.
"""

import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
INPUT = os.path.join(HERE, 'golden_users.json')
OUT = os.path.join(HERE, 'databuilder')

STANDARD = ('email', 'first_name', 'last_name', 'full_name', 'github_username', 'team_name',
            'employee_type', 'manager_email', 'slack_id', 'is_active', 'profile_url',
            'updated_at', 'role_name')


def make_user(spec):
    from databuilder.models.user import User

    kwargs = {k: spec[k] for k in STANDARD if k in spec}
    # Attributes that are not User constructor arguments go through **kwargs,
    # in the order oktasync writes them: okta_id first, then the extras.
    kwargs['okta_id'] = spec['okta_id']
    for name, value in spec['extras']:
        kwargs[name] = value
    return User(**kwargs)


def generate():
    from pyhocon import ConfigFactory
    from databuilder.loader.file_system_neo4j_csv_loader import FsNeo4jCSVLoader

    with open(INPUT, encoding='utf8') as f:
        scenarios = json.load(f)['scenarios']

    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    with tempfile.TemporaryDirectory() as tmp:
        for sc in scenarios:
            base = os.path.join(tmp, sc['name'])
            loader = FsNeo4jCSVLoader()
            loader.init(ConfigFactory.from_dict({
                FsNeo4jCSVLoader.NODE_DIR_PATH: os.path.join(base, 'nodes'),
                FsNeo4jCSVLoader.RELATION_DIR_PATH: os.path.join(base, 'relationships'),
                FsNeo4jCSVLoader.FORCE_CREATE_DIR: True,
                FsNeo4jCSVLoader.SHOULD_DELETE_CREATED_DIR: False,
            }))
            for spec in sc['users']:
                loader.load(make_user(spec))
            loader.close()
            shutil.copytree(base, os.path.join(OUT, sc['name']))
            for sub in ('nodes', 'relationships'):
                for name in sorted(os.listdir(os.path.join(OUT, sc['name'], sub))):
                    print(os.path.join('databuilder', sc['name'], sub, name))


def read_records(path):
    import pandas
    with open(path, 'r', encoding='utf8') as f:
        return pandas.read_csv(f, na_filter=False).to_dict(orient='records')


def compare(other):
    ok = True
    for sc in sorted(os.listdir(OUT)):
        for sub in ('nodes', 'relationships'):
            want_dir = os.path.join(OUT, sc, sub)
            got_dir = os.path.join(other, sc, sub)
            want = sorted(os.listdir(want_dir))
            got = sorted(os.listdir(got_dir)) if os.path.isdir(got_dir) else []
            if want != got:
                print(f'{sc}/{sub}: files differ: want {want}, got {got}')
                ok = False
                continue
            for name in want:
                w = read_records(os.path.join(want_dir, name))
                g = read_records(os.path.join(got_dir, name))
                same = w == g and all(
                    [type(v) for v in a.values()] == [type(v) for v in b.values()] for a, b in zip(w, g))
                print(f'{sc}/{sub}/{name}: {len(g)} records, {"same" if same else "DIFFERENT"}')
                ok = ok and same
    return ok


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == '--compare':
        sys.exit(0 if compare(sys.argv[2]) else 1)
    if len(sys.argv) != 1:
        sys.exit(__doc__)
    generate()
