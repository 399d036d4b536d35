package neo4j

// Every statement oktasync sends to Neo4j lives here. User data only ever
// travels as parameters.
//
// A /*hint:VAR:PROP*/ comment marks an index lookup. Once the schema is in
// place the publisher turns it into USING INDEX SEEK VAR:User(PROP): right after
// a bulk load the planner's statistics are stale and it may otherwise scan
// every user per row (seen: 6 s instead of 0.05 s per batch). Without the
// schema (a dry run on a fresh graph) the comment stays a comment.

// Schema statements valid on Neo4j 4.4 and 5.x. An equivalent constraint
// that databuilder created under another name is accepted (see Prepare).
const (
	cypherConstraint    = `CREATE CONSTRAINT oktasync_user_key IF NOT EXISTS FOR (u:User) REQUIRE u.key IS UNIQUE`
	cypherOktaIDIndex   = `CREATE INDEX oktasync_user_okta_id IF NOT EXISTS FOR (u:User) ON (u.okta_id)`
	cypherAwait         = `CALL db.awaitIndexes(300)`
	cypherKeyConstraint = `SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties
WHERE type IN ['UNIQUENESS', 'NODE_KEY'] AND labelsOrTypes = ['User'] AND properties = ['key']
RETURN count(*) AS n`
	cypherSchema = `SHOW INDEXES YIELD labelsOrTypes, properties, state
WHERE labelsOrTypes = ['User'] AND size(properties) = 1 AND state = 'ONLINE'
RETURN properties[0] AS prop`
)

// cypherRename renames users in place whose source id is already in the
// graph under another key (their email changed): key and email move, every
// relationship stays. When another node already holds the new key, both are
// left untouched and the row is reported as a conflict.
// $rows: [{key, props}].
const cypherRename = `
UNWIND $rows AS row
MATCH (old:User {okta_id: row.props.okta_id}) /*hint:old:okta_id*/
WHERE old.key <> row.key AND coalesce(old.updated_at, 0) <= row.props.updated_at
OPTIONAL MATCH (clash:User {key: row.key}) /*hint:clash:key*/
WITH row, old, old.key AS from, clash IS NOT NULL AS conflict
FOREACH (_ IN CASE WHEN conflict THEN [] ELSE [1] END |
  SET old.key = row.key, old.email = row.props.email)
RETURN row.props.okta_id AS id, from, row.key AS to, conflict`

// cypherUpsertNodes merges one batch of users on key. User properties are
// written only when one differs; the publisher metadata and the run marker
// are refreshed on every node, as databuilder refreshes its metadata, so
// Amundsen's staleness task never takes a synced user for stale and
// reconciliation knows who was seen.
//
// Data older than what the node holds for the same Okta user (a page read
// before a hook or another run wrote a newer change) never overwrites it.
//
// MERGE comes first: it locks the key, so a concurrent batch writing the
// same key is seen as the holder once it commits, not missed.
//
// A key held by a node of another source user is contested: the row wins
// if it is active and the holder is not, then if it was updated later, then
// by the smaller source id; a losing row is not written.
// $rows: [{key, props}], $tag: published_tag, $run: the run marker.
const cypherUpsertNodes = `
UNWIND $rows AS row
MERGE (u:User {key: row.key})
WITH row, u, keys(u) = ['key'] AS created, u.okta_id AS holder, u.is_active AS was, u.updated_at AS heldAt
WITH row, u, created, was, holder,
     holder IS NOT NULL AND holder <> row.props.okta_id AND (
       (coalesce(was, true) = true AND row.props.is_active = false) OR
       (coalesce(was, true) = row.props.is_active AND (
          coalesce(heldAt, 0) > row.props.updated_at OR
          (coalesce(heldAt, 0) = row.props.updated_at AND holder < row.props.okta_id)))
     ) AS loses,
     (created OR size([k IN keys(row.props) WHERE u[k] IS NULL OR u[k] <> row.props[k]]) > 0)
       AND NOT (holder = row.props.okta_id AND coalesce(heldAt, 0) > row.props.updated_at) AS changed
FOREACH (_ IN CASE WHEN loses THEN [] ELSE [1] END |
  SET u.published_tag = $tag,
      u.publisher_last_updated_epoch_ms = timestamp(),
      u.oktasync_seen_epoch_ms = CASE WHEN coalesce(u.oktasync_seen_epoch_ms, 0) > $run
                                      THEN u.oktasync_seen_epoch_ms ELSE $run END
  FOREACH (__ IN CASE WHEN changed THEN [1] ELSE [] END | SET u += row.props))
WITH row, was, holder, loses, created, changed AND NOT created AND NOT loses AS updated
RETURN sum(CASE WHEN created THEN 1 ELSE 0 END) AS created,
       sum(CASE WHEN updated THEN 1 ELSE 0 END) AS updated,
       sum(CASE WHEN NOT loses AND NOT created AND NOT updated THEN 1 ELSE 0 END) AS unchanged,
       sum(CASE WHEN updated AND was = false AND row.props.is_active = true THEN 1 ELSE 0 END) AS reactivated,
       sum(CASE WHEN updated AND coalesce(was, true) = true AND row.props.is_active = false THEN 1 ELSE 0 END) AS deactivated,
       sum(CASE WHEN loses THEN 1 ELSE 0 END) AS conflicts,
       collect(CASE WHEN created THEN row.key END)[0..5] AS exCreated,
       collect(CASE WHEN updated THEN row.key END)[0..5] AS exUpdated,
       collect(CASE WHEN updated AND was = false AND row.props.is_active = true THEN row.key END)[0..5] AS exReactivated,
       collect(CASE WHEN updated AND coalesce(was, true) = true AND row.props.is_active = false THEN row.key END)[0..5] AS exDeactivated,
       collect(CASE WHEN loses THEN row.key + ' (okta ' + row.props.okta_id + ' loses to ' + holder + ')' END)[0..5] AS exConflicts`

// The run marker never moves back: a long-lived publisher (the hook
// worker) must not make a user look unseen to a concurrent full sync.

// cypherMarkSeen marks users the source returned but the run did not
// write (skipped, or in conflict) as seen, so reconciliation leaves them.
// $ids: [okta_id], $run.
const cypherMarkSeen = `
UNWIND $ids AS id
MATCH (u:User {okta_id: id}) /*hint:u:okta_id*/
SET u.oktasync_seen_epoch_ms = CASE WHEN coalesce(u.oktasync_seen_epoch_ms, 0) > $run
                                    THEN u.oktasync_seen_epoch_ms ELSE $run END
RETURN count(u) AS n`

// cypherDeactivateIDs deactivates users Okta answered 404 for (event
// hooks). $ids: [okta_id], $tag.
const cypherDeactivateIDs = `
UNWIND $ids AS id
MATCH (u:User {okta_id: id}) /*hint:u:okta_id*/
WHERE coalesce(u.is_active, true) = true
SET u.is_active = false,
    u.published_tag = $tag,
    u.publisher_last_updated_epoch_ms = timestamp()
RETURN count(u) AS n`

// cypherServerTime is the run marker: the server's clock, so markers of
// runs from different machines compare correctly.
const cypherServerTime = `RETURN timestamp() AS now`

// cypherStale counts the active managed users a complete read did not see.
// Nodes without okta_id (UI stubs, other extractors) are never considered.
const cypherStale = `
MATCH (u:User)
WHERE u.okta_id IS NOT NULL AND coalesce(u.is_active, true) = true
WITH u, coalesce(u.oktasync_seen_epoch_ms, 0) < $run AS stale
RETURN count(u) AS managed,
       sum(CASE WHEN stale THEN 1 ELSE 0 END) AS stale,
       collect(CASE WHEN stale THEN u.key END)[0..5] AS examples`

// cypherDeactivateStale deactivates up to $limit unseen managed users. It
// only ever sets is_active: users are never deleted, and their ownership,
// bookmark, usage and follow edges stay.
const cypherDeactivateStale = `
MATCH (u:User)
WHERE u.okta_id IS NOT NULL AND coalesce(u.is_active, true) = true
  AND coalesce(u.oktasync_seen_epoch_ms, 0) < $run
WITH u LIMIT $limit
SET u.is_active = false,
    u.published_tag = $tag,
    u.publisher_last_updated_epoch_ms = timestamp()
RETURN count(u) AS n`

// cypherLoadState and cypherSaveState keep the sync state of one Okta org
// in a small node of its own label, which Amundsen never reads.
const cypherLoadState = `
MATCH (s:OktasyncState {org: $org})
RETURN s.watermark AS watermark, s.last_full_sync AS full, s.last_incremental_sync AS incr`

// Each run sets only what it owns, and the watermark never moves back
// (fixed-width UTC strings compare correctly as text).
const cypherSaveState = `
MERGE (s:OktasyncState {org: $org})
SET s.watermark = CASE WHEN s.watermark IS NULL OR s.watermark < $watermark THEN $watermark ELSE s.watermark END,
    s.last_full_sync = coalesce($full, s.last_full_sync),
    s.last_incremental_sync = coalesce($incr, s.last_incremental_sync),
    s.updated_epoch_ms = timestamp()`

// cypherOrgs lists the Okta orgs this graph holds sync state for.
const cypherOrgs = `MATCH (s:OktasyncState) RETURN s.org AS org`

// cypherResolveOktaIDs maps Okta ids to keys. $ids: [okta_id].
const cypherResolveOktaIDs = `
UNWIND $ids AS id
MATCH (m:User {okta_id: id}) /*hint:m:okta_id*/
RETURN id, m.key AS key`

// cypherUnlinkStale removes MANAGE_BY edges that no longer match the user's
// manager, and their MANAGE mirror. $rows: [{key, id, manager}], manager
// may be null. Every manager statement only touches the node the row's
// Okta user holds (u.okta_id = row.id): a user whose write was refused (a
// key conflict) never changes the manager of the user holding the key.
const cypherUnlinkStale = `
UNWIND $rows AS row
MATCH (u:User {key: row.key})-[r:MANAGE_BY]->(m:User) /*hint:u:key*/
WHERE u.okta_id = row.id AND (row.manager IS NULL OR m.key <> row.manager)
OPTIONAL MATCH (m)-[r2:MANAGE]->(u)
WITH r, r2, u.key + ' (was ' + m.key + ')' AS ex
DELETE r, r2
RETURN count(DISTINCT r) AS removed, collect(DISTINCT ex)[0..5] AS examples`

// cypherUnlinkStaleMirror removes MANAGE edges pointing at the user from
// anyone but the current manager (left behind by other writers).
const cypherUnlinkStaleMirror = `
UNWIND $rows AS row
MATCH (m:User)-[r:MANAGE]->(u:User {key: row.key}) /*hint:u:key*/
WHERE u.okta_id = row.id AND (row.manager IS NULL OR m.key <> row.manager)
DELETE r
RETURN count(r) AS removed`

// cypherLink ensures (u)-[:MANAGE_BY]->(m) and (m)-[:MANAGE]->(u), each
// merged on its own so a half-present pair is completed, not duplicated.
// $rows: [{key, id, manager}] with manager non-null.
const cypherLink = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE u.okta_id = row.id
MATCH (m:User {key: row.manager}) /*hint:m:key*/
OPTIONAL MATCH (u)-[e1:MANAGE_BY]->(m)
OPTIONAL MATCH (m)-[e2:MANAGE]->(u)
WITH u, m, e1 IS NOT NULL AND e2 IS NOT NULL AS had
MERGE (u)-[r1:MANAGE_BY]->(m)
MERGE (m)-[r2:MANAGE]->(u)
SET r1.published_tag = $tag, r1.publisher_last_updated_epoch_ms = timestamp(),
    r2.published_tag = $tag, r2.publisher_last_updated_epoch_ms = timestamp()
RETURN sum(CASE WHEN had THEN 0 ELSE 1 END) AS linked,
       sum(CASE WHEN had THEN 1 ELSE 0 END) AS kept,
       collect(CASE WHEN had THEN null ELSE u.key + ' -> ' + m.key END)[0..5] AS examples`

// cypherGetUser is Amundsen metadata's get_user query, verbatim
// (neo4j_proxy.get_user): what the Amundsen UI will show for $user_id.
const cypherGetUser = `
MATCH (user:User {key: $user_id})
OPTIONAL MATCH (user)-[:MANAGE_BY]->(manager:User)
RETURN user as user_record, manager as manager_record`
