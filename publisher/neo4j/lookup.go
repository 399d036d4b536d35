package neo4j

import (
	"context"
	"fmt"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// Lookup runs Amundsen's own get_user query for key and returns the user's
// and the manager's properties (nil when there is none). found is false
// when no such user exists.
func (p *Publisher) Lookup(ctx context.Context, key string) (user, manager map[string]any, found bool, err error) {
	ctx, cancel := p.interruptible(ctx)
	defer cancel()
	d, err := p.tx.server(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	began := time.Now()
	res, err := neo4j.ExecuteQuery(ctx, p.driver, cypherGetUser, map[string]any{"user_id": key},
		neo4j.EagerResultTransformer, dbOpt(d), neo4j.ExecuteQueryWithReadersRouting(), p.tx.queryTimeout())
	if err != nil {
		err = timedOut(err, p.tx.timeout, time.Since(began))
		return nil, nil, false, fmt.Errorf("look up %s: %w", key, err)
	}
	if len(res.Records) == 0 {
		return nil, nil, false, nil
	}
	rec := res.Records[0].AsMap()
	if n, ok := rec["user_record"].(neo4j.Node); ok {
		user = n.Props
	}
	if n, ok := rec["manager_record"].(neo4j.Node); ok {
		manager = n.Props
	}
	return user, manager, true, nil
}
