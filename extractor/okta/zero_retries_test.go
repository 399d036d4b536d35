package okta

import (
	"context"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// An explicit okta.max_retries: 0 means zero retries: exactly one request
// per page, never the default's five.
func TestMaxRetriesZeroMakesOneRequestPerPage(t *testing.T) {
	sim, url := oktasimtest.Start(t, oktasim.Config{Users: 10, Seed: 3})
	sim.SetFaults(oktasim.Faults{ErrorRate: 1})
	cfg := DefaultConfig()
	cfg.OrgURL, cfg.Token, cfg.MaxRetries, cfg.RetryBackoff = url, testToken, 0, time.Millisecond
	e := newExtractor(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := e.Extract(ctx, func(context.Context, extractor.Page) error { return nil })
	if err == nil {
		t.Fatal("a failing page read succeeded")
	}
	if got := e.Stats().Requests; got != 1 {
		t.Errorf("requests = %d, want exactly 1 with max_retries: 0", got)
	}
	if got := sim.Stats().ServerErrors; got != 1 {
		t.Errorf("the simulator answered %d requests with 5xx, want 1", got)
	}
}
