package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/oktasync/oktasync/extractor/okta"
)

// runCheckConfig validates the configuration as `sync` (or, with --serve, as
// `serve`) would, and stops there: no Okta or Neo4j request. Deployment
// tests run it on the config files the Helm chart and Kustomize render.
//
//	oktasync check-config [--serve] [sync or serve flags]
func runCheckConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f := newSyncFlags(stderr)
	if checkAsServe(args) {
		f = newServeFlags(stderr)
	}
	// --serve is a flag of both sets, so the real parse reads it (and the
	// values of other flags) by the flag package's rules.
	f.fs.Bool("serve", false, "validate as oktasync serve (its flags, its section, the hook secrets)")
	f.command = "check-config [--serve]"
	f.about = "Validates the configuration as sync (with --serve: as serve) would, and stops: no Okta or Neo4j request.\nTakes sync's flags (with --serve: serve's)."
	cfg, log, code := setup(f, args, getenv, stderr)
	if log == nil {
		return code
	}
	// okta.New checks what only it can (the private key); it does no I/O.
	if _, err := okta.New(cfg.Okta, log); err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	// So does the people index (its CA bundle).
	if x, err := newPeopleIndex(cfg.Search, log); err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	} else if x != nil {
		x.Close()
	}
	fmt.Fprintln(stdout, "oktasync: configuration is valid")
	fmt.Fprintln(stdout, oktaAccess(cfg.Okta))
	return exitOK
}

// oktaAccess says what the Okta credential must be allowed, for this
// configuration: teams from groups and okta.scope read more than users.
func oktaAccess(c okta.Config) string {
	scopes := c.RequiredScopes()
	if c.OAuth() {
		return fmt.Sprintf("okta: the service app must be granted the Okta API scopes %s", strings.Join(scopes, ", "))
	}
	return fmt.Sprintf("okta: the API token's admin must be able to read what the scopes %s cover (a Read-only Administrator can)", strings.Join(scopes, ", "))
}

// checkAsServe reports whether args set --serve, parsed with every flag of
// sync and serve so that a flag's value is never taken for it. Args that do
// not parse mean sync: its parse then reports the problem.
func checkAsServe(args []string) bool {
	probe := newSyncFlags(io.Discard)
	for _, h := range serveFlagHelp() {
		if probe.fs.Lookup(h[0]) == nil {
			probe.fs.String(h[0], "", h[1])
		}
	}
	serve := probe.fs.Bool("serve", false, "")
	if err := probe.fs.Parse(args); err != nil {
		return false
	}
	return *serve
}
