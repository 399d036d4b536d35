package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/oktasync/oktasync/extractor/okta"
)

// runCheckConfig validates the configuration as `sync` (or, with --serve, as
// `serve`) would, and stops there: no Okta or Neo4j request. Deployment
// tests run it on the config files the Helm chart and Kustomize render.
//
//	oktasync check-config [--serve] [sync or serve flags]
func runCheckConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f := newSyncFlags(stderr)
	if i := slices.Index(args, "--serve"); i >= 0 {
		args = slices.Delete(slices.Clone(args), i, i+1)
		f = newServeFlags(stderr)
	}
	cfg, log, code := setup(f, args, getenv, stderr)
	if log == nil {
		return code
	}
	// okta.New checks what only it can (the private key); it does no I/O.
	if _, err := okta.New(cfg.Okta, log); err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	fmt.Fprintln(stdout, "oktasync: configuration is valid")
	return exitOK
}
