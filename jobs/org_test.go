package jobs

import (
	"errors"
	"strings"
	"testing"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/publisher"
)

func TestDecideOrg(t *testing.T) {
	const (
		okta   = "https://acme.okta.com"
		custom = "https://login.acme.com"
		emea   = "https://acme.okta-emea.com"
	)
	acme := extractor.Org{ID: "00oACME", URL: okta, Aliases: []string{custom}}
	facts := func(url string, self extractor.Org) orgFacts {
		return orgFacts{url: url, self: self, selfErr: "HTTP 503", resolved: map[string]string{}, why: map[string]string{}}
	}
	withResolved := func(f orgFacts, url, id string) orgFacts { f.resolved[url] = id; return f }
	withWhy := func(f orgFacts, url, why string) orgFacts { f.why[url] = why; return f }
	for _, tc := range []struct {
		name   string
		facts  orgFacts
		stored []publisher.Org
		rehome bool
		want   orgPlan // from: only whether set, and to what
		err    string  // substring; "" = no error
		unsure bool    // an *OrgError with Unknown
	}{
		{name: "new graph", facts: facts(custom, acme),
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}}},
		{name: "same id, same URL", facts: facts(custom, acme), stored: []publisher.Org{{ID: "00oACME", URL: custom}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}}},
		{name: "same id, new custom domain", facts: facts(custom, acme), stored: []publisher.Org{{ID: "00oACME", URL: okta}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{ID: "00oACME", URL: okta}, keep: true}},
		{name: "same id, moved cell", facts: facts(emea, extractor.Org{ID: "00oACME", URL: emea}), stored: []publisher.Org{{ID: "00oACME", URL: okta}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: emea}, from: &publisher.Org{ID: "00oACME", URL: okta}, keep: true}},
		{name: "other id", facts: facts(custom, acme), stored: []publisher.Org{{ID: "00oOTHER", URL: "https://other.okta.com"}},
			err: "holds users synced from the Okta org 00oOTHER (https://other.okta.com), not 00oACME (https://login.acme.com)"},
		{name: "other id at the same URL", facts: facts(custom, acme), stored: []publisher.Org{{ID: "00oOTHER", URL: custom}},
			err: "not 00oACME"},
		{name: "other id, re-homed on purpose", facts: facts(custom, acme), stored: []publisher.Org{{ID: "00oOTHER", URL: "https://other.okta.com"}}, rehome: true,
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{ID: "00oOTHER", URL: "https://other.okta.com"}}},
		{name: "old state, same URL", facts: facts(custom, acme), stored: []publisher.Org{{URL: custom + "/"}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{URL: custom + "/"}, keep: true}},
		// Issue 20, D12: scheme and host compare without case, and an org
		// reached as localhost or 127.0.0.1 is one org: its id says so.
		{name: "old state, same URL but for case", facts: facts(custom, acme), stored: []publisher.Org{{URL: "HTTPS://Login.ACME.com/"}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{URL: "HTTPS://Login.ACME.com/"}, keep: true}},
		{name: "same id, localhost and 127.0.0.1", facts: facts("http://127.0.0.1:8080", extractor.Org{ID: "00oLOCAL", URL: "http://localhost:8080"}),
			stored: []publisher.Org{{ID: "00oLOCAL", URL: "http://localhost:8080"}},
			want:   orgPlan{org: publisher.Org{ID: "00oLOCAL", URL: "http://127.0.0.1:8080"}, from: &publisher.Org{ID: "00oLOCAL", URL: "http://localhost:8080"}, keep: true}},
		{name: "old state, the org's own URL", facts: facts(custom, acme), stored: []publisher.Org{{URL: okta}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{URL: okta}, keep: true}},
		{name: "old state, URL answers with the same id", facts: withResolved(facts(custom, acme), emea, "00oACME"), stored: []publisher.Org{{URL: emea}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{URL: emea}, keep: true}},
		{name: "old state, URL answers with another id", facts: withResolved(facts(custom, acme), "https://other.okta.com", "00oOTHER"),
			stored: []publisher.Org{{URL: "https://other.okta.com"}}, err: "not 00oACME"},
		{name: "old state, URL does not answer", facts: withWhy(facts(custom, acme), "https://gone.okta.com", "no such host"),
			stored: []publisher.Org{{URL: "https://gone.okta.com"}}, err: "https://gone.okta.com did not say which org it is: no such host", unsure: true},
		{name: "old state, URL does not answer, re-homed on purpose", facts: withWhy(facts(custom, acme), "https://gone.okta.com", "no such host"),
			stored: []publisher.Org{{URL: "https://gone.okta.com"}}, rehome: true,
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}, from: &publisher.Org{URL: "https://gone.okta.com"}}},
		{name: "id unreadable, same URL keeps the stored id", facts: facts(custom, extractor.Org{}), stored: []publisher.Org{{ID: "00oACME", URL: custom}},
			want: orgPlan{org: publisher.Org{ID: "00oACME", URL: custom}}},
		{name: "id unreadable, old state, same URL", facts: facts(custom, extractor.Org{}), stored: []publisher.Org{{URL: custom}},
			want: orgPlan{org: publisher.Org{URL: custom}}},
		{name: "id unreadable, other URL", facts: facts(custom, extractor.Org{}), stored: []publisher.Org{{ID: "00oACME", URL: okta}},
			err: "the configured org's id could not be read: HTTP 503", unsure: true},
		{name: "id unreadable, old state, other URL", facts: facts(custom, extractor.Org{}), stored: []publisher.Org{{URL: okta}},
			err: "could not be read", unsure: true},
		{name: "several orgs", facts: facts(custom, acme), stored: []publisher.Org{{URL: okta}, {ID: "00oB", URL: "https://b.okta.com"}},
			err: "sync state for 2 Okta orgs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decideOrg(tc.facts, tc.stored, tc.rehome)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "one Okta org per graph") {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				var oe *OrgError
				if errors.As(err, &oe) {
					if oe.Unknown != tc.unsure || !strings.Contains(err.Error(), "--rehome-org") {
						t.Errorf("Unknown = %v, want %v; the way out named: %v", oe.Unknown, tc.unsure, strings.Contains(err.Error(), "--rehome-org"))
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.org != tc.want.org || got.keep != tc.want.keep || (got.from == nil) != (tc.want.from == nil) ||
				(got.from != nil && *got.from != *tc.want.from) {
				t.Errorf("plan = %+v (from %v), want %+v (from %v)", got, got.from, tc.want, tc.want.from)
			}
			if got.from != nil && got.reason == "" {
				t.Error("a re-home without a reason")
			}
		})
	}
}
