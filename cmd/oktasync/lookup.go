package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/publisher/neo4j"
)

// runLookup prints what Amundsen's metadata service reads for one user id,
// through its own get_user query: a quick check after a sync.
func runLookup(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oktasync lookup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	uri := fs.String("neo4j-uri", "", "Neo4j Bolt URI (env NEO4J_URI, default bolt://127.0.0.1:7687)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: oktasync lookup [--neo4j-uri URI] USER_ID\n\nPrints the user as Amundsen's metadata service reads it (its get_user query).")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitConfig
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitConfig
	}
	cfg := neo4j.DefaultConfig()
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&cfg.URI, getenv(envNeo4jURI))
	set(&cfg.URI, *uri)
	set(&cfg.Username, getenv(envNeo4jUser))
	set(&cfg.Password, getenv(envNeo4jPassword))
	set(&cfg.Database, getenv(envNeo4jDatabase))
	p, err := neo4j.New(cfg, nil)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	defer func() { _ = p.Close(context.WithoutCancel(ctx)) }() // a read-only lookup: its answer is already printed
	key := strings.TrimSpace(fs.Arg(0))
	user, manager, found, err := p.Lookup(ctx, key)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", err)
		return exitFailed
	}
	if !found {
		fmt.Fprintf(stderr, "oktasync: no User with key %s in the graph: Amundsen's metadata service answers an unknown id with HTTP 500.\n", key)
		// Keys are okta.Normalize'd (the email, or the login with
		// mapping.key: login); Amundsen's lookup is case-sensitive.
		hint := "User keys are the lowercased email (the lowercased login with mapping.key: login), and Amundsen's lookup is case-sensitive."
		if norm := okta.Normalize(key); norm != key {
			_, _, ok, err := p.Lookup(ctx, norm)
			switch {
			case err != nil:
				fmt.Fprintln(stderr, "oktasync:", err)
			case ok:
				hint += fmt.Sprintf(" %s is in the graph: oktasync lookup %s (and make the frontend's user_id match it: README, \"The key-case policy\").", norm, norm)
			default:
				hint += fmt.Sprintf(" %s is not in the graph either.", norm)
			}
		}
		fmt.Fprintln(stderr, hint)
		return exitFailed
	}
	out := map[string]any{"user": user, "manager_fullname": nil}
	if manager != nil {
		out["manager_fullname"] = manager["full_name"]
		out["manager_email"] = manager["email"]
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return exitFailed
	}
	return exitOK
}
