package neo4j

import (
	"strings"
	"testing"
)

// TestNewDialect: each supported version gets its database name and schema
// statements; older versions, and a database name on 3.5, are refused with
// a message naming the server's version.
func TestNewDialect(t *testing.T) {
	for _, c := range []struct {
		version, database string
		wantErr           string // substring; "" = accepted
		wantDB            string
		wantConstraint    string
		wantIndexes       string
		wantLegacyName    bool
	}{
		{version: "3.5.35", wantConstraint: cypherConstraintLegacy, wantIndexes: cypherSchema35},
		{version: "3.5.0", wantConstraint: cypherConstraintLegacy, wantIndexes: cypherSchema35},
		{version: "3.5.35", database: "neo4j", wantErr: `neo4j.database: Neo4j 3.5.35 serves one database and takes no database name: leave it empty (NEO4J_DATABASE), got "neo4j"`},
		{version: "3.4.18", wantErr: "the server is Neo4j 3.4.18, which oktasync does not support; supported are 3.5, 4.4 and 5.x"},
		{version: "2.3.12", wantErr: "Neo4j 2.3.12, which oktasync does not support"},
		{version: "4.0.12", database: "neo4j", wantErr: "Neo4j 4.0.12, which oktasync does not support"},
		{version: "4.1.13", wantErr: "Neo4j 4.1.13, which"},
		{version: "4.2.19", wantErr: "Neo4j 4.2.19, which oktasync does not support"},
		{version: "4.3.24", wantErr: "Neo4j 4.3.24, which oktasync does not support"},
		{version: "4.4.44", database: "neo4j", wantDB: "neo4j", wantConstraint: cypherConstraintLegacy, wantIndexes: cypherSchema, wantLegacyName: true},
		{version: "4.4.44", wantConstraint: cypherConstraintLegacy, wantIndexes: cypherSchema, wantLegacyName: true},
		{version: "5.26.30", database: "amundsen", wantDB: "amundsen", wantConstraint: cypherConstraint, wantIndexes: cypherSchema},
		{version: "5.27-aura", wantConstraint: cypherConstraint, wantIndexes: cypherSchema},
		{version: "2025.01.0", wantConstraint: cypherConstraint, wantIndexes: cypherSchema},
		{version: "", wantErr: `cannot read the server's version ""`},
		{version: "five", wantErr: `cannot read the server's version "five"`},
		{version: "x.4", wantErr: `cannot read the server's version "x.4"`},
	} {
		t.Run(c.version+"/"+c.database, func(t *testing.T) {
			d, err := newDialect(c.version, "community", c.database)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.database != c.wantDB || d.constraint != c.wantConstraint || d.onlineIndexes != c.wantIndexes || d.legacyName != c.wantLegacyName {
				t.Fatalf("dialect = db %q constraint %q indexes %q legacy %v; want %q %q %q %v",
					d.database, d.constraint, d.onlineIndexes, d.legacyName, c.wantDB, c.wantConstraint, c.wantIndexes, c.wantLegacyName)
			}
			if d.version != c.version || d.edition != "community" {
				t.Fatalf("version/edition = %q/%q", d.version, d.edition)
			}
		})
	}
}
