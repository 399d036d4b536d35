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
	"sort"
	"strings"
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
	swapped := false
	defer func() {
		if swapped {
			return
		}
		// The previous index keeps serving; the fresh one goes.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), x.cfg.Timeout)
		defer cancel()
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
	g.Go(func() error {
		for docs := range pages {
			n, _, err := x.bulk(gctx, "/"+name+"/_bulk", docs, false)
			st.Indexed += n
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return st, err
	}
	if _, err := x.do(ctx, http.MethodPost, "/"+name+"/_refresh", nil, nil); err != nil {
		return st, fmt.Errorf("refresh index %s: %w", name, err)
	}
	// The alias moves and the previous indexes go in one action. If
	// another run moved the alias meanwhile, the action fails as a whole:
	// read the alias again and retry once.
	for attempt := 0; ; attempt++ {
		old, err := x.aliased(ctx, true)
		if err != nil {
			return st, err
		}
		actions := []map[string]any{}
		for _, o := range old {
			actions = append(actions, map[string]any{"remove_index": map[string]any{"index": o}})
		}
		actions = append(actions, map[string]any{"add": map[string]any{"index": name, "alias": x.cfg.Alias}})
		body, _ := json.Marshal(map[string]any{"actions": actions})
		_, err = x.do(ctx, http.MethodPost, "/_aliases", body, nil)
		if err == nil {
			swapped, st.Index = true, name
			return st, nil
		}
		if attempt > 0 || !errors.Is(err, errNotFound) {
			return st, fmt.Errorf("point %s at %s: %w", x.cfg.Alias, name, err)
		}
	}
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
		return st, fmt.Errorf("no people index behind %s yet (%d indexes): the next full sync builds it", x.cfg.Alias, len(old))
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
		docs = docs[n:]
	}
	return st, nil
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

// doStatus is do that also accepts the statuses in ok (then out is left).
// Overload answers (429, 502–504) are retried a few times.
func (x *Index) doStatus(ctx context.Context, method, path string, body []byte, out any, ok ...int) (int, error) {
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
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 502 && resp.StatusCode <= 504:
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

// redactURL drops any user info so a URL can appear in an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparseable URL>"
	}
	u.User = nil
	return u.String()
}
