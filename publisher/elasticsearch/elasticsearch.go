// Package elasticsearch is the people-search sink: it keeps Amundsen's
// user search index (the alias user_search_index_v2_1) on an Elasticsearch
// or OpenSearch server, with exactly the documents, mapping and settings
// databuilder's search job writes (publisher.PeopleIndex). It speaks the
// REST API with net/http, so that neither server's client library can
// refuse the other server.
//
// A rebuild writes a fresh index, <alias>_oktasync_<yyyymmdd>_<32 hex>, then
// points the alias at it and removes the previous index in one alias
// action, as databuilder does. The "_oktasync_" in the name marks the
// indexes this sink made: an alias pointing at any other index is refused,
// unless the settings say to take it over.
package elasticsearch

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"github.com/oktasync/oktasync/publisher"
)

// Config configures the people-search sink. The URL may come from the
// file or OKTASYNC_SEARCH_URL; credentials only from the environment.
type Config struct {
	// URL of the server, http(s)://host:port. Empty turns people search off.
	URL string `yaml:"url"`
	// Alias is the alias Amundsen's search service reads.
	Alias string `yaml:"alias"`
	// Username and Password (basic auth), from the environment only.
	Username string `yaml:"-"`
	Password string `yaml:"-"`
	// KeepInactive keeps leavers in the index with is_active false;
	// by default they are removed from people search.
	KeepInactive bool `yaml:"keep_inactive"`
	// TakeOver lets a full sync replace an index behind the alias that
	// oktasync did not make (databuilder's, after its user search job was
	// turned off). Without it such an alias is refused.
	TakeOver bool `yaml:"take_over"`
	// CAFile is a PEM bundle to trust for https, besides the system's.
	CAFile string `yaml:"ca_file"`
	// InsecureSkipVerify turns off certificate checks (tests only).
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
	// Timeout bounds each request.
	Timeout time.Duration `yaml:"timeout"`
	// BulkSize is the documents per bulk request.
	BulkSize int `yaml:"bulk_size"`
}

// DefaultConfig is the documented default, the one place defaults are set.
func DefaultConfig() Config {
	return Config{Alias: "user_search_index_v2_1", Timeout: time.Minute, BulkSize: 5000}
}

// Enabled reports whether people search is on.
func (c Config) Enabled() bool { return c.URL != "" }

// Validate reports every problem, each naming its field. A config with
// no URL is valid: people search is off.
func (c Config) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("search.url: %q is not an http(s) URL like http://elasticsearch:9200", redactURL(c.URL))
	} else if u.User != nil {
		add("search.url: must not contain credentials; use OKTASYNC_SEARCH_USERNAME and OKTASYNC_SEARCH_PASSWORD")
	}
	if !validIndexName(c.Alias) {
		add("search.alias: %q is not a valid index alias (lowercase letters, digits, _ and -, not starting with _ or -)", c.Alias)
	}
	if c.Password != "" && c.Username == "" {
		add("search.username: required when a password is set (OKTASYNC_SEARCH_USERNAME)")
	}
	if c.Timeout <= 0 {
		add("search.timeout: must be positive, got %s", c.Timeout)
	}
	if c.BulkSize < 1 || c.BulkSize > 50000 {
		add("search.bulk_size: must be between 1 and 50000, got %d", c.BulkSize)
	}
	if c.CAFile != "" {
		if _, err := os.Stat(c.CAFile); err != nil {
			add("search.ca_file: %v", err)
		}
	}
	return errors.Join(errs...)
}

func validIndexName(s string) bool {
	if s == "" || len(s) > 200 || s[0] == '_' || s[0] == '-' || s[0] == '+' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// Index is the people-search sink.
type Index struct {
	cfg    Config
	base   *url.URL
	client *http.Client
	log    *zap.Logger
}

var _ publisher.PeopleIndex = (*Index)(nil)

// New builds the sink; it does no I/O (Check does).
func New(cfg Config, log *zap.Logger) (*Index, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !cfg.Enabled() {
		return nil, errors.New("search.url: not set")
	}
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if err != nil {
		return nil, fmt.Errorf("search.url: %w", err)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // an explicit, documented test setting
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("search.ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("search.ca_file: %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	if log == nil {
		log = zap.NewNop()
	}
	return &Index{cfg: cfg, base: base, client: &http.Client{Transport: transport, Timeout: cfg.Timeout}, log: log}, nil
}

// Close releases the idle connections to the server.
func (x *Index) Close() { x.client.CloseIdleConnections() }

// Alias is the alias the sink keeps.
func (x *Index) Alias() string { return x.cfg.Alias }

// ours reports whether the sink made the index.
func (x *Index) ours(index string) bool {
	return strings.HasPrefix(index, x.cfg.Alias+"_oktasync_")
}

// Check verifies the server, the credentials and the alias.
func (x *Index) Check(ctx context.Context) error {
	if _, err := x.do(ctx, http.MethodGet, "/", nil, nil); err != nil {
		return err
	}
	_, err := x.aliased(ctx, true)
	return err
}

// aliased lists the indexes behind the alias (none when it is absent). It
// refuses a concrete index of the alias's name, and an index the sink did
// not make, unless a rebuild may take it over (search.take_over).
func (x *Index) aliased(ctx context.Context, rebuild bool) ([]string, error) {
	var got map[string]json.RawMessage
	status, err := x.doStatus(ctx, http.MethodGet, "/_alias/"+url.PathEscape(x.cfg.Alias), nil, &got, http.StatusNotFound)
	if err != nil {
		return nil, err
	}
	var indexes []string
	if status != http.StatusNotFound {
		for name := range got {
			indexes = append(indexes, name)
		}
	}
	sort.Strings(indexes)
	if len(indexes) == 0 {
		// No alias of that name; an index of that name would stop the
		// alias from ever being created.
		status, err := x.doStatus(ctx, http.MethodHead, "/"+url.PathEscape(x.cfg.Alias), nil, nil, http.StatusNotFound)
		if err != nil {
			return nil, err
		}
		if status != http.StatusNotFound {
			return nil, fmt.Errorf("search.alias: %s is an index, not an alias: Amundsen reads people through an alias; "+
				"delete that index or choose another search.alias", x.cfg.Alias)
		}
		return nil, nil
	}
	for _, name := range indexes {
		switch {
		case x.ours(name):
		case !x.cfg.TakeOver:
			return nil, fmt.Errorf("search.alias: %s points at %s, which oktasync did not make (databuilder's search job, probably): "+
				"turn that job off for users (README, People search), then set search.take_over: true so that the next full sync replaces it",
				x.cfg.Alias, name)
		case !rebuild:
			return nil, fmt.Errorf("search.alias: %s points at %s, which oktasync did not make: only a full sync takes it over (search.take_over)",
				x.cfg.Alias, name)
		}
	}
	return indexes, nil
}

// Rebuild fills a fresh index and swaps the alias onto it.
func (x *Index) Rebuild(ctx context.Context, fill func(add func([]publisher.Document) error) error) (publisher.IndexStats, error) {
	var st publisher.IndexStats
	name, err := x.newIndexName()
	if err != nil {
		return st, err
	}
	if _, err := x.do(ctx, http.MethodPut, "/"+name, []byte(userIndex), nil); err != nil {
		return st, fmt.Errorf("create index %s: %w", name, err)
	}
	// Nobody searches the fresh index before the swap: no periodic
	// refreshes and no fsync of the translog per bulk request while it
	// fills (a crash only loses an index that is rebuilt anyway). Both
	// settings are removed again before the swap, so the index ends as
	// databuilder's does.
	if err := x.fillSettings(ctx, name, "-1", "async"); err != nil {
		return st, err
	}
	swapped := false
	defer func() {
		if swapped {
			return
		}
		// The previous index keeps serving; the fresh one goes, unless
		// the swap took effect after all (an answer lost on the way, a
		// cancellation during the request): the alias decides.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.cfg.Timeout)
		defer cancel()
		if x.behindAlias(dctx, name) {
			return
		}
		if _, err := x.doStatus(dctx, http.MethodDelete, "/"+name, nil, nil, http.StatusNotFound); err != nil {
			x.log.Warn("remove the unfinished people index", zap.String("index", name), zap.Error(err))
		}
	}()

	// Reading the graph and bulk writes overlap: one page is written while
	// the next is read.
	g, gctx := errgroup.WithContext(ctx)
	pages := make(chan []publisher.Document, 1)
	g.Go(func() error {
		defer close(pages)
		return fill(func(docs []publisher.Document) error {
			select {
			case pages <- docs:
				return nil
			case <-gctx.Done():
				return gctx.Err()
			}
		})
	})
	// bulkWriters bulk requests are in flight at once: the server indexes
	// on more than one core while oktasync waits for an answer.
	var mu sync.Mutex
	for range bulkWriters {
		g.Go(func() error {
			for docs := range pages {
				for len(docs) > 0 {
					n := min(len(docs), x.cfg.BulkSize)
					indexed, _, err := x.bulk(gctx, "/"+name+"/_bulk", docs[:n], false)
					mu.Lock()
					st.Indexed += indexed
					mu.Unlock()
					if err != nil {
						return err
					}
					docs = docs[n:]
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return st, err
	}
	if err := x.fillSettings(ctx, name, nil, nil); err != nil {
		return st, err
	}
	if _, err := x.do(ctx, http.MethodPost, "/"+name+"/_refresh", nil, nil); err != nil {
		return st, fmt.Errorf("refresh index %s: %w", name, err)
	}
	leftovers := x.leftovers(ctx, name)
	// The alias moves and the previous indexes go in one action, with
	// the indexes earlier rebuilds left behind (killed before their swap
	// or their cleanup). The action is not idempotent, so it is never
	// resent blindly: after any failure the alias says whether it took
	// effect. If another run moved the alias meanwhile, the action fails
	// as a whole: read the alias again and try once more.
	for attempt := 0; ; attempt++ {
		old, err := x.aliased(ctx, true)
		if err != nil {
			return st, err
		}
		if slices.Contains(old, name) {
			swapped, st.Index = true, name
			return st, nil
		}
		actions := []map[string]any{}
		for _, o := range append(old, leftovers...) {
			actions = append(actions, map[string]any{"remove_index": map[string]any{"index": o}})
		}
		actions = append(actions, map[string]any{"add": map[string]any{"index": name, "alias": x.cfg.Alias}})
		body, _ := json.Marshal(map[string]any{"actions": actions})
		_, err = x.doOnce(ctx, http.MethodPost, "/_aliases", body)
		if err == nil || x.behindAlias(ctx, name) {
			swapped, st.Index = true, name
			return st, nil
		}
		if attempt > 0 || !errors.Is(err, errNotFound) {
			return st, fmt.Errorf("point %s at %s: %w", x.cfg.Alias, name, err)
		}
		leftovers = nil // one of them may be what was not found
	}
}

// bulkWriters is how many bulk requests a rebuild keeps in flight.
const bulkWriters = 2

// fillSettings sets index.refresh_interval and index.translog.durability
// of index (nil: the server's default, the setting removed).
func (x *Index) fillSettings(ctx context.Context, index string, refresh, durability any) error {
	body, _ := json.Marshal(map[string]any{"index": map[string]any{"refresh_interval": refresh, "translog.durability": durability}})
	if _, err := x.do(ctx, http.MethodPut, "/"+index+"/_settings", body, nil); err != nil {
		return fmt.Errorf("set refresh_interval and translog.durability of %s: %w", index, err)
	}
	return nil
}

// behindAlias reports whether the alias points at index (false when that
// cannot be read).
func (x *Index) behindAlias(ctx context.Context, index string) bool {
	old, err := x.aliased(ctx, true)
	return err == nil && slices.Contains(old, index)
}

// staleAfter is the age past which an index of this sink that no alias
// points at is a leftover of a rebuild that died (a fresh rebuild's own
// index is younger).
const staleAfter = 6 * time.Hour

// leftovers lists the sink's indexes for the alias, other than current,
// that the alias does not point at and that are older than staleAfter.
// Errors only mean there is nothing to clean up this time.
func (x *Index) leftovers(ctx context.Context, current string) []string {
	var rows []struct {
		Index   string `json:"index"`
		Created string `json:"creation.date"`
	}
	path := "/_cat/indices/" + url.PathEscape(x.cfg.Alias+"_oktasync_*") + "?format=json&h=index,creation.date&expand_wildcards=all"
	if _, err := x.do(ctx, http.MethodGet, path, nil, &rows); err != nil {
		return nil
	}
	aliased, err := x.aliased(ctx, true)
	if err != nil {
		return nil
	}
	var out []string
	for _, r := range rows {
		ms, err := strconv.ParseInt(r.Created, 10, 64)
		if err != nil || r.Index == current || !x.ours(r.Index) || slices.Contains(aliased, r.Index) ||
			time.Since(time.UnixMilli(ms)) < staleAfter {
			continue
		}
		out = append(out, r.Index)
	}
	return out
}

// Update writes docs through the alias and removes leavers.
// It needs the alias: before the first full sync there is no index to
// update, and writing through a missing alias would create an index
// without Amundsen's mapping.
func (x *Index) Update(ctx context.Context, docs []publisher.Document) (publisher.IndexStats, error) {
	var st publisher.IndexStats
	if len(docs) == 0 {
		return st, nil
	}
	old, err := x.aliased(ctx, false)
	if err != nil {
		return st, err
	}
	if len(old) != 1 {
		return st, fmt.Errorf("%w: %d indexes behind %s", publisher.ErrNoIndex, len(old), x.cfg.Alias)
	}
	st.Index = old[0]
	path := "/" + url.PathEscape(x.cfg.Alias) + "/_bulk?refresh=true&require_alias=true"
	for len(docs) > 0 {
		n := min(len(docs), x.cfg.BulkSize)
		indexed, removed, err := x.bulk(ctx, path, docs[:n], true)
		st.Indexed += indexed
		st.Removed += removed
		if err != nil {
			return st, err
		}
		removed, err = x.removeOthers(ctx, docs[:n])
		st.Removed += removed
		if err != nil {
			return st, err
		}
		docs = docs[n:]
	}
	return st, nil
}

// removeOthers deletes the documents that hold the key of one of docs
// under another id: a key that passed to another user (a node taken over,
// a user recreated in the source) leaves its previous document behind.
func (x *Index) removeOthers(ctx context.Context, docs []publisher.Document) (int, error) {
	var keys, ids []string
	for _, d := range docs {
		if k, ok := d.Fields["key"].(string); ok {
			keys = append(keys, k)
		}
		ids = append(ids, d.ID)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	// A search for them, then a bulk delete: _delete_by_query lives in a
	// module (reindex) that not every server loads.
	body, _ := json.Marshal(map[string]any{"size": 10000, "_source": false, "query": map[string]any{"bool": map[string]any{
		"filter":   []any{map[string]any{"terms": map[string]any{"key.keyword": keys}}},
		"must_not": []any{map[string]any{"ids": map[string]any{"values": ids}}},
	}}})
	var res struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	alias := "/" + url.PathEscape(x.cfg.Alias)
	if _, err := x.do(ctx, http.MethodPost, alias+"/_search", body, &res); err != nil {
		return 0, fmt.Errorf("find documents of keys that moved: %w", err)
	}
	if len(res.Hits.Hits) == 0 {
		return 0, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, h := range res.Hits.Hits {
		_ = enc.Encode(map[string]any{"delete": map[string]any{"_id": h.ID}})
	}
	var bulk bulkResponse
	if _, err := x.do(ctx, http.MethodPost, alias+"/_bulk?refresh=true&require_alias=true", b.Bytes(), &bulk); err != nil {
		return 0, fmt.Errorf("remove documents of keys that moved: %w", err)
	}
	removed := 0
	for _, item := range bulk.Items {
		if r := item["delete"]; r.Status < 300 {
			removed++
		}
	}
	return removed, nil
}

// bulk writes one bulk request: docs are indexed, or removed when they
// are inactive and the index does not keep leavers (left out, in a fresh
// index). It returns how many documents were indexed and removed.
func (x *Index) bulk(ctx context.Context, path string, docs []publisher.Document, inPlace bool) (indexed, removed int, err error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	ops := 0
	for _, d := range docs {
		if !d.Active && !x.cfg.KeepInactive {
			if inPlace {
				_ = enc.Encode(map[string]any{"delete": map[string]any{"_id": d.ID}})
				ops++
			}
			continue
		}
		_ = enc.Encode(map[string]any{"index": map[string]any{"_id": d.ID}})
		if err := enc.Encode(d.Fields); err != nil {
			return 0, 0, fmt.Errorf("encode the document of %s: %w", d.Key, err)
		}
		ops++
	}
	if ops == 0 {
		return 0, 0, nil
	}
	var res bulkResponse
	if _, err := x.do(ctx, http.MethodPost, path, b.Bytes(), &res); err != nil {
		return 0, 0, fmt.Errorf("bulk write: %w", err)
	}
	var failed []string
	for _, item := range res.Items {
		for op, r := range item {
			switch {
			case r.Status < 300 && op == "delete":
				removed++
			case r.Status < 300:
				indexed++
			case op == "delete" && r.Status == http.StatusNotFound:
				// Already gone.
			default:
				if len(failed) < 3 {
					failed = append(failed, fmt.Sprintf("%s %s: %d %s: %s", op, r.ID, r.Status, r.Error.Type, r.Error.Reason))
				}
			}
		}
	}
	if len(failed) > 0 {
		return indexed, removed, fmt.Errorf("bulk write: %d of %d operations failed, for example %s", ops-indexed-removed, ops, strings.Join(failed, "; "))
	}
	return indexed, removed, nil
}

type bulkResponse struct {
	Errors bool                          `json:"errors"`
	Items  []map[string]bulkItemResponse `json:"items"`
}

type bulkItemResponse struct {
	ID     string     `json:"_id"`
	Status int        `json:"status"`
	Error  errorCause `json:"error"`
}

type errorCause struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

func (x *Index) newIndexName() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("name the new people index: %w", err)
	}
	return fmt.Sprintf("%s_oktasync_%s_%s", x.cfg.Alias, time.Now().UTC().Format("20060102"), hex.EncodeToString(b[:])), nil
}

var errNotFound = errors.New("not found")

// do sends a request and decodes a JSON answer into out (if not nil). Any
// status of 300 or more is an error.
func (x *Index) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	return x.doStatus(ctx, method, path, body, out)
}

// doOnce is do for a request that must not be resent (an alias action):
// an overload answer is an error like any other.
func (x *Index) doOnce(ctx context.Context, method, path string, body []byte) (int, error) {
	return x.send(ctx, method, path, body, nil, false)
}

// doStatus is do that also accepts the statuses in ok (then out is left).
// Overload answers (429, 502–504) are retried a few times: every request
// sent this way is idempotent.
func (x *Index) doStatus(ctx context.Context, method, path string, body []byte, out any, ok ...int) (int, error) {
	return x.send(ctx, method, path, body, out, true, ok...)
}

func (x *Index) send(ctx context.Context, method, path string, body []byte, out any, retry bool, ok ...int) (int, error) {
	u := x.base.String() + path
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return 0, fmt.Errorf("search %s %s: %w", method, pathOnly(path), err)
		}
		if body != nil {
			ct := "application/json"
			if strings.Contains(path, "/_bulk") {
				ct = "application/x-ndjson"
			}
			req.Header.Set("Content-Type", ct)
		}
		if x.cfg.Username != "" {
			req.SetBasicAuth(x.cfg.Username, x.cfg.Password)
		}
		resp, err := x.client.Do(req)
		if err != nil {
			var uerr *url.Error
			if errors.As(err, &uerr) {
				err = uerr.Err // the URL is named below, without credentials
			}
			return 0, fmt.Errorf("search %s unreachable: %w", redactURL(x.cfg.URL), err)
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		_ = resp.Body.Close()
		if rerr != nil {
			return resp.StatusCode, fmt.Errorf("search %s %s: read the answer: %w", method, pathOnly(path), rerr)
		}
		for _, s := range ok {
			if resp.StatusCode == s {
				return s, nil
			}
		}
		switch {
		case retry && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 502 && resp.StatusCode <= 504):
			if attempt < 4 {
				select {
				case <-time.After(time.Duration(250<<attempt) * time.Millisecond):
					continue
				case <-ctx.Done():
					return resp.StatusCode, ctx.Err()
				}
			}
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return resp.StatusCode, fmt.Errorf("search %s: %s %s refused (%d): check OKTASYNC_SEARCH_USERNAME and OKTASYNC_SEARCH_PASSWORD and the user's privileges on %s*",
				redactURL(x.cfg.URL), method, pathOnly(path), resp.StatusCode, x.cfg.Alias)
		case resp.StatusCode < 300:
			if out != nil && method != http.MethodHead {
				if err := json.Unmarshal(data, out); err != nil {
					return resp.StatusCode, fmt.Errorf("search %s %s: %w", method, pathOnly(path), err)
				}
			}
			return resp.StatusCode, nil
		}
		err = fmt.Errorf("search %s %s: %d %s", method, pathOnly(path), resp.StatusCode, reason(data))
		if resp.StatusCode == http.StatusNotFound {
			err = fmt.Errorf("%w: %w", errNotFound, err)
		}
		return resp.StatusCode, err
	}
}

// reason is the error of a server's answer, short.
func reason(data []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && len(e.Error) > 0 {
		var c struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(e.Error, &c) == nil && c.Type != "" {
			return c.Type + ": " + c.Reason
		}
		return string(e.Error)
	}
	s := strings.TrimSpace(string(data))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

func pathOnly(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return p
}

// redactURL drops any user info so a URL can appear in an error: what
// url.Parse takes for it, and, in a string it does not read as a URL with
// a host (a scheme without "//", say), everything before the last "@".
func redactURL(raw string) string {
	if i := strings.LastIndexByte(raw, '@'); i >= 0 {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			return "…@" + raw[i+1:]
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	u.User = nil
	return u.String()
}
