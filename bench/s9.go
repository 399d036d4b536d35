package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
)

// S9: teams from Okta groups. 100,000 users in 2,000 groups (the
// simulator's --groups: teams as groups, nested, overlapping, empty): a
// full sync whose team_name comes from the groups beside one whose
// team_name comes from the department attribute, A-B-A-B on one warmed
// server with the rate limit off: wall time, Okta requests, RSS. Every
// user's team is checked against the simulator's groups. Then the sync
// with teams under Okta's rate limits, their windows shortened to
// s9Window, against the floor the requests of each bucket set.
const (
	s9Users  = 100000
	s9Groups = 2000
	s9Window = 6 * time.Second
)

// s9Config turns teams from groups on.
const s9Config = "mapping:\n  team:\n    groups:\n      patterns: ['^team-(.+)$']\n"

// simGroup is a group of the simulator's /admin/groups export.
type simGroup struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// expectTeams is each user's team by the documented rule (the longest
// team-* group's name, then the first; the team is what follows "team-"),
// computed from the export alone.
func expectTeams(groups []simGroup) map[string]string {
	re := regexp.MustCompile(`^team-(.+)$`)
	best := map[string]string{}
	for _, g := range groups {
		if !re.MatchString(g.Name) {
			continue
		}
		for _, id := range g.Members {
			if cur, ok := best[id]; !ok || len(g.Name) > len(cur) || len(g.Name) == len(cur) && g.Name < cur {
				best[id] = g.Name
			}
		}
	}
	for id, name := range best {
		best[id] = strings.TrimPrefix(name, "team-")
	}
	return best
}

// checkTeams compares every synced user's team_name with the groups'.
func checkTeams(ctx context.Context, d neo4j.DriverWithContext, groups []simGroup) (string, error) {
	want := expectTeams(groups)
	res, err := neo4j.ExecuteQuery(ctx, d, `MATCH (u:User) WHERE u.okta_id IS NOT NULL RETURN u.okta_id AS id, u.team_name AS team`,
		nil, neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithReadersRouting())
	if err != nil {
		return "", err
	}
	wrong, teamed := 0, 0
	var example string
	for _, rec := range res.Records {
		id, _, _ := neo4j.GetRecordValue[string](rec, "id")
		team, _, _ := neo4j.GetRecordValue[string](rec, "team")
		if team != want[id] {
			if wrong++; example == "" {
				example = fmt.Sprintf("%s has %q, want %q", id, team, want[id])
			}
		}
		if team != "" {
			teamed++
		}
	}
	if wrong > 0 {
		return "", fmt.Errorf("%d of %d users have the wrong team, e.g. %s", wrong, len(res.Records), example)
	}
	return fmt.Sprintf("every team right: %d users, %d in a team", len(res.Records), teamed), nil
}

// teams is S9.
func (b *bench) teams(ctx context.Context) error {
	if err := b.warmUp(ctx); err != nil {
		return err
	}
	n, g := s9Users, s9Groups
	if len(b.o.users) > 0 {
		n = b.o.users[len(b.o.users)-1]
		g = max(40, n/50)
	}
	if b.o.smoke {
		n, g = min(n, 3000), 60
	}
	cfg := filepath.Join(b.work, "s9-teams.yaml")
	if err := os.WriteFile(cfg, []byte(s9Config), 0o600); err != nil {
		return err
	}
	var groups []simGroup
	run := func(s *sim, export []oktaUser, label string, teams bool) (runResult, error) {
		if err := resetGraph(ctx, b.driver); err != nil {
			return runResult{}, err
		}
		o := syncOptions{bin: b.o.oktasync, orgURL: s.URL, neo4jURI: b.o.neo4jURI, logPath: b.logPath("oktasync"),
			watch: cpuWatch{neo4j: b.o.neo4jPID, sim: s.pid()}}
		if teams {
			o.config = cfg
		}
		r, err := runSync(ctx, o)
		r.Label = label
		if err == nil {
			r.Verified, err = verify(ctx, b.driver, export)
		}
		if err == nil && teams {
			var t string
			if t, err = checkTeams(ctx, b.driver, groups); err == nil {
				r.Verified += "; " + t
			}
		}
		if err != nil {
			r.Verified = "WRONG: " + err.Error()
		}
		b.report.add("S9", r)
		if err != nil {
			return r, fmt.Errorf("S9 %s: %w", label, err)
		}
		b.say("S9 %-40s %7.2f s  %6d requests  rss %5.1f MiB", label, r.WallS, r.Summary.OktaRequests, r.RSSMiB)
		return r, nil
	}
	err := b.withSim(ctx, simOptions{users: n, groups: g}, func(s *sim, export []oktaUser) error {
		var out struct {
			Groups []simGroup `json:"groups"`
		}
		if err := s.admin(ctx, "GET", "/admin/groups", nil, &out); err != nil {
			return fmt.Errorf("read the groups: %w", err)
		}
		groups = out.Groups
		var plain, teams []runResult
		for i := range 4 {
			withTeams := i%2 == 1
			label := fmt.Sprintf("team from department #%d, %d users", i/2+1, n)
			if withTeams {
				label = fmt.Sprintf("team from %d groups #%d, %d users", g, i/2+1, n)
			}
			r, err := run(s, export, label, withTeams)
			if err != nil {
				return err
			}
			if withTeams {
				teams = append(teams, r)
			} else {
				plain = append(plain, r)
			}
		}
		mean := func(rs []runResult, f func(runResult) float64) float64 {
			s := 0.0
			for _, r := range rs {
				s += f(r)
			}
			return s / float64(len(rs))
		}
		wall := func(r runResult) float64 { return r.WallS }
		rss := func(r runResult) float64 { return r.RSSMiB }
		reqs := func(r runResult) float64 { return float64(r.Summary.OktaRequests) }
		b.report.note("S9", fmt.Sprintf("%d users, %d groups, rate limit off: teams from groups %.2f s, %.0f requests, RSS %.1f MiB; "+
			"from the attribute %.2f s, %.0f requests, RSS %.1f MiB (means of 2; wall %.2f×, requests +%.0f, RSS %+.1f MiB)",
			n, g, mean(teams, wall), mean(teams, reqs), mean(teams, rss), mean(plain, wall), mean(plain, reqs), mean(plain, rss),
			mean(teams, wall)/mean(plain, wall), mean(teams, reqs)-mean(plain, reqs), mean(teams, rss)-mean(plain, rss)))
		return nil
	})
	if err != nil || b.o.smoke {
		return err
	}
	// Under Okta's limits (600 a window for users, 500 for the groups
	// bucket, which lists groups and their members), windows of s9Window.
	return b.withSim(ctx, simOptions{users: n, groups: g, rateLimit: 600, rateWindow: s9Window}, func(s *sim, export []oktaUser) error {
		r, err := run(s, export, fmt.Sprintf("team from %d groups, Okta's limits per %s, %d users", g, s9Window, n), true)
		if err != nil {
			return err
		}
		groupReqs := (len(groups) + 199) / 200
		for _, gr := range groups {
			if strings.HasPrefix(gr.Name, "team-") {
				groupReqs += len(gr.Members)/1000 + 1
			}
		}
		userReqs := r.Summary.OktaRequests - groupReqs
		floor := func(reqs, limit int) float64 {
			usable := limit - int(math.Ceil(s4Reserve*float64(limit)))
			return float64((reqs+usable-1)/usable-1) * s9Window.Seconds()
		}
		fg, fu := floor(groupReqs, 500), floor(userReqs, 600)
		r.ExtraNotes = fmt.Sprintf("%d requests in the groups bucket (floor %.0f s), %d for users (floor %.0f s): floor %.0f s, wall %.1f s, wall/floor %.2f×; "+
			"at Okta's 60 s windows the floor is %.0f s; %d × 429, %d pauses",
			groupReqs, fg, userReqs, fu, fg+fu, r.WallS, r.WallS/(fg+fu), (fg+fu)*60/s9Window.Seconds(), r.Summary.RateLimited, r.Summary.Pauses)
		b.report.note("S9", r.ExtraNotes)
		b.say("S9 %s", r.ExtraNotes)
		return nil
	})
}
