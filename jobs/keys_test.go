package jobs

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oktasync/oktasync/extractor/okta"
	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestSyncCountsInvisibleKeysInSkipReasons (issue 20, D10): users whose
// email holds an invisible or control character, read from a simulated org
// by the real extractor, are skipped and counted under okta.SkipInvisible in
// the summary's skip_reasons, JSON and text; the others are synced under
// their Python-exact keys.
func TestSyncCountsInvisibleKeysInSkipReasons(t *testing.T) {
	sim, url := oktasimtest.Start(t, oktasim.Config{Seed: 1})
	for i, email := range []string{
		"Ann@corp.example",       // kept
		"\u0130nci@corp.example", // kept: i + U+0307, as Python lowers it
		"ann\u200b@corp.example", // zero-width space
		"\u202eann@corp.example", // right-to-left override
		"b\u00adob@corp.example", // soft hyphen
	} {
		if _, err := sim.Create(map[string]any{"login": string(rune('a'+i)) + "@corp.example", "email": email}, ""); err != nil {
			t.Fatal(err)
		}
	}
	cfg := okta.DefaultConfig()
	cfg.OrgURL, cfg.Token, cfg.RetryBackoff, cfg.RequestTimeout = url, "t", time.Millisecond, 5*time.Second
	src, err := okta.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	sum, err := runBounded(t, context.Background(), &Sync{Config: DefaultSyncConfig(), Source: src, Publisher: pub}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seen != 2 || sum.Skipped != 3 || sum.SkipReason[okta.SkipInvisible] != 3 || len(sum.SkipReason) != 1 {
		t.Errorf("seen %d, skipped %d %v: want 2 seen, 3 skipped for %q", sum.Seen, sum.Skipped, sum.SkipReason, okta.SkipInvisible)
	}
	if got, want := strings.Join(pub.nodes, ","), "ann@corp.example,i\u0307nci@corp.example"; got != want {
		t.Errorf("published %+q, want %+q", got, want)
	}
	raw, err := json.Marshal(sum)
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		SkipReasons map[string]int `json:"skip_reasons"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil || decoded.SkipReasons[okta.SkipInvisible] != 3 {
		t.Errorf("JSON summary %s: want skip_reasons {%q: 3} (%v)", raw, okta.SkipInvisible, err)
	}
	if text := sum.Text(); !strings.Contains(text, "skipped   3 (3 "+okta.SkipInvisible+")") {
		t.Errorf("text summary does not count the refused keys:\n%s", text)
	}
}
