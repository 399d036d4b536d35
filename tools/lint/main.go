// Command oktalint checks oktasync's conventions (CONTRIBUTING.md) as a
// `go vet -vettool`: no init functions, no package-level variables outside
// the simulator, errors wrapped with %w, context.Context first, and no
// ignored errors (errcheck, in product code; an explicit _ = is a
// visible decision and allowed). The functions errcheck skips are listed, with
// why, in errcheck_excludes.txt. It is its own module, so that its dependencies
// stay out of the product's go.mod; `make lint` builds and runs it.
package main

import (
	"github.com/kisielk/errcheck/errcheck"
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/oktasync/oktasync/tools/lint/conventions"
)

func main() {
	unitchecker.Main(
		conventions.NoInit,
		conventions.NoGlobals,
		conventions.WrapErrors,
		conventions.ContextFirst,
		conventions.ProductOnly(errcheck.Analyzer),
	)
}
