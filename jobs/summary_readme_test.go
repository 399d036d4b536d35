package jobs

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestReadmeSummaryIsText: the README's sample summaries are what Text()
// prints for the same numbers, line for line.
func TestReadmeSummaryIsText(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	_, rest, ok := strings.Cut(readme, "```\noktasync full sync: ")
	sample, _, ok2 := strings.Cut(rest, "```\n")
	if !ok || !ok2 {
		t.Fatal("README.md has no sample summary (```\\noktasync full sync: ...```)")
	}
	sample = "oktasync full sync: " + sample
	s := Summary{Kind: "full", Outcome: "success", Duration: 4405 * time.Millisecond,
		Pages: 51, OktaRequests: 51, Seen: 9667, Unchanged: 9667, Active: 9113, Inactive: 554,
		Skipped: 333, SkipReason: map[string]int{"no usable email": 17, "status mapped to skip": 316},
		Managed: 9667, ManagersKept: 9269, ManagersMissing: 396,
		WatermarkBefore: time.Date(2026, 12, 6, 8, 40, 12, 345e6, time.UTC),
		WatermarkAfter:  time.Date(2026, 12, 6, 9, 2, 31, 17e6, time.UTC)}
	if got := s.Text(); got != sample {
		t.Errorf("README's sample summary:\n%s\nText() for the same numbers:\n%s", sample, got)
	}

	// The stubs line, shown on its own.
	s.StubsFound, s.StubsMerged, s.StubRelationships = 3, 3, 7
	var stubs string
	for _, line := range strings.Split(s.Text(), "\n") {
		if strings.HasPrefix(line, "  stubs ") {
			stubs = line
		}
	}
	if stubs == "" || !strings.Contains(readme, "```\n"+stubs+"\n```") {
		t.Errorf("README's stubs line is not Text()'s %q", stubs)
	}
}
