package oktasim_test

// These tests drive the simulator through the real okta-sdk-golang v2
// client, the way oktasync does.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"github.com/okta/okta-sdk-golang/v2/okta/query"
	"go.uber.org/goleak"

	"github.com/oktasync/oktasync/internal/oktasim"
	"github.com/oktasync/oktasync/internal/oktasim/oktasimtest"
)

// TestMain removes OKTA_* variables: the SDK reads them automatically and a
// stray one would change (or break) every client built here. It fails the
// run if any goroutine (a hook delivery loop, a hanging fault handler)
// outlives the tests.
func TestMain(m *testing.M) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OKTA_") {
			_ = os.Unsetenv(k)
		}
	}
	goleak.VerifyTestMain(m, oktasimtest.IgnoreSDKTokenCache)
}

// newClient builds an SDK client with every setting explicit.
func newClient(t *testing.T, baseURL string, extra ...okta.ConfigSetter) (context.Context, *okta.Client) {
	t.Helper()
	opts := []okta.ConfigSetter{
		okta.WithOrgUrl(baseURL),
		okta.WithToken("x"),
		okta.WithAuthorizationMode("SSWS"),
		okta.WithCache(false),
		okta.WithTestingDisableHttpsCheck(true),
		okta.WithHttpClientPtr(&http.Client{Timeout: 10 * time.Second}),
		okta.WithRateLimitMaxRetries(0),
		okta.WithRateLimitMaxBackOff(5),
		okta.WithRequestTimeout(10),
	}
	ctx, c, err := okta.NewClient(context.Background(), append(opts, extra...)...)
	if err != nil {
		t.Fatalf("okta.NewClient: %v", err)
	}
	return ctx, c
}

// listAll pages through a query with a fresh slice per page and returns
// the ids in the order received.
func listAll(t *testing.T, ctx context.Context, c *okta.Client, qp *query.Params) []string {
	t.Helper()
	users, resp, err := c.User.ListUsers(ctx, qp)
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var ids []string
	for pages := 1; ; pages++ {
		for _, u := range users {
			ids = append(ids, u.Id)
		}
		if !resp.HasNextPage() {
			return ids
		}
		if pages > 10000 {
			t.Fatal("pagination does not terminate")
		}
		var page []*okta.User
		if resp, err = resp.Next(ctx, &page); err != nil {
			t.Fatalf("Next: %v", err)
		}
		users = page
	}
}

func oktaError(t *testing.T, err error) *okta.Error {
	t.Helper()
	var oe *okta.Error
	if !errors.As(err, &oe) {
		t.Fatalf("error %v (%T) is not an *okta.Error", err, err)
	}
	return oe
}

func TestSDKPagesThroughAllUsers(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 1000, Seed: 11})
	ctx, c := newClient(t, base)

	all := sim.Users()
	var active, deprov []string
	for _, u := range all {
		if u.Status == oktasim.StatusDeprovisioned {
			deprov = append(deprov, u.Id)
		} else {
			active = append(active, u.Id)
		}
	}

	got := listAll(t, ctx, c, query.NewQueryParams(query.WithLimit(200)))
	if !equalIDs(got, active) {
		t.Fatalf("list-all returned %d users, want the %d non-DEPROVISIONED users in id order", len(got), len(active))
	}
	if st := sim.Stats(); st.ListPages != 5 || st.ListUsersRequests != 5 {
		t.Errorf("stats after 1000-user listing: %+v, want 5 pages", st)
	}

	got = listAll(t, ctx, c, query.NewQueryParams(query.WithLimit(200), query.WithFilter(`status eq "DEPROVISIONED"`)))
	if !equalIDs(got, deprov) || len(deprov) == 0 {
		t.Fatalf("DEPROVISIONED filter returned %d users, want %d", len(got), len(deprov))
	}

	// A filter matching everyone includes DEPROVISIONED users, and small
	// pages keep the filter in the next links.
	got = listAll(t, ctx, c, query.NewQueryParams(query.WithLimit(77), query.WithFilter(`lastUpdated gt "1970-01-01T00:00:00.000Z"`)))
	if len(got) != len(all) {
		t.Fatalf("lastUpdated-gt-epoch filter returned %d users, want %d", len(got), len(all))
	}

	got = listAll(t, ctx, c, query.NewQueryParams(query.WithLimit(150), query.WithSearch(`status eq "deprovisioned" or profile.department eq "ENGINEERING"`)))
	want := 0
	for _, u := range all {
		if u.Status == oktasim.StatusDeprovisioned || u.Profile["department"] == "Engineering" {
			want++
		}
	}
	if len(got) != want {
		t.Fatalf("search returned %d users, want %d", len(got), want)
	}
}

func equalIDs(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSDKProfileShape(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 300, Seed: 5})
	ctx, c := newClient(t, base)
	users, _, err := c.User.ListUsers(ctx, query.NewQueryParams(query.WithLimit(200)))
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	byID := map[string]oktasim.User{}
	for _, u := range sim.Users() {
		byID[u.Id] = u
	}
	for _, u := range users {
		want := byID[u.Id]
		if u.Status != want.Status || u.Created == nil || !u.Created.Equal(want.Created) ||
			u.LastUpdated == nil || !u.LastUpdated.Equal(want.LastUpdated) {
			t.Fatalf("user %s: SDK view %+v differs from the simulator's %+v", u.Id, u, want)
		}
		if (u.Activated == nil) != (want.Activated == nil) {
			t.Fatalf("user %s: activated %v, want %v", u.Id, u.Activated, want.Activated)
		}
		p := *u.Profile
		if p["login"] != want.Profile["login"] || p["email"] != want.Profile["email"] {
			t.Fatalf("user %s: profile %v, want %v", u.Id, p, want.Profile)
		}
		if v, ok := p["mobilePhone"]; !ok || (v != nil && v != want.Profile["mobilePhone"]) {
			t.Fatalf("user %s: mobilePhone %v present=%v", u.Id, v, ok)
		}
		if u.Type == nil || !strings.HasPrefix(u.Type.Id, "oty") || u.Credentials == nil || u.Credentials.Provider == nil {
			t.Fatalf("user %s: missing type or credentials", u.Id)
		}
	}
}

func TestSDKIncrementalFilterSeesChanges(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 400, Seed: 3})
	ctx, c := newClient(t, base)

	var watermark time.Time
	for _, u := range sim.Users() {
		if u.LastUpdated.After(watermark) {
			watermark = u.LastUpdated
		}
	}
	users := sim.Users()
	changed := []string{users[10].Id, users[20].Id, users[30].Id}
	if err := sim.UpdateProfile(changed[0], map[string]any{"title": "Chief Tester", "mobilePhone": nil}); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetStatus(changed[1], oktasim.StatusDeprovisioned); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetManager(changed[2], users[0].Id); err != nil {
		t.Fatal(err)
	}
	f := `lastUpdated gt "` + watermark.UTC().Format("2006-01-02T15:04:05.000Z") + `"`
	got := listAll(t, ctx, c, query.NewQueryParams(query.WithFilter(f)))
	if len(got) != 3 {
		t.Fatalf("filter %s returned %v, want the 3 changed users %v", f, got, changed)
	}
	u, _, err := c.User.GetUser(ctx, changed[0])
	if err != nil {
		t.Fatal(err)
	}
	if (*u.Profile)["title"] != "Chief Tester" {
		t.Fatalf("title = %v", (*u.Profile)["title"])
	}
	if v, ok := (*u.Profile)["mobilePhone"]; !ok || v != nil {
		t.Fatalf("mobilePhone = %v (present %v), want null", v, ok)
	}
}

func TestSDKGetUser(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 250, Seed: 9})
	ctx, c := newClient(t, base)
	var deprov oktasim.User
	for _, u := range sim.Users() {
		if u.Status == oktasim.StatusDeprovisioned {
			deprov = u
			break
		}
	}
	u, _, err := c.User.GetUser(ctx, deprov.Id)
	if err != nil || u.Id != deprov.Id || u.Status != oktasim.StatusDeprovisioned {
		t.Fatalf("GetUser(deprovisioned id) = %+v, %v", u, err)
	}
	login := deprov.Profile["login"].(string)
	u, _, err = c.User.GetUser(ctx, strings.ToUpper(login))
	if err != nil || u.Id != deprov.Id {
		t.Fatalf("GetUser(upper-case login) = %+v, %v", u, err)
	}
	_, resp, err := c.User.GetUser(ctx, "00unknown")
	oe := oktaError(t, err)
	if oe.ErrorCode != "E0000007" || resp == nil || resp.StatusCode != http.StatusNotFound ||
		!strings.Contains(oe.ErrorSummary, "00unknown (User)") {
		t.Fatalf("unknown user: %+v", oe)
	}
	if st := sim.Stats(); st.GetUserRequests != 3 {
		t.Fatalf("GetUserRequests = %d, want 3", st.GetUserRequests)
	}
}

func TestSDKUnauthorized(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 10, Seed: 1, Token: "secret"})
	ctx, c := newClient(t, base, okta.WithToken("wrong"))
	_, resp, err := c.User.ListUsers(ctx, nil)
	oe := oktaError(t, err)
	if oe.ErrorCode != "E0000011" || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %+v, resp %v", oe, resp)
	}
	ctx, c = newClient(t, base, okta.WithToken("secret"))
	if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
		t.Fatalf("right token: %v", err)
	}
	if st := sim.Stats(); st.Unauthorized != 1 {
		t.Fatalf("Unauthorized = %d, want 1", st.Unauthorized)
	}
}

func TestSDKRateLimitExhausted(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 10, Seed: 1, RateLimit: 3, RateWindow: time.Minute})
	ctx, c := newClient(t, base)
	for i := 0; i < 3; i++ {
		_, resp, err := c.User.ListUsers(ctx, nil)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if got := resp.Header.Get("X-Rate-Limit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("call %d: X-Rate-Limit-Remaining = %q", i, got)
		}
	}
	// With retries disabled the SDK gives up on the 429 at once.
	_, resp, err := c.User.ListUsers(ctx, nil)
	if err == nil || err.Error() != "too many requests" || resp != nil {
		t.Fatalf("4th call: resp %v, err %v; want the SDK's 'too many requests'", resp, err)
	}
	// The get-user bucket is separate.
	if _, _, err := c.User.GetUser(ctx, sim.Users()[0].Id); err != nil {
		t.Fatalf("get user after list budget is spent: %v", err)
	}
	if st := sim.Stats(); st.RateLimited != 1 {
		t.Fatalf("RateLimited = %d, want 1", st.RateLimited)
	}
}

func TestSDKRetriesAfterRateLimitReset(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 10, Seed: 1, RateLimit: 1, RateWindow: time.Second})
	// The SDK sleeps min(Reset-Date+1, MaxBackOff) seconds per 429.
	ctx, c := newClient(t, base, okta.WithRateLimitMaxRetries(3), okta.WithRateLimitMaxBackOff(1))
	for i := 0; i < 2; i++ {
		if _, _, err := c.User.ListUsers(ctx, nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if st := sim.Stats(); st.RateLimited == 0 || st.ListPages != 2 {
		t.Fatalf("stats %+v: want a 429 that the SDK retried past", st)
	}
}

func TestSDKPrivateKeyMode(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := func(k *rsa.PrivateKey) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	}
	sim, base := oktasimtest.Start(t, oktasim.Config{
		Users: 300, Seed: 4, Token: "only-this-ssws-token",
		Clients: map[string]*rsa.PublicKey{"0oasimclient": &key.PublicKey},
	})
	client := func(clientID string, k *rsa.PrivateKey, scopes ...string) (context.Context, *okta.Client) {
		return newClient(t, base,
			okta.WithAuthorizationMode("PrivateKey"),
			okta.WithClientId(clientID),
			okta.WithScopes(scopes),
			okta.WithPrivateKey(pkcs1(k)),
		)
	}

	t.Run("valid", func(t *testing.T) {
		ctx, c := client("0oasimclient", key, "okta.users.read")
		ids := listAll(t, ctx, c, query.NewQueryParams(query.WithLimit(200)))
		if len(ids) == 0 {
			t.Fatal("no users listed")
		}
		if _, _, err := c.User.GetUser(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
		if st := sim.Stats(); st.TokensIssued != 1 {
			t.Fatalf("TokensIssued = %d, want 1 (the SDK caches the token)", st.TokensIssued)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		ctx, c := client("0oasimclient", other, "okta.users.read")
		_, _, err := c.User.ListUsers(ctx, nil)
		if oe := oktaError(t, err); oe.ErrorMessage != "invalid_client" {
			t.Fatalf("error %+v, want invalid_client", oe)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		ctx, c := client("0oanobody", key, "okta.users.read")
		_, _, err := c.User.ListUsers(ctx, nil)
		if oe := oktaError(t, err); oe.ErrorMessage != "invalid_client" {
			t.Fatalf("error %+v, want invalid_client", oe)
		}
	})
	t.Run("scope not granted", func(t *testing.T) {
		ctx, c := client("0oasimclient", key, "okta.groups.manage")
		_, _, err := c.User.ListUsers(ctx, nil)
		if oe := oktaError(t, err); oe.ErrorMessage != "invalid_scope" {
			t.Fatalf("error %+v, want invalid_scope", oe)
		}
	})
}

func TestSDKFaults(t *testing.T) {
	sim, base := oktasimtest.Start(t, oktasim.Config{Users: 1000, Seed: 2})
	ctx, c := newClient(t, base)

	t.Run("500", func(t *testing.T) {
		sim.SetFaults(oktasim.Faults{ErrorRate: 1})
		defer sim.SetFaults(oktasim.Faults{})
		_, resp, err := c.User.ListUsers(ctx, nil)
		oe := oktaError(t, err)
		if oe.ErrorCode != "E0000009" || resp == nil || resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("got %+v", oe)
		}
	})
	t.Run("malformed page", func(t *testing.T) {
		sim.SetFaults(oktasim.Faults{MalformedRate: 1})
		defer sim.SetFaults(oktasim.Faults{})
		before := sim.Stats().MalformedPages
		if _, _, err := c.User.ListUsers(ctx, nil); err == nil {
			t.Fatal("truncated page decoded without error")
		}
		if sim.Stats().MalformedPages != before+1 {
			t.Fatal("MalformedPages not counted")
		}
	})
	t.Run("fail after", func(t *testing.T) {
		sim.SetFaults(oktasim.Faults{FailAfter: 2})
		defer sim.SetFaults(oktasim.Faults{})
		users, resp, err := c.User.ListUsers(ctx, query.NewQueryParams(query.WithLimit(200)))
		if err != nil || len(users) != 200 {
			t.Fatalf("page 1: %d users, %v", len(users), err)
		}
		var page []*okta.User
		if resp, err = resp.Next(ctx, &page); err != nil {
			t.Fatalf("page 2: %v", err)
		}
		var page3 []*okta.User
		_, err = resp.Next(ctx, &page3)
		if oe := oktaError(t, err); oe.ErrorCode != "E0000009" {
			t.Fatalf("page 3: %+v", oe)
		}
		if _, _, err := c.User.GetUser(ctx, users[0].Id); err == nil {
			t.Fatal("get user after the failure point succeeded")
		}
	})
	t.Run("latency", func(t *testing.T) {
		sim.SetFaults(oktasim.Faults{Latency: 60 * time.Millisecond})
		defer sim.SetFaults(oktasim.Faults{})
		start := time.Now()
		if _, _, err := c.User.ListUsers(ctx, query.NewQueryParams(query.WithLimit(1))); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 60*time.Millisecond {
			t.Fatalf("request took %s, want at least 60ms", d)
		}
	})
	if st := sim.Stats(); st.ServerErrors < 3 {
		t.Fatalf("ServerErrors = %d, want at least 3", st.ServerErrors)
	}
}
