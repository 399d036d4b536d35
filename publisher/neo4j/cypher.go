package neo4j

// Every statement oktasync sends to Neo4j lives here. User data only ever
// travels as parameters.

// Schema statements valid on Neo4j 4.4 and 5.x. An equivalent constraint
// that databuilder created under another name is accepted (see Prepare).
const (
	cypherConstraint  = `CREATE CONSTRAINT oktasync_user_key IF NOT EXISTS FOR (u:User) REQUIRE u.key IS UNIQUE`
	cypherOktaIDIndex = `CREATE INDEX oktasync_user_okta_id IF NOT EXISTS FOR (u:User) ON (u.okta_id)`
	cypherAwait       = `CALL db.awaitIndexes(300)`
)

// cypherUpsertNodes merges one batch of users on key. User properties are
// written only when one differs, so unchanged users cost an index seek; the
// publisher metadata is refreshed on every node, as databuilder does, so
// Amundsen's staleness task never takes a synced user for stale.
// $rows: [{key, props}], $tag: published_tag.
const cypherUpsertNodes = `
UNWIND $rows AS row
OPTIONAL MATCH (existing:User {key: row.key})
WITH row, existing IS NULL AS created
MERGE (u:User {key: row.key})
WITH u, row, created,
     size([k IN keys(row.props) WHERE u[k] IS NULL OR u[k] <> row.props[k]]) > 0 AS changed
SET u.published_tag = $tag,
    u.publisher_last_updated_epoch_ms = timestamp()
FOREACH (_ IN CASE WHEN changed THEN [1] ELSE [] END | SET u += row.props)
RETURN sum(CASE WHEN created THEN 1 ELSE 0 END) AS created,
       sum(CASE WHEN changed AND NOT created THEN 1 ELSE 0 END) AS updated,
       sum(CASE WHEN changed THEN 0 ELSE 1 END) AS unchanged`

// cypherResolveOktaIDs maps Okta ids to keys. $ids: [okta_id].
const cypherResolveOktaIDs = `
UNWIND $ids AS id
MATCH (m:User {okta_id: id})
RETURN id, m.key AS key`

// cypherUnlinkStale removes MANAGE_BY edges that no longer match the user's
// manager, and their MANAGE mirror. $rows: [{key, manager}], manager may be null.
const cypherUnlinkStale = `
UNWIND $rows AS row
MATCH (u:User {key: row.key})-[r:MANAGE_BY]->(m:User)
WHERE row.manager IS NULL OR m.key <> row.manager
OPTIONAL MATCH (m)-[r2:MANAGE]->(u)
DELETE r, r2
RETURN count(DISTINCT r) AS removed`

// cypherUnlinkStaleMirror removes MANAGE edges pointing at the user from
// anyone but the current manager (left behind by other writers).
const cypherUnlinkStaleMirror = `
UNWIND $rows AS row
MATCH (m:User)-[r:MANAGE]->(u:User {key: row.key})
WHERE row.manager IS NULL OR m.key <> row.manager
DELETE r
RETURN count(r) AS removed`

// cypherLink ensures (u)-[:MANAGE_BY]->(m) and (m)-[:MANAGE]->(u), each
// merged on its own so a half-present pair is completed, not duplicated.
// $rows: [{key, manager}] with manager non-null.
const cypherLink = `
UNWIND $rows AS row
MATCH (u:User {key: row.key})
MATCH (m:User {key: row.manager})
OPTIONAL MATCH (u)-[e1:MANAGE_BY]->(m)
OPTIONAL MATCH (m)-[e2:MANAGE]->(u)
WITH u, m, e1 IS NOT NULL AND e2 IS NOT NULL AS had
MERGE (u)-[r1:MANAGE_BY]->(m)
MERGE (m)-[r2:MANAGE]->(u)
SET r1.published_tag = $tag, r1.publisher_last_updated_epoch_ms = timestamp(),
    r2.published_tag = $tag, r2.publisher_last_updated_epoch_ms = timestamp()
RETURN sum(CASE WHEN had THEN 0 ELSE 1 END) AS linked,
       sum(CASE WHEN had THEN 1 ELSE 0 END) AS kept`

// cypherGetUser is Amundsen metadata's get_user query, verbatim
// (neo4j_proxy.get_user): what the Amundsen UI will show for $user_id.
const cypherGetUser = `
MATCH (user:User {key: $user_id})
OPTIONAL MATCH (user)-[:MANAGE_BY]->(manager:User)
RETURN user as user_record, manager as manager_record`
