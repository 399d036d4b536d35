package okta

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// HookConfig configures the Okta event hook endpoint. Secrets come from the
// environment (cmd) and are never logged.
type HookConfig struct {
	// AuthHeader is the header Okta sends the shared secret in.
	AuthHeader string `yaml:"hook_auth_header"`
	// Secrets are the accepted header values; several allow rotation.
	Secrets []string `yaml:"-"`
	// MaxBody is the largest delivery accepted, in bytes.
	MaxBody int64 `yaml:"hook_max_body"`
	// DedupSize is how many event uuids are remembered to drop redeliveries.
	DedupSize int `yaml:"-"`
}

// EnvHookSecrets is the environment variable cmd reads HookConfig.Secrets
// from, comma-separated; named here so that errors can say where to look.
const EnvHookSecrets = "OKTASYNC_HOOK_SECRETS"

// DefaultHookConfig is the documented default, the one place defaults are set.
func DefaultHookConfig() HookConfig {
	return HookConfig{AuthHeader: "Authorization", MaxBody: 1 << 20, DedupSize: 100_000}
}

// Validate reports every problem, each naming its field (under serve:).
func (c HookConfig) Validate() error {
	var errs []error
	if !ValidHeaderName(c.AuthHeader) {
		errs = append(errs, fmt.Errorf("serve.hook_auth_header: %q is not an HTTP header name", c.AuthHeader))
	}
	if len(c.Secrets) == 0 {
		errs = append(errs, fmt.Errorf("serve: no event hook secret: set %s (comma-separated, several allowed for rotation)", EnvHookSecrets))
	}
	for _, s := range c.Secrets {
		if len(s) < 16 {
			errs = append(errs, fmt.Errorf("%s: every secret must be at least 16 characters", EnvHookSecrets))
			break
		}
	}
	if c.MaxBody < 1024 {
		errs = append(errs, fmt.Errorf("serve.hook_max_body: must be at least 1024 bytes, got %d", c.MaxBody))
	}
	if c.DedupSize < 1 {
		errs = append(errs, fmt.Errorf("serve.hook dedup size: must be positive, got %d", c.DedupSize))
	}
	return errors.Join(errs...)
}

// ValidHeaderName reports whether s is an HTTP header field name (RFC 9110
// token characters).
func ValidHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', strings.ContainsRune("!#$%&'*+-.^_`|~", r):
		default:
			return false
		}
	}
	return true
}

// HookObserver receives what the endpoint did, for metrics.
type HookObserver interface {
	HookDelivery(result string) // accepted, unauthorized, too_large, malformed, method, overflow
	HookEvents(result string, n int)
}

// userEvents are the event types that change what Amundsen shows about a
// user: lifecycle and profile events. Their User targets are re-read.
func userEvent(t string) bool {
	switch {
	case strings.HasPrefix(t, "user.lifecycle."):
		return true
	}
	switch t {
	case "user.account.update_profile", "user.account.lock", "user.account.unlock",
		"user.account.unlock_by_admin", "user.account.update_primary_email",
		// Status moves: RECOVERY, and PASSWORD_EXPIRED/RECOVERY back to ACTIVE.
		"user.account.reset_password", "user.account.update_password",
		"group.user_membership.add", "group.user_membership.remove",
		"application.user_membership.add", "application.user_membership.remove":
		return true
	}
	return false
}

// HookHandler is the Okta event hook endpoint. It answers the one-time
// verification GET, authenticates deliveries, drops redelivered events, and
// hands the ids of the users they name to enqueue — within milliseconds: it
// never calls Okta or Neo4j itself (Okta gives up after 3 s).
type HookHandler struct {
	cfg     HookConfig
	secrets [][32]byte
	enqueue func(userIDs []string) bool
	obs     HookObserver

	mu    sync.Mutex
	seen  map[string]struct{}
	order []string // ring of remembered uuids, oldest first
	next  int
}

// NewHookHandler builds the endpoint. enqueue returns false when the queue
// is full; the delivery is still acknowledged (the worker falls back to an
// incremental sync, so nothing is lost). obs may be nil.
func NewHookHandler(cfg HookConfig, enqueue func(userIDs []string) bool, obs HookObserver) (*HookHandler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &HookHandler{cfg: cfg, enqueue: enqueue, obs: obs, seen: make(map[string]struct{}, cfg.DedupSize), order: make([]string, cfg.DedupSize)}
	for _, s := range cfg.Secrets {
		h.secrets = append(h.secrets, sha256.Sum256([]byte(s)))
	}
	if h.obs == nil {
		h.obs = nopObserver{}
	}
	return h, nil
}

type nopObserver struct{}

func (nopObserver) HookDelivery(string)    {}
func (nopObserver) HookEvents(string, int) {}

// authorized compares the header with every secret in constant time
// (hashing first makes the comparison independent of the lengths).
func (h *HookHandler) authorized(r *http.Request) bool {
	got := sha256.Sum256([]byte(r.Header.Get(h.cfg.AuthHeader)))
	ok := 0
	for _, s := range h.secrets {
		ok |= subtle.ConstantTimeCompare(got[:], s[:])
	}
	return ok == 1
}

type hookDelivery struct {
	Data struct {
		Events []hookEvent `json:"events"`
	} `json:"data"`
}

type hookEvent struct {
	UUID      string `json:"uuid"`
	EventType string `json:"eventType"`
	Target    []struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"target"`
}

func (h *HookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		// Okta's one-time verification. Echoing the challenge reveals
		// nothing, and Okta does not document sending the auth header here.
		challenge := r.Header.Get("X-Okta-Verification-Challenge")
		if challenge == "" {
			h.obs.HookDelivery("malformed")
			http.Error(w, "missing x-okta-verification-challenge", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"verification": challenge})
		return
	case http.MethodPost:
	default:
		h.obs.HookDelivery("method")
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if !h.authorized(r) {
		h.obs.HookDelivery("unauthorized")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.obs.HookDelivery("too_large")
			http.Error(w, "delivery too large", http.StatusRequestEntityTooLarge)
			return
		}
		h.obs.HookDelivery("malformed")
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	var d hookDelivery
	if err := json.Unmarshal(body, &d); err != nil {
		h.obs.HookDelivery("malformed")
		http.Error(w, "malformed JSON", http.StatusBadRequest)
		return
	}
	ids, dups, ignored := h.users(d.Data.Events)
	h.obs.HookEvents("duplicate", dups)
	h.obs.HookEvents("ignored", ignored)
	if len(ids) > 0 {
		if h.enqueue(ids) {
			h.obs.HookEvents("queued", len(ids))
		} else {
			h.obs.HookEvents("overflow", len(ids))
		}
	}
	h.obs.HookDelivery("accepted")
	w.WriteHeader(http.StatusNoContent)
}

// users returns the distinct ids of User targets of new user events, and
// counts the duplicate and ignored events.
func (h *HookHandler) users(events []hookEvent) (ids []string, dups, ignored int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := map[string]bool{}
	for _, ev := range events {
		if ev.UUID != "" {
			if _, dup := h.seen[ev.UUID]; dup {
				dups++
				continue
			}
			h.remember(ev.UUID)
		}
		if !userEvent(ev.EventType) {
			ignored++
			continue
		}
		for _, t := range ev.Target {
			if t.Type == "User" && t.ID != "" && !set[t.ID] {
				set[t.ID] = true
				ids = append(ids, t.ID)
			}
		}
	}
	return ids, dups, ignored
}

// remember adds a uuid, forgetting the oldest when full.
func (h *HookHandler) remember(uuid string) {
	if old := h.order[h.next]; old != "" {
		delete(h.seen, old)
	}
	h.order[h.next] = uuid
	h.seen[uuid] = struct{}{}
	h.next = (h.next + 1) % len(h.order)
}
