package neo4j

// Every statement oktasync sends to Neo4j lives here. User data only ever
// travels as parameters.
//
// A /*hint:VAR:PROP*/ comment marks an index lookup. Once the schema is in
// place the publisher turns it into USING INDEX SEEK VAR:User(PROP): right after
// a bulk load the planner's statistics are stale and it may otherwise scan
// every user per row (seen: 6 s instead of 0.05 s per batch). Without the
// schema (a dry run on a fresh graph) the comment stays a comment.

// versionProperty is the version of the record the node was last written
// from (loader.Claim.Version: Okta's lastUpdated in ms), or the time a
// deactivation was observed. A write of an older record of the same user
// is refused. Nodes written before versions were recorded have none; their
// version is then updated_at in ms (versionOfU).
const versionProperty = "oktasync_version_epoch_ms"

// versionOfU is the version of node u, for statements that matched u by
// its okta_id (so updated_at is oktasync's integer).
const versionOfU = `coalesce(u.oktasync_version_epoch_ms, u.updated_at * 1000, 0)`

// Schema statements, by dialect (dialect.go). The uniqueness constraint on
// User.key is unnamed, so that it is the one databuilder's own schema step
// creates (CREATE CONSTRAINT ON (node:User) ASSERT node.key IS UNIQUE):
// Neo4j names an unnamed constraint after its schema, databuilder sees "an
// equivalent constraint already exists" and goes on, in either order.
const (
	// cypherComponents reads the server's version, on every version.
	cypherComponents = `CALL dbms.components() YIELD name, versions, edition
WHERE name = 'Neo4j Kernel'
RETURN versions[0] AS version, edition`

	// Neo4j 5.x: no ON ... ASSERT any more.
	cypherConstraint  = `CREATE CONSTRAINT IF NOT EXISTS FOR (node:User) REQUIRE node.key IS UNIQUE`
	cypherOktaIDIndex = `CREATE INDEX oktasync_user_okta_id IF NOT EXISTS FOR (u:User) ON (u.okta_id)`
	cypherAwait       = `CALL db.awaitIndexes(300)`
	// Neo4j 4.x and 5.x read the schema with SHOW.
	cypherKeyConstraint = `SHOW CONSTRAINTS YIELD type, labelsOrTypes, properties
WHERE type IN ['UNIQUENESS', 'NODE_KEY'] AND labelsOrTypes = ['User'] AND properties = ['key']
RETURN count(*) AS n`
	cypherSchema = `SHOW INDEXES YIELD labelsOrTypes, properties, state
WHERE labelsOrTypes = ['User'] AND size(properties) = 1 AND state = 'ONLINE'
RETURN properties[0] AS prop`

	// Neo4j 3.5 and 4.x: databuilder's own statement, word for word (4.x
	// answers EquivalentSchemaRuleAlreadyExists when it is there).
	cypherConstraintLegacy = `CREATE CONSTRAINT ON (node:User) ASSERT node.key IS UNIQUE`

	// Neo4j 4.x: the name oktasync gave the constraint before it followed
	// databuilder. databuilder's statement fails against it
	// (ConstraintAlreadyExists), so Prepare replaces it, in one transaction.
	cypherLegacyNamed = `SHOW CONSTRAINTS YIELD name WHERE name = 'oktasync_user_key' RETURN count(*) AS n`
	cypherDropLegacy  = `DROP CONSTRAINT oktasync_user_key IF EXISTS`

	// Neo4j 3.5: no names, no IF NOT EXISTS, no SHOW (a second CREATE
	// INDEX of the same index is a no-op).
	cypherOktaIDIndex35   = `CREATE INDEX ON :User(okta_id)`
	cypherKeyConstraint35 = `CALL db.constraints() YIELD description
WHERE description =~ '(?i)CONSTRAINT ON \\( *\\w+:User *\\) ASSERT \\(? *\\w+\\.key *\\)? IS (UNIQUE|NODE KEY)'
RETURN count(*) AS n`
	cypherSchema35 = `CALL db.indexes() YIELD tokenNames, properties, state
WHERE tokenNames = ['User'] AND size(properties) = 1 AND state = 'ONLINE'
RETURN properties[0] AS prop`
)

// Node upserts read first and write only what differs; which rows differ,
// and who holds a contested key, is decided in Go by the loader's rules
// (loader.Wins, loader.Supersedes), never here. Each write is guarded by
// what the read showed, and returns the rows whose guard failed (another
// batch of the run wrote them in between), to be decided again.

// cypherReadByKey reads the nodes holding the batch's keys, with their
// manager pairs ([key, okta_id] of each MANAGE_BY target, key of each
// MANAGE source). It only reads: an unchanged user costs one read and no
// write (reconciliation joins the ids the read returned, reconcile.go).
// $keys.
const cypherReadByKey = `
UNWIND $keys AS k
MATCH (u:User {key: k}) /*hint:u:key*/
RETURN u.key AS key, properties(u) AS props,
       [(u)-[:MANAGE_BY]->(m:User) | [m.key, m.okta_id]] AS by,
       [(x:User)-[:MANAGE]->(u) | x.key] AS mirror`

// cypherReadByID reads the nodes of the batch's Okta users, wherever their
// key is (a renamed user is still under the old one). $ids.
const cypherReadByID = `
UNWIND $ids AS id
MATCH (u:User {okta_id: id}) /*hint:u:okta_id*/
RETURN u.key AS key, properties(u) AS props`

// cypherRenameKeys moves nodes to their user's new key (the email changed):
// key and email move, every relationship stays, and the node gets the run
// metadata. Like an update, it is
// guarded by the row's user and version: a node another writer gave a newer
// record since the read stays where it is. $rows: [{from, to, email, id,
// at}], $tag.
const cypherRenameKeys = `
UNWIND $rows AS row
MATCH (old:User {key: row.from}) /*hint:old:key*/
WHERE old.okta_id = row.id AND coalesce(old.oktasync_version_epoch_ms, old.updated_at * 1000, 0) <= row.at
SET old.key = row.to, old.email = row.email,
    old.published_tag = $tag, old.publisher_last_updated_epoch_ms = timestamp()`

// cypherCreateNodes creates the users whose key the read found free. MERGE
// locks the key: a key another batch created meanwhile is returned raced.
// $rows: [{key, props, at}], $tag.
const cypherCreateNodes = `
UNWIND $rows AS row
MERGE (u:User {key: row.key})
WITH row, u, keys(u) = ['key'] AS created
FOREACH (_ IN CASE WHEN created THEN [1] ELSE [] END |
  SET u += row.props, u.published_tag = $tag, u.publisher_last_updated_epoch_ms = timestamp(),
      u.oktasync_version_epoch_ms = row.at)
WITH row, created WHERE NOT created
RETURN row.key AS raced`

// cypherLinkCreatedByID and cypherLinkCreatedByKey link users created by
// the same transaction (cypherCreateNodes) to their manager, when the
// manager is in the graph as exactly one node (perhaps created by the same
// statement before). A node created in this transaction has no edges, and
// no other writer sees it before the commit: the pair is created, not
// merged. The one guard is for a bare node another tool made with only a
// key, which the create statement takes for new: it may have edges. Users
// whose manager is not there yet are left to the manager pass. $rows:
// [{key, manager}], $tag.
const (
	cypherLinkCreatedByID = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE NOT (u)-[:MANAGE_BY]->() AND NOT ()-[:MANAGE]->(u)
MATCH (m:User {okta_id: row.manager}) /*hint:m:okta_id*/
WITH row, u, collect(m) AS ms WHERE size(ms) = 1
WITH row, u, ms[0] AS m` + cypherLinkCreatedPair
	cypherLinkCreatedByKey = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE NOT (u)-[:MANAGE_BY]->() AND NOT ()-[:MANAGE]->(u)
MATCH (m:User {key: row.manager}) /*hint:m:key*/` + cypherLinkCreatedPair
	cypherLinkCreatedPair = `
CREATE (u)-[r1:MANAGE_BY]->(m), (m)-[r2:MANAGE]->(u)
SET r1.published_tag = $tag, r1.publisher_last_updated_epoch_ms = timestamp(),
    r2.published_tag = $tag, r2.publisher_last_updated_epoch_ms = timestamp()
RETURN row.key AS linked, row.manager AS manager`
)

// cypherUpdateNodes writes the properties that changed (props holds only
// those), guarded by the holder the decision was made on and by never
// writing older data over newer of the same user (id and at are the row's
// okta_id and version). $rows: [{key, props, holder, id, at}], $tag.
const cypherUpdateNodes = `
UNWIND $rows AS row
OPTIONAL MATCH (u:User {key: row.key}) /*hint:u:key*/
WITH row, u, u IS NOT NULL AND coalesce(u.okta_id, '') = row.holder AND
     CASE WHEN u.okta_id = row.id THEN ` + versionOfU + ` <= row.at ELSE true END AS held
FOREACH (_ IN CASE WHEN held THEN [1] ELSE [] END |
  SET u += row.props, u.published_tag = $tag, u.publisher_last_updated_epoch_ms = timestamp(),
      u.oktasync_version_epoch_ms = row.at)
WITH row, held WHERE NOT held
RETURN row.key AS raced`

// cypherRefreshKeys, with neo4j.run_metadata: all, refreshes the publisher
// metadata of unchanged users, as databuilder refreshes it on every run.
// $keys, $tag.
const cypherRefreshKeys = `
UNWIND $keys AS k
MATCH (u:User {key: k}) /*hint:u:key*/
SET u.published_tag = $tag, u.publisher_last_updated_epoch_ms = timestamp()`

// cypherDeactivateIDs deactivates users Okta answered 404 for (event
// hooks), and records when Okta said so as their version, so that no
// record of them read before makes them active again. A node that records
// a newer version is left alone. $rows: [{id, at}], $tag.
const cypherDeactivateIDs = `
UNWIND $rows AS row
MATCH (u:User {okta_id: row.id}) /*hint:u:okta_id*/
WHERE ` + versionOfU + ` < row.at
WITH u, row, coalesce(u.is_active, true) AS was
SET u.is_active = false, u.oktasync_version_epoch_ms = row.at,
    u.published_tag = $tag,
    u.publisher_last_updated_epoch_ms = timestamp()
RETURN sum(CASE WHEN was THEN 1 ELSE 0 END) AS n`

// cypherServerTime is the run marker: the server's clock, so markers of
// runs from different machines compare correctly.
const cypherServerTime = `RETURN timestamp() AS now`

// cypherManagedPage reads the next page of managed users (with an
// okta_id; UI stubs and other extractors' users are never considered), in
// okta_id order, which the okta_id index serves: reconciliation
// merge-joins them against the ids the read returned (reconcile.go). It
// only reads, and returns one record: the list of [okta_id, key, active,
// version] in that order (a record per user cost more in Bolt than the
// read; a list keeps a null key in its place). $after, $limit.
const cypherManagedPage = `
MATCH (u:User) /*hint:u:okta_id*/
WHERE u.okta_id > $after
WITH u ORDER BY u.okta_id LIMIT $limit
RETURN collect([u.okta_id, u.key, coalesce(u.is_active, true), toInteger(` + versionOfU + `)]) AS users`

// cypherDeactivateUnseen deactivates managed users a complete read did not
// return, and records the read's start ($from) as their version: no record
// of them read before it makes them active again. A node whose version is
// at or after $from was written by someone who saw the user since: it is
// not stale. Not the read's end: a user the read missed although Okta has
// them (one reactivated between the plain and the DEPROVISIONED pass)
// changed during the read, so their next record is newer than $from and
// repairs the node. It only ever sets is_active and the version: users are
// never deleted, and their ownership, bookmark, usage and follow edges
// stay. $ids: [okta_id], $from, $tag.
const cypherDeactivateUnseen = `
UNWIND $ids AS id
MATCH (u:User {okta_id: id}) /*hint:u:okta_id*/
WHERE coalesce(u.is_active, true) = true AND ` + versionOfU + ` < $from
SET u.is_active = false, u.oktasync_version_epoch_ms = $from,
    u.published_tag = $tag,
    u.publisher_last_updated_epoch_ms = timestamp()
RETURN count(u) AS n`

// The sync state of one Okta org lives in a small node of its own label,
// which Amundsen never reads: org is the URL the org was last read
// through, org_id Okta's id for it (null in graphs synced before ids were
// recorded). A state is found by its id when the org's id is known ($id not
// null), else by its URL.
const cypherLoadState = `
MATCH (s:OktasyncState)
WHERE CASE WHEN $id IS NULL THEN s.org = $url ELSE s.org_id = $id END
RETURN s.watermark AS watermark, s.last_full_sync AS full, s.last_incremental_sync AS incr,
       s.reconcile_owed AS owed
LIMIT 1`

// cypherOweReconciliation records that a full reconciliation is owed,
// keeping the latest debt.
const cypherOweReconciliation = `
MATCH (s:OktasyncState)
SET s.reconcile_owed = CASE WHEN s.reconcile_owed IS NULL OR s.reconcile_owed < $at THEN $at ELSE s.reconcile_owed END
RETURN count(s) AS n`

// Each run sets only what it owns, and the watermark never moves back
// (fixed-width UTC strings compare correctly as text). The state is merged
// on the org's id when known (cypherSaveStateByID), else on its URL
// (cypherSaveStateByURL).
const (
	cypherSaveStateByID = `
MERGE (s:OktasyncState {org_id: $id})
SET s.org = $url,` + saveStateSet
	cypherSaveStateByURL = `
MERGE (s:OktasyncState {org: $url})
SET` + saveStateSet
	saveStateSet = `
    s.watermark = CASE WHEN s.watermark IS NULL OR s.watermark < $watermark THEN $watermark ELSE s.watermark END,
    s.last_full_sync = coalesce($full, s.last_full_sync),
    s.last_incremental_sync = coalesce($incr, s.last_incremental_sync),
    s.reconcile_owed = CASE WHEN s.reconcile_owed <= $reconciled THEN null ELSE s.reconcile_owed END,
    s.updated_epoch_ms = timestamp()`
)

// cypherOrgs lists the Okta orgs this graph holds sync state for.
const cypherOrgs = `MATCH (s:OktasyncState) RETURN s.org AS org, s.org_id AS id`

// cypherRehomeState moves the state stored under one org (as cypherOrgs
// listed it: by id, or by URL for a state without one) to another, with
// the state the job decided; it records where it came from.
const cypherRehomeState = `
MATCH (s:OktasyncState)
WHERE CASE WHEN $fromID IS NULL THEN s.org = $fromURL AND s.org_id IS NULL ELSE s.org_id = $fromID END
SET s.org = $url, s.org_id = $id,
    s.watermark = $watermark, s.last_full_sync = $full, s.last_incremental_sync = $incr,
    s.rehomed_from = $fromURL, s.rehomed_epoch_ms = timestamp(), s.updated_epoch_ms = timestamp()
RETURN count(s) AS n`

// cypherResolveOktaIDs maps Okta ids to keys. $ids: [okta_id].
const cypherResolveOktaIDs = `
UNWIND $ids AS id
MATCH (m:User {okta_id: id}) /*hint:m:okta_id*/
RETURN id, m.key AS key`

// cypherReadManagers reads each row's current pair: the keys its user's
// MANAGE_BY edges and MANAGE mirrors point at, and whether the wanted
// manager exists. SET u:User takes the node's write lock (it changes
// nothing: the node has the label), so the pair cannot change between
// this read and the writes of the same transaction: two writers deciding
// one user's pair take turns. Only the node the row's Okta user holds counts
// (u.okta_id = row.id); rows of other nodes come back empty-handed and are
// left alone. $rows: [{key, id, manager}].
const cypherReadManagers = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE u.okta_id = row.id
SET u:User
WITH row, u
OPTIONAL MATCH (u)-[:MANAGE_BY]->(m:User)
WITH row, u, collect(m.key) AS by
OPTIONAL MATCH (x:User)-[:MANAGE]->(u)
WITH row, u, by, collect(x.key) AS mirror
OPTIONAL MATCH (w:User {key: row.manager}) /*hint:w:key*/
RETURN row, by, mirror, w IS NOT NULL AS exists, ` + versionOfU + ` AS at`

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
// Only rows whose read showed the pair incomplete come here, so what was
// linked and what kept is known without reading again.
// $rows: [{key, id, manager}] with manager non-null.
const cypherLink = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE u.okta_id = row.id
MATCH (m:User {key: row.manager}) /*hint:m:key*/
MERGE (u)-[r1:MANAGE_BY]->(m)
MERGE (m)-[r2:MANAGE]->(u)
SET r1.published_tag = $tag, r1.publisher_last_updated_epoch_ms = timestamp(),
    r2.published_tag = $tag, r2.publisher_last_updated_epoch_ms = timestamp()
RETURN count(*) AS linked`

// cypherLinkNewByID and cypherLinkNewByKey link, without reading first,
// users that have no pair at all yet: in a first sync, nearly every user.
// The guards skip rows the read path must decide: the node is the row's
// Okta user's, holds no newer record (as in cypherReadManagers), has no
// MANAGE_BY edge and no MANAGE edge pointing at it (so nothing is to be
// unlinked), and the manager is exactly one node. They are read before
// any lock, so another writer may change the node before the MERGE; each
// linked row therefore checks again that its user has one pair and no
// newer record (ok). A MERGE that creates the pair holds the user's lock
// until commit, so that check sees every other writer's committed work
// and none can follow; a MERGE that found the pair already made wrote
// nothing. A row that is not ok means a conflict (another writer, or two
// rows of one user naming different managers): the caller rolls the
// transaction back and decides the batch on the read path instead (see
// errLinkRaced). A row whose guard fails writes
// nothing and is not returned. $rows: [{i, key, id, at, manager}], $tag;
// each linked row returns its i.
const cypherLinkNewByID = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE CASE WHEN u.okta_id = row.id THEN row.at = 0 OR ` + versionOfU + ` <= row.at ELSE false END
  AND NOT (u)-[:MANAGE_BY]->() AND NOT ()-[:MANAGE]->(u)
MATCH (m:User {okta_id: row.manager}) /*hint:m:okta_id*/
WITH row, u, collect(m) AS ms WHERE size(ms) = 1
WITH row, u, ms[0] AS m` + cypherLinkNewPair

const cypherLinkNewByKey = `
UNWIND $rows AS row
MATCH (u:User {key: row.key}) /*hint:u:key*/
WHERE CASE WHEN u.okta_id = row.id THEN row.at = 0 OR ` + versionOfU + ` <= row.at ELSE false END
  AND NOT (u)-[:MANAGE_BY]->() AND NOT ()-[:MANAGE]->(u)
MATCH (m:User {key: row.manager}) /*hint:m:key*/` + cypherLinkNewPair

// cypherLinkNewPair ends both: MERGE rather than CREATE, so a retried or
// repeated row never makes a second pair of the same manager. The check
// uses pattern comprehensions, valid on Neo4j 4.4 as on 5.
const cypherLinkNewPair = `
MERGE (u)-[r1:MANAGE_BY]->(m)
  ON CREATE SET r1.published_tag = $tag, r1.publisher_last_updated_epoch_ms = timestamp()
MERGE (m)-[r2:MANAGE]->(u)
  ON CREATE SET r2.published_tag = $tag, r2.publisher_last_updated_epoch_ms = timestamp()
WITH row, u
RETURN row.i AS linked,
       size([(u)-[:MANAGE_BY]->() | 1]) = 1 AND size([()-[:MANAGE]->(u) | 1]) = 1
         AND (row.at = 0 OR ` + versionOfU + ` <= row.at) AS ok`

// cypherGetUser is Amundsen metadata's get_user query, verbatim
// (neo4j_proxy.get_user): what the Amundsen UI will show for $user_id.
const cypherGetUser = `
MATCH (user:User {key: $user_id})
OPTIONAL MATCH (user)-[:MANAGE_BY]->(manager:User)
RETURN user as user_record, manager as manager_record`

// Case-variant stubs: a :User without okta_id whose key is a synced user's
// key but for case (oktasync's keys are lowercase; Amundsen's frontend keys
// a stub by the sign-in email verbatim) is merged into the synced user's
// node by a full sync. These statements are valid on Neo4j 3.5, 4.4 and 5:
// no APOC, no subqueries, id() rather than elementId(). Nodes and
// relationships are named by id() only inside the transaction that read
// them, with the stub and its user locked.

// cypherStubCount counts the stubs to merge. A key that is not a string
// (another tool's node) is no stub: the CASE keeps toLower from failing on
// it, whatever order the planner evaluates predicates in.
const cypherStubCount = `
MATCH (stub:User)
WHERE stub.okta_id IS NULL AND CASE WHEN stub.key STARTS WITH '' THEN stub.key <> toLower(stub.key) ELSE false END
MATCH (u:User {key: toLower(stub.key)}) /*hint:u:key*/
WHERE u.okta_id IS NOT NULL
RETURN count(stub) AS stubs, collect(stub.key + ' -> ' + u.key)[0..5] AS examples`

// cypherSyncedCount counts the synced users, for the stub merge's cap.
const cypherSyncedCount = `
MATCH (u:User) WHERE u.okta_id IS NOT NULL
RETURN count(u) AS synced`

// cypherStubsNext takes up to $limit stubs to merge, but those in $skip
// (ids of stubs left alone), and locks each stub and its user (SET of a
// label the node has changes nothing but takes the write lock), so neither
// changes before the merge commits; the pair is checked again under the
// locks (a concurrent rename may have moved the key meanwhile; such a stub
// is left to a later round or run, with its new user). $limit, $skip.
const cypherStubsNext = `
MATCH (stub:User)
WHERE stub.okta_id IS NULL AND CASE WHEN stub.key STARTS WITH '' THEN stub.key <> toLower(stub.key) ELSE false END AND NOT id(stub) IN $skip
MATCH (u:User {key: toLower(stub.key)}) /*hint:u:key*/
WHERE u.okta_id IS NOT NULL
WITH stub, u ORDER BY stub.key LIMIT $limit
SET stub:User, u:User
WITH stub, u WHERE stub.okta_id IS NULL AND u.okta_id IS NOT NULL AND u.key = toLower(stub.key)
RETURN id(stub) AS stub, stub.key AS stubKey, properties(stub) AS stubProps,
       id(u) AS user, u.key AS userKey, properties(u) AS userProps`

// cypherStubRelationships reads every relationship of the stubs, both
// directions: a relationship between two of them comes back twice. $stubs:
// [id].
const cypherStubRelationships = `
UNWIND $stubs AS s
MATCH (stub)-[r]->(other) WHERE id(stub) = s
RETURN id(r) AS rel, type(r) AS type, id(stub) AS start, id(other) AS end, properties(r) AS props
UNION ALL
UNWIND $stubs AS s
MATCH (other)-[r]->(stub) WHERE id(stub) = s
RETURN id(r) AS rel, type(r) AS type, id(other) AS start, id(stub) AS end, properties(r) AS props`

// cypherStubMoveEnds finds, for each relationship to move, the nodes its
// copy joins: the user in place of a stub end (startUser, endUser: the
// user's id, or null to keep that end).
const cypherStubMoveEnds = `
UNWIND $rows AS row
MATCH (s)-[old]->(e) WHERE id(old) = row.rel
OPTIONAL MATCH (su) WHERE id(su) = row.startUser
OPTIONAL MATCH (eu) WHERE id(eu) = row.endUser
WITH row, old, coalesce(su, s) AS a, coalesce(eu, e) AS b`

// cypherStubExisting reads the properties of the relationships the user
// already has of the same type to the same node. $rows: [{rel, type,
// startUser, endUser}].
const cypherStubExisting = cypherStubMoveEnds + `
MATCH (a)-[r]->(b) WHERE type(r) = row.type
RETURN row.rel AS rel, properties(r) AS props`

// cypherStubMove returns the statement that moves the stubs' relationships
// of one type: MERGE keeps one relationship of the type between the same
// two nodes, props holds the stub's properties it lacks (all of them for a
// new one), and the stub's relationship is deleted. Relationship types
// cannot be parameters: relType must have passed validRelType, and is
// backtick-quoted. $rows: [{rel, startUser, endUser, props}].
func cypherStubMove(relType string) string {
	return cypherStubMoveEnds + `
MERGE (a)-[r:` + "`" + relType + "`" + `]->(b)
SET r += row.props
DELETE old
RETURN count(*) AS moved`
}

// cypherStubDelete copies the stub properties the user lacks (props, chosen
// in Go), stamps the user with the run metadata and deletes the stub with a
// plain DELETE, never DETACH DELETE: if a relationship is left on it, the
// transaction fails and nothing is lost. $rows: [{stub, user, props}], $tag.
const cypherStubDelete = `
UNWIND $rows AS row
MATCH (stub:User) WHERE id(stub) = row.stub AND stub.okta_id IS NULL
MATCH (u:User) WHERE id(u) = row.user AND u.okta_id IS NOT NULL AND u.key = toLower(stub.key)
SET u += row.props, u.published_tag = $tag, u.publisher_last_updated_epoch_ms = timestamp()
DELETE stub
RETURN count(*) AS merged`

// People-search documents (search.go) are read as databuilder's search
// extractor reads them (databuilder task/search/search_data_queries.py,
// NEO4J_USER_CYPHER_QUERY with DEFAULT_USER_QUERY's usage): only users with
// a full_name; key is the user's email; the usage counts come from READ,
// OWNER_OF and FOLLOWED_BY, the manager's email through MANAGE_BY.
//
// databuilder chains its OPTIONAL MATCHes, so its sum of read_count is
// taken over the product of a user's READ, OWNER_OF and FOLLOWED_BY rows:
// total_read is the true sum times the number of OWNER_OF and of
// FOLLOWED_BY rows (each at least one). The documents must be the same, so
// searchTail counts each kind on its own, without the product, and
// multiplies the same way.
const searchTail = `
OPTIONAL MATCH (u)-[read:READ]->()
WITH u, sum(read.read_count) AS reads
OPTIONAL MATCH (u)-[own:OWNER_OF]->(b)
WITH u, reads, count(DISTINCT b) AS owns, count(own) AS ownRows
OPTIONAL MATCH (u)-[follow:FOLLOWED_BY]->(c)
WITH u, reads, owns, ownRows, count(DISTINCT c) AS follows, count(follow) AS followRows
OPTIONAL MATCH (u)-[:MANAGE_BY]->(manager)
RETURN u.key AS k, u.okta_id AS id, u.email AS key, u.full_name AS name, u.first_name AS first_name,
       u.last_name AS last_name, u.github_username AS github_username, u.team_name AS team_name,
       u.employee_type AS employee_type, manager.email AS manager_email, u.slack_id AS slack_id,
       u.is_active AS is_active, u.role_name AS role_name,
       reads, CASE WHEN ownRows > 1 THEN ownRows ELSE 1 END * CASE WHEN followRows > 1 THEN followRows ELSE 1 END AS readFactor,
       owns, follows`

const (
	// cypherSearchPageEnd is where the next page of users after a key
	// ends: the largest of the next $limit keys, with or without a
	// full_name (the key's uniqueness index serves the order).
	cypherSearchPageEnd = `MATCH (u:User) /*hint:u:key*/ WHERE u.key > $after
WITH u.key AS k ORDER BY k LIMIT $limit
RETURN max(k) AS last, count(k) AS n`
	// cypherSearchPage reads the documents of the users between two keys
	// (the page cypherSearchPageEnd delimited, plus any user created in it
	// since: bounded by keys, not by a count, so that none is skipped).
	cypherSearchPage = `MATCH (u:User) /*hint:u:key*/ WHERE u.key > $after AND u.key <= $last AND u.full_name IS NOT NULL
WITH u` + searchTail + `
ORDER BY k`
	// cypherSearchUsers reads the documents of the users with these keys
	// or source ids, and of their direct reports.
	cypherSearchUsers = `OPTIONAL MATCH (a:User) /*hint:a:key*/ WHERE a.key IN $keys
WITH collect(a) AS byKey
OPTIONAL MATCH (b:User) /*hint:b:okta_id*/ WHERE b.okta_id IN $ids
WITH byKey, collect(b) AS byID
UNWIND byKey + byID AS x
OPTIONAL MATCH (r:User)-[:MANAGE_BY]->(x)
WITH collect(DISTINCT x) AS xs, collect(DISTINCT r) AS rs
UNWIND xs + rs AS u
WITH DISTINCT u WHERE u.full_name IS NOT NULL` + searchTail + `
ORDER BY k`
	// cypherClock is the server's clock, as timestamp() stamps writes.
	cypherClock = `RETURN timestamp() AS now`
	// cypherChangedSince lists the users whose node or manager edge was
	// written since a time (publisher_last_updated_epoch_ms, which every
	// write of a user, deactivations included, and of a manager edge sets).
	cypherChangedSince = `MATCH (u:User) WHERE u.publisher_last_updated_epoch_ms >= $since
RETURN u.key AS key LIMIT $limit
UNION
MATCH (u:User)-[r:MANAGE_BY]->() WHERE r.publisher_last_updated_epoch_ms >= $since
RETURN u.key AS key LIMIT $limit`
)
