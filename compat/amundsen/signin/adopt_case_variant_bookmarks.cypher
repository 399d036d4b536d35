// One-off clean-up after switching to OktasyncOidcConfig (README: "Amundsen and Okta sign-in").
// The stock OidcConfig signed mixed-case users in as their email verbatim, so their bookmarks
// made bare :User stubs keyed John.Smith@Acme.com beside oktasync's john.smith@acme.com. This
// moves each such stub's bookmarks (FOLLOW and Amundsen's reverse FOLLOWED_BY) onto the synced
// user and deletes the stub. Stubs with any other relationship are left alone. Idempotent.
MATCH (stub:User)
WHERE stub.okta_id IS NULL AND stub.key <> toLower(stub.key)
  AND NOT EXISTS { MATCH (stub)-[r]-() WHERE NOT type(r) IN ['FOLLOW', 'FOLLOWED_BY'] }
MATCH (user:User {key: toLower(stub.key)})
WHERE user.okta_id IS NOT NULL
OPTIONAL MATCH (stub)-[:FOLLOW]->(resource)
WITH stub, user, collect(resource) AS resources
FOREACH (r IN resources | MERGE (user)-[:FOLLOW]->(r) MERGE (r)-[:FOLLOWED_BY]->(user))
DETACH DELETE stub
RETURN count(*) AS adopted
