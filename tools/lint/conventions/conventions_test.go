package conventions

import (
	"testing"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/analysistest"
)

// all runs every convention analyzer on one pass, so that one testdata
// package holds each case next to its allowed twin.
var all = &analysis.Analyzer{
	Name: "conventions",
	Doc:  "every convention analyzer",
	Run: func(pass *analysis.Pass) (any, error) {
		for _, a := range []*analysis.Analyzer{NoInit, NoGlobals, WrapErrors, ContextFirst} {
			if _, err := a.Run(pass); err != nil {
				return nil, err
			}
		}
		return nil, nil
	},
}

func TestConventions(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), all, "bad")
}
