"""harness.publish_models is independent of what this process published before.

databuilder's TableMetadata keeps class-level sets of the Database/Cluster/Schema nodes (and
relations, records) it already serialized, and skips them afterwards. The harness wipes Neo4j
before each module, so without clearing those sets a module publishing a table in a cluster an
earlier module used would get a table without its Database, Cluster and Schema: the result would
depend on test order (pytest collects signin/ before the test_*.py beside it).
"""

import harness

DATABASE, CLUSTER, SCHEMA, TABLE = 'hive', 'order_check', 'core', 'events'


def _table():
    from databuilder.models.table_metadata import ColumnMetadata, TableMetadata

    return TableMetadata(database=DATABASE, cluster=CLUSTER, schema=SCHEMA, name=TABLE, description='Events.',
                         columns=[ColumnMetadata('id', 'event id', 'bigint', 0)])


def _path(driver):
    with driver.session() as session:
        return session.run(
            'MATCH (d:Database)-[:CLUSTER]->(c:Cluster)-[:SCHEMA]->(s:Schema)-[:TABLE]->(t:Table) '
            'RETURN d.key AS d, c.key AS c, s.key AS s, t.key AS t').data()


def test_publishing_again_into_a_fresh_database_writes_the_whole_path(driver, neo4j_uri):
    want = [{'d': f'database://{DATABASE}', 'c': f'{DATABASE}://{CLUSTER}',
             's': f'{DATABASE}://{CLUSTER}.{SCHEMA}', 't': f'{DATABASE}://{CLUSTER}.{SCHEMA}/{TABLE}'}]
    harness.publish_models(neo4j_uri, [_table()], tag='2024-06-01')
    assert _path(driver) == want
    harness.reset_database(driver)  # what the next module's fresh_database fixture does
    harness.publish_models(neo4j_uri, [_table()], tag='2024-06-02')
    assert _path(driver) == want
