package jobs

import (
	"context"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor"
	"github.com/oktasync/oktasync/publisher"
)

// One Okta org per graph: reconciliation deactivates every managed user a
// full sync did not see, so a graph must hold the users of one org only.
// The org is the one Okta says it is (its id), not the URL it was reached
// through: an org that moves to a custom domain or another cell keeps its
// id, and its graph follows it (its sync state is re-homed, watermark and
// times kept). A graph whose state predates org ids (a URL only) is
// adopted when that URL is the configured one, is one the configured org
// names as its own, or still answers with the configured org's id. Anything
// else is refused, unless the operator re-homes the graph on purpose
// (Sync.Rehome): then the state starts afresh under the configured org.

// OrgError means the graph holds the sync state of an org that is not, or
// cannot be shown to be, the configured one. Nothing was read or written.
type OrgError struct {
	Graph, Config publisher.Org
	// Unknown means the orgs could not be compared (an id could not be
	// read); Why says why.
	Unknown bool
	Why     string
}

func (e *OrgError) Error() string {
	const rule = "oktasync keeps one Okta org per graph (a run would deactivate the other org's users)"
	const out = "if the graph should follow the configured org from now on, run one sync with --rehome-org"
	if e.Unknown {
		return fmt.Sprintf("this graph holds users synced from the Okta org %s, and it cannot be shown to be the configured org %s: %s; %s; %s",
			e.Graph, e.Config, e.Why, rule, out)
	}
	return fmt.Sprintf("this graph holds users synced from the Okta org %s, not %s: %s; %s", e.Graph, e.Config, rule, out)
}

// Rehome is a change of the org a graph's sync state is stored under,
// for the summary.
type Rehome struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Reason string `json:"reason"`
	// Kept means the watermark and sync times carried over (the same org).
	Kept bool `json:"state_kept"`
}

// orgPlan is what a run does with the graph's sync state before it reads
// Okta: the org it syncs as, and the stored state to re-home, if any.
type orgPlan struct {
	org    publisher.Org
	from   *publisher.Org
	keep   bool
	reason string
}

// orgFacts are what a run knows about the configured org and the stored
// ones: the configured URL, what Okta says of it (ID "" when unknown), and
// the ids the stored URLs without an id answer with (a URL missing from
// it did not answer: why says why).
type orgFacts struct {
	url      string
	self     extractor.Org
	selfErr  string
	resolved map[string]string
	why      map[string]string
}

// decideOrg is the policy: adopt, refuse or re-home. It is pure.
func decideOrg(f orgFacts, stored []publisher.Org, rehome bool) (orgPlan, error) {
	want := publisher.Org{ID: f.self.ID, URL: f.url}
	if len(stored) == 0 {
		return orgPlan{org: want}, nil
	}
	if len(stored) > 1 {
		names := make([]string, len(stored))
		for i, s := range stored {
			names[i] = s.String()
		}
		return orgPlan{}, fmt.Errorf("this graph holds sync state for %d Okta orgs (%s), and oktasync keeps one Okta org per graph: "+
			"remove the :OktasyncState nodes of all but one", len(stored), strings.Join(names, ", "))
	}
	s := stored[0]
	same, reason, why := compareOrg(f, s)
	switch {
	case same && s == want:
		return orgPlan{org: want}, nil
	case same && want.ID == "":
		// Okta did not say who it is; the URL is the same: keep the id.
		return orgPlan{org: s}, nil
	case same:
		return orgPlan{org: want, from: &s, keep: true, reason: reason}, nil
	case rehome:
		return orgPlan{org: want, from: &s, reason: "--rehome-org"}, nil
	}
	return orgPlan{}, &OrgError{Graph: s, Config: want, Unknown: why != "", Why: why}
}

// compareOrg tells whether the stored org s is the configured one, and
// how that is known; why is set when it cannot be told.
func compareOrg(f orgFacts, s publisher.Org) (same bool, reason, why string) {
	id := f.self.ID
	switch {
	case s.ID != "" && id != "":
		if s.ID == id {
			return true, "same org id", ""
		}
		return false, "", ""
	case sameURL(s.URL, f.url):
		return true, "same URL", ""
	case s.ID != "":
		return false, "", "the configured org's id could not be read: " + f.selfErr
	case id == "":
		return false, "", "the configured org's id could not be read: " + f.selfErr
	}
	for _, u := range append([]string{f.self.URL}, f.self.Aliases...) {
		if u != "" && sameURL(s.URL, u) {
			return true, "the configured org names " + s.URL + " as its own URL", ""
		}
	}
	if got, ok := f.resolved[s.URL]; ok {
		if got == id {
			return true, s.URL + " answers with the same org id", ""
		}
		return false, "", ""
	}
	return false, "", s.URL + " did not say which org it is: " + f.why[s.URL]
}

// sameURL compares org URLs as Okta does hosts: without case, and without
// a trailing slash.
func sameURL(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
}

// adoptOrg applies the org policy to the graph's sync state and returns
// the org the run syncs as. It reads what it needs from Okta: the
// configured org's identity, and that of a stored URL without an id.
func (r *syncRun) adoptOrg(ctx context.Context, rec publisher.Reconciler) (publisher.Org, error) {
	stored, err := rec.Orgs(ctx)
	if err != nil {
		return publisher.Org{}, err
	}
	f := orgFacts{url: r.Org, resolved: map[string]string{}, why: map[string]string{}}
	if r.Identity == nil {
		f.selfErr = "the source does not tell its org's id"
	} else if f.self, err = r.Identity.Org(ctx); err != nil {
		// Not fatal: a graph synced through this URL is still known by it.
		f.self, f.selfErr = extractor.Org{}, err.Error()
		r.log.Warn("the Okta org's id could not be read: the org is known by its URL only", zap.Error(err))
	}
	if r.Identity != nil && f.self.ID != "" {
		for _, s := range stored {
			if s.ID != "" || sameURL(s.URL, r.Org) {
				continue
			}
			if o, err := r.Identity.OrgAt(ctx, s.URL); err != nil {
				f.why[s.URL] = err.Error()
			} else {
				f.resolved[s.URL] = o.ID
			}
		}
	}
	plan, err := decideOrg(f, stored, r.Rehome)
	if err != nil || plan.from == nil {
		return plan.org, err
	}
	st := publisher.State{Org: plan.org}
	if plan.keep {
		old, err := rec.LoadState(ctx, *plan.from)
		if err != nil {
			return plan.org, err
		}
		st.Watermark, st.LastFullSync, st.LastIncremental = old.Watermark, old.LastFullSync, old.LastIncremental
	}
	if err := rec.RehomeState(ctx, *plan.from, st); err != nil {
		return plan.org, err
	}
	r.sum.Rehomed = &Rehome{From: plan.from.String(), To: plan.org.String(), Reason: plan.reason, Kept: plan.keep}
	r.log.Info("the graph's sync state was re-homed to the configured Okta org", zap.String("from", r.sum.Rehomed.From),
		zap.String("to", r.sum.Rehomed.To), zap.String("reason", plan.reason), zap.Bool("state_kept", plan.keep), zap.Bool("dry_run", r.caps.DryRun))
	return plan.org, nil
}
