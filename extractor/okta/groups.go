package okta

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"golang.org/x/sync/errgroup"
)

// The paged reads other than users' (groups, members, app users) that
// teams (teams.go) and the scope (scope.go) share.

// memberReaders is how many groups' members are read at once: against
// Okta's latency, a few requests in flight keep a read of thousands of
// groups near the groups bucket's floor (500 a minute) rather than at
// the sum of the round trips; the transport's pacing and 429 handling
// apply to each.
const memberReaders = 4

// readPages reads a paged list other than users: first fetches the first page
// and next the page after prev (its rel="next"); each returns the
// response and what consumes the page, which reports whether there was a
// page at all. An empty, blank or "null" body is retried as a malformed
// users page is, never read as the end of the list: a group's members
// lost that way would leave people out of scope, or without their team.
// Next links are checked as the users' are, against path.
func (e *Extractor) readPages(ctx context.Context, what, path string,
	first func(context.Context) (*okta.Response, func() bool, error),
	next func(context.Context, *okta.Response) (*okta.Response, func() bool, error)) error {
	requested := map[string]int{}
	var prev *okta.Response
	for page := 1; ; page++ {
		var resp *okta.Response
		for attempt := 0; ; attempt++ {
			var (
				consume func() bool
				err     error
			)
			if prev == nil {
				resp, consume, err = first(ctx)
			} else {
				resp, consume, err = next(ctx, prev)
			}
			if err != nil {
				return fmt.Errorf("%s, page %d: %w", what, page, e.cfg.classify(err, resp))
			}
			if consume() {
				break
			}
			if attempt >= e.cfg.MaxRetries {
				return fmt.Errorf("%s, page %d: %w", what, page, &MalformedPageError{Attempts: attempt + 1, Cause: errEmptyPage.Error()})
			}
			e.counters.Retries.Add(1)
			if err := sleepCtx(ctx, backoffDelay(e.cfg.RetryBackoff, attempt+1)); err != nil {
				return err
			}
		}
		if resp == nil || !resp.HasNextPage() {
			return nil
		}
		if resp.Request != nil {
			requested[pageKey(resp.Request.URL)] = page
		}
		if err := e.checkNext(resp, requested, path); err != nil {
			return fmt.Errorf("%s, page %d: %w", what, page, err)
		}
		prev = resp
	}
}

// listGroups reads the org's groups that qp selects, page by page, noting
// when the listing began in cr.
func (e *Extractor) listGroups(ctx context.Context, qp *query.Params, cr *clockRead, keep func([]*okta.Group)) error {
	return e.readPages(ctx, "list groups", "/api/v1/groups",
		func(ctx context.Context) (*okta.Response, func() bool, error) {
			sent := time.Now()
			page, resp, err := e.client.Group.ListGroups(ctx, qp)
			cr.began(resp, sent)
			return resp, func() bool { keep(page); return page != nil }, err
		},
		func(ctx context.Context, prev *okta.Response) (*okta.Response, func() bool, error) {
			var page []*okta.Group
			resp, err := prev.Next(ctx, &page)
			return resp, func() bool { keep(page); return page != nil }, err
		})
}

// readMembersOf reads the members of groups, memberReaders groups at a
// time, and hands each group's member ids to merge (with the group's
// index) once they are read: merge runs under a lock, never across I/O.
func (e *Extractor) readMembersOf(ctx context.Context, groups []*okta.Group, merge func(i int, ids []string)) error {
	var mu sync.Mutex
	eg, gctx := errgroup.WithContext(ctx)
	eg.SetLimit(memberReaders)
	for i, g := range groups {
		eg.Go(func() error {
			var ids []string
			if err := e.readMembers(gctx, g, func(u *okta.User) { ids = append(ids, u.Id) }); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			merge(i, ids)
			return nil
		})
	}
	return eg.Wait()
}

// readMembers reads a group's members, page by page.
func (e *Extractor) readMembers(ctx context.Context, g *okta.Group, fn func(*okta.User)) error {
	name := ""
	if g.Profile != nil {
		name = g.Profile.Name
	}
	keep := func(page []*okta.User) {
		for _, u := range page {
			if u != nil {
				fn(u)
			}
		}
	}
	return e.readPages(ctx, fmt.Sprintf("list members of group %s (%s)", g.Id, name), "/api/v1/groups/"+g.Id+"/users",
		func(ctx context.Context) (*okta.Response, func() bool, error) {
			page, resp, err := e.client.Group.ListGroupUsers(ctx, g.Id, query.NewQueryParams(query.WithLimit(membersPageSize)))
			return resp, func() bool { keep(page); return page != nil }, err
		},
		func(ctx context.Context, prev *okta.Response) (*okta.Response, func() bool, error) {
			var page []*okta.User
			resp, err := prev.Next(ctx, &page)
			return resp, func() bool { keep(page); return page != nil }, err
		})
}
