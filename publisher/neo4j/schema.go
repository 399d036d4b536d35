package neo4j

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// schemaState is what the publisher knows of the schema.
type schemaState struct {
	hinted   atomic.Bool // the User.key and okta_id indexes are online: hints are safe
	prepared atomic.Bool // Prepare succeeded; the schema need not be checked again
}

// Prepare makes sure of the User.key uniqueness constraint and the okta_id
// index, in the server's dialect. It reads the schema first and creates
// only what is missing, each in its own transaction: a schema statement
// waits for every open write transaction on the server (on 3.5 even when
// the constraint exists), so a run never sends one needlessly. The
// constraint is the one databuilder's schema step creates; one databuilder
// already created is equivalent and accepted.
func (p *Publisher) Prepare(ctx context.Context) error {
	if p.cfg.DryRun || p.schema.prepared.Load() {
		return nil // a dry run's schema statements could not share its transaction
	}
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	d, err := p.tx.server(ctx)
	if err != nil {
		return err
	}
	if d.legacyName {
		if err := p.renameLegacyConstraint(ctx, d); err != nil {
			return err
		}
	}
	unique, err := p.keyConstraint(ctx, d)
	if err != nil {
		return err
	}
	indexed, err := p.onlineIndexes(ctx, d)
	if err != nil {
		return err
	}
	var missing []string
	if !unique {
		missing = append(missing, d.constraint)
	}
	if !indexed["okta_id"] {
		missing = append(missing, d.index)
	}
	for _, stmt := range missing {
		_, err := p.query(ctx, d, schemaBuildTimeout(p.tx.timeout), stmt)
		if err != nil && !equivalentSchema(err) {
			return fmt.Errorf("create schema (%s): %w", firstLine(stmt), err)
		}
	}
	if len(missing) > 0 {
		if _, err := p.query(ctx, d, schemaBuildTimeout(p.tx.timeout), cypherAwait); err != nil {
			return fmt.Errorf("wait for indexes: %w", err)
		}
		// A plain index on :User(key) blocks the constraint with an error
		// that reads like "already exists": check that uniqueness really
		// holds, or concurrent writers could create two nodes for one key.
		if unique, err = p.keyConstraint(ctx, d); err != nil {
			return err
		}
		if indexed, err = p.onlineIndexes(ctx, d); err != nil {
			return err
		}
	}
	if !unique {
		return errors.New("no uniqueness constraint on :User(key): drop the plain index on :User(key) " +
			"(SHOW INDEXES, or CALL db.indexes() on 3.5) so that oktasync can create it; without it concurrent writers could create two nodes for one user")
	}
	p.schema.hinted.Store(indexed["key"] && indexed["okta_id"])
	p.schema.prepared.Store(true)
	return nil
}

// keyConstraint reports whether a uniqueness (or node key) constraint holds
// on User.key.
func (p *Publisher) keyConstraint(ctx context.Context, d *dialect) (bool, error) {
	res, err := p.query(ctx, d, p.tx.timeout, d.keyConstraint, neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return false, fmt.Errorf("read constraints: %w", err)
	}
	return intValue(res.Records[0], "n") > 0, nil
}

// onlineIndexes returns the User properties with an online single-property
// index (a constraint's included).
func (p *Publisher) onlineIndexes(ctx context.Context, d *dialect) (map[string]bool, error) {
	res, err := p.query(ctx, d, p.tx.timeout, d.onlineIndexes, neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return nil, fmt.Errorf("read schema: %w", err)
	}
	found := map[string]bool{}
	for _, rec := range res.Records {
		prop, _, _ := neo4j.GetRecordValue[string](rec, "prop")
		found[prop] = true
	}
	return found, nil
}

// renameLegacyConstraint replaces the constraint older versions created as
// oktasync_user_key by the unnamed one databuilder accepts. Neo4j refuses
// both in one transaction, so uniqueness lapses between the two for a
// moment, once per graph: Prepare runs before the run writes anything.
func (p *Publisher) renameLegacyConstraint(ctx context.Context, d *dialect) error {
	res, err := p.query(ctx, d, p.tx.timeout, cypherLegacyNamed, neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return fmt.Errorf("read constraints: %w", err)
	}
	if intValue(res.Records[0], "n") == 0 {
		return nil
	}
	for _, stmt := range []string{cypherDropLegacy, d.constraint} {
		_, err := p.query(ctx, d, schemaBuildTimeout(p.tx.timeout), stmt)
		if err != nil && !equivalentSchema(err) {
			return fmt.Errorf("replace constraint oktasync_user_key by databuilder's (%s): %w", firstLine(stmt), err)
		}
	}
	p.log.Info("replaced constraint oktasync_user_key by the unnamed one databuilder creates, so that databuilder's publishers accept it")
	return nil
}

// detectSchema turns index hints on when the User.key and User.okta_id
// indexes are online.
func (p *Publisher) detectSchema(ctx context.Context) error {
	d, err := p.tx.server(ctx)
	if err != nil {
		return err
	}
	indexed, err := p.onlineIndexes(ctx, d)
	if err != nil {
		return err
	}
	p.schema.hinted.Store(indexed["key"] && indexed["okta_id"])
	return nil
}

// q expands the index hints of stmt when the schema allows them.
func (p *Publisher) q(stmt string) string { return expandHints(stmt, p.schema.hinted.Load()) }

func equivalentSchema(err error) bool {
	var ne *neo4j.Neo4jError
	if !errors.As(err, &ne) {
		return false
	}
	switch ne.Code {
	case "Neo.ClientError.Schema.EquivalentSchemaRuleAlreadyExists",
		"Neo.ClientError.Schema.ConstraintAlreadyExists",
		"Neo.ClientError.Schema.IndexAlreadyExists":
		return true
	}
	return false
}

// query runs one statement without parameters in d's database, in a
// managed transaction bounded by timeout.
func (p *Publisher) query(ctx context.Context, d *dialect, timeout time.Duration, stmt string, opts ...neo4j.ExecuteQueryConfigurationOption) (*neo4j.EagerResult, error) {
	began := time.Now()
	opts = append([]neo4j.ExecuteQueryConfigurationOption{dbOpt(d),
		neo4j.ExecuteQueryWithTransactionConfig(neo4j.WithTxTimeout(timeout))}, opts...)
	res, err := neo4j.ExecuteQuery(ctx, p.driver, stmt, nil, neo4j.EagerResultTransformer, opts...)
	return res, timedOut(err, timeout, time.Since(began))
}

// schemaBuildTimeout bounds a statement that builds an index: creating
// the constraint or the index fills it from every :User on some versions,
// and cypherAwait waits up to 300 s for that, longer than a transaction
// of the sink ever needs. Prepare sends them only when the graph lacks
// them, once.
func schemaBuildTimeout(timeout time.Duration) time.Duration { return max(timeout, 310*time.Second) }

// dbOpt sends a query to the dialect's database.
func dbOpt(d *dialect) neo4j.ExecuteQueryConfigurationOption {
	return neo4j.ExecuteQueryWithDatabase(d.database)
}
