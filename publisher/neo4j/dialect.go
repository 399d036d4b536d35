package neo4j

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// dialect is what differs between the Neo4j versions the sink supports,
// chosen once per publisher from the server's own report of its version
// (dbms.components()). Every data statement is the same on all of them;
// what differs is the database name and the schema statements.
type dialect struct {
	// version and edition as the server reports them, e.g. "4.4.44", "community".
	version, edition string
	major            int
	// database is sent with every session: the configured one, or none on
	// 3.5, which serves one database and refuses any name.
	database string
	// The schema statements (see cypher.go).
	constraint, index, keyConstraint, onlineIndexes string
	// legacyName: the server may hold the constraint under the name older
	// oktasync versions gave it, which databuilder's own schema step does
	// not accept as equivalent (4.x); Prepare renames it.
	legacyName bool
}

// supportedVersions is what an unsupported server is told.
const supportedVersions = "3.5, 4.4 and 5.x (tested: 3.5.35, 4.4.44, 5.26.30)"

// newDialect chooses the dialect for a server of version and edition, and
// checks that database can be used there. database is the configured one;
// empty means the server's default database.
func newDialect(version, edition, database string) (*dialect, error) {
	major, minor, ok := parseVersion(version)
	if !ok {
		return nil, fmt.Errorf("cannot read the server's version %q; supported are %s", version, supportedVersions)
	}
	d := &dialect{version: version, edition: edition, major: major, database: database}
	switch {
	case major < 3 || major == 3 && minor < 5, major == 4 && minor < 4:
		return nil, fmt.Errorf("the server is Neo4j %s, which oktasync does not support; supported are %s", version, supportedVersions)
	case major == 3:
		if database != "" {
			return nil, fmt.Errorf("neo4j.database: Neo4j %s serves one database and takes no database name: leave it empty (NEO4J_DATABASE), got %q", version, database)
		}
		d.constraint, d.index = cypherConstraintLegacy, cypherOktaIDIndex35
		d.keyConstraint, d.onlineIndexes = cypherKeyConstraint35, cypherSchema35
	case major == 4:
		d.constraint, d.index = cypherConstraintLegacy, cypherOktaIDIndex
		d.keyConstraint, d.onlineIndexes = cypherKeyConstraint, cypherSchema
		d.legacyName = true
	default: // 5.x and the calendar versions after it (2025.01, ...)
		d.constraint, d.index = cypherConstraint, cypherOktaIDIndex
		d.keyConstraint, d.onlineIndexes = cypherKeyConstraint, cypherSchema
	}
	return d, nil
}

// parseVersion reads the major and minor numbers of a version such as
// "4.4.44", "5.26.0", "5.27-aura" or "2025.01.0".
func parseVersion(v string) (major, minor int, ok bool) {
	majorS, rest, found := strings.Cut(strings.TrimSpace(v), ".")
	if !found {
		return 0, 0, false
	}
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(majorS)
	minor, err2 = strconv.Atoi(rest[:end])
	return major, minor, err1 == nil && err2 == nil
}

// detectDialect asks the server for its version, in its default database
// (the one query every supported version answers without a database name),
// in a transaction bounded by timeout.
func detectDialect(ctx context.Context, d neo4j.DriverWithContext, database string, timeout neo4j.ExecuteQueryConfigurationOption) (*dialect, error) {
	res, err := neo4j.ExecuteQuery(ctx, d, cypherComponents, nil, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithReadersRouting(), timeout)
	if err != nil {
		return nil, fmt.Errorf("read the server's version: %w", err)
	}
	if len(res.Records) == 0 {
		return nil, fmt.Errorf("read the server's version: dbms.components() reported no Neo4j Kernel; supported are %s", supportedVersions)
	}
	version, _, _ := neo4j.GetRecordValue[string](res.Records[0], "version")
	edition, _, _ := neo4j.GetRecordValue[string](res.Records[0], "edition")
	dl, err := newDialect(version, edition, database)
	if err != nil {
		return nil, err
	}
	if dl.major >= 4 && dl.database == "" && res.Summary != nil && res.Summary.Database() != nil {
		// Name the default database from now on: through neo4j:// a
		// session without a name costs a lookup of the home database.
		dl.database = res.Summary.Database().Name()
	}
	return dl, nil
}
