package okta

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/okta/okta-sdk-golang/v2/okta"
	"go.uber.org/zap"
)

// Event hook settings oktasync registers with Okta's Event Hooks API
// (/api/v1/eventHooks), for `oktasync hooks register` and `hooks status`.

// The OAuth scopes of the Event Hooks API: a service app needs manage to
// create, update, activate and verify hooks (hooks register), read to list
// them (hooks status). Syncs need neither, only okta.users.read.
const (
	ScopeEventHooksManage = "okta.eventHooks.manage"
	ScopeEventHooksRead   = "okta.eventHooks.read"
)

// DefaultEventHookName is the name of oktasync's event hook in Okta.
const DefaultEventHookName = "oktasync"

// Event hook statuses as Okta spells them.
const (
	EventHookActive   = "ACTIVE"
	EventHookInactive = "INACTIVE"
	EventHookVerified = "VERIFIED"
)

// EventHookTypes are the event types oktasync subscribes its hook to, for
// this configuration: the ones HookHandler acts on (userEvent) that Okta
// lets event hooks subscribe to. user.account.update_primary_email, which
// the handler also takes, is not eligible; the scheduled syncs catch it. A
// group membership change re-reads the user when teams come from groups or
// okta.scope names groups, and an app assignment when okta.scope names an
// app: otherwise neither can change what oktasync writes.
func (c Config) EventHookTypes() []string {
	types := []string{
		"user.lifecycle.create",
		"user.lifecycle.activate",
		"user.lifecycle.deactivate",
		"user.lifecycle.suspend",
		"user.lifecycle.unsuspend",
		"user.lifecycle.reactivate",
		"user.lifecycle.delete.initiated",
		"user.account.update_profile",
		"user.account.lock",
		"user.account.unlock",
		"user.account.unlock_by_admin",
		"user.account.reset_password",
		"user.account.update_password",
	}
	if c.Mapping.Team.Source == TeamFromGroups || len(c.Scope.Groups) > 0 {
		types = append(types, "group.user_membership.add", "group.user_membership.remove")
	}
	if c.Scope.App != "" {
		types = append(types, "application.user_membership.add", "application.user_membership.remove")
	}
	return types
}

// EventHookSpec is the event hook `hooks register` makes Okta hold.
type EventHookSpec struct {
	Name string
	// URL is serve's hook endpoint as Okta reaches it, e.g.
	// https://oktasync.acme.com/okta/events.
	URL string
	// AuthHeader and Secret are what Okta sends with every delivery
	// (serve.hook_auth_header and one of OKTASYNC_HOOK_SECRETS).
	AuthHeader string
	Secret     string
}

// Validate reports every problem; the secret is never quoted.
func (s EventHookSpec) Validate() error {
	var errs []error
	if strings.TrimSpace(s.Name) == "" {
		errs = append(errs, errors.New("event hook name: must not be empty"))
	}
	if u, err := url.Parse(s.URL); err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("--url: %q is not an absolute URL like https://oktasync.acme.com/okta/events", s.URL))
	} else if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		errs = append(errs, fmt.Errorf("--url: %q: Okta delivers only to https:// (http:// is accepted for loopback tests)", s.URL))
	}
	if !ValidHeaderName(s.AuthHeader) {
		errs = append(errs, fmt.Errorf("serve.hook_auth_header: %q is not an HTTP header name", s.AuthHeader))
	}
	if len(s.Secret) < 16 {
		errs = append(errs, fmt.Errorf("%s: the hook secret must be at least 16 characters", EnvHookSecrets))
	}
	return errors.Join(errs...)
}

// EventHook is one event hook as Okta returns it (never with its secret).
type EventHook struct {
	ID                 string
	Name               string
	Status             string // ACTIVE or INACTIVE
	VerificationStatus string // VERIFIED or UNVERIFIED
	URL                string
	AuthHeader         string
	EventTypes         []string
}

// Ready reports whether Okta delivers to the hook: active and verified.
func (h EventHook) Ready() bool {
	return h.Status == EventHookActive && h.VerificationStatus == EventHookVerified
}

// MissingEventTypes are the types (EventHookTypes) the hook is not
// subscribed to.
func (h EventHook) MissingEventTypes(types []string) []string {
	var missing []string
	for _, t := range types {
		if !slices.Contains(h.EventTypes, t) {
			missing = append(missing, t)
		}
	}
	return missing
}

// Registration is what Register did.
type Registration struct {
	Hook EventHook
	// Created is true when no hook had the URL and one was created;
	// otherwise the one there was updated in place (same id).
	Created bool
	// Activated and Verified say whether Register activated the hook and
	// had Okta verify it (it skips both when already done).
	Activated, Verified bool
}

// HookAdmin manages oktasync's event hook through Okta's Event Hooks API,
// with the same client, credentials, timeouts and rate-limit handling as
// the extractor. The credential must be allowed to manage event hooks.
type HookAdmin struct {
	cfg    Config
	client *okta.Client
	log    *zap.Logger
}

// NewHookAdmin validates cfg and builds the client; it does no I/O. scope
// is ScopeEventHooksManage (Register) or ScopeEventHooksRead (List only);
// a service app asks for it instead of cfg.Scopes.
func NewHookAdmin(cfg Config, scope string, log *zap.Logger, opts ...Option) (*HookAdmin, error) {
	if scope != ScopeEventHooksManage && scope != ScopeEventHooksRead {
		return nil, fmt.Errorf("event hooks scope: %q is neither %s nor %s", scope, ScopeEventHooksManage, ScopeEventHooksRead)
	}
	if cfg.OAuth() {
		cfg.Scopes, cfg.onlyScopes = []string{scope}, true
	}
	e, err := New(cfg, log, opts...)
	if err != nil {
		return nil, err
	}
	return &HookAdmin{cfg: e.cfg, client: e.client, log: e.log.With(zap.String("component", "eventhooks"))}, nil
}

// List returns every event hook of the org.
func (a *HookAdmin) List(ctx context.Context) ([]EventHook, error) {
	hooks, resp, err := a.client.EventHook.ListEventHooks(ctx)
	if err != nil {
		return nil, fmt.Errorf("list event hooks: %w", a.cfg.classify(err, resp))
	}
	out := make([]EventHook, 0, len(hooks))
	for _, h := range hooks {
		if h != nil {
			out = append(out, fromSDKHook(h))
		}
	}
	return out, nil
}

// HooksAt returns the hooks among hooks that deliver to url.
func HooksAt(hooks []EventHook, url string) []EventHook {
	var out []EventHook
	for _, h := range hooks {
		if h.URL == url {
			out = append(out, h)
		}
	}
	return out
}

// Register makes Okta hold exactly one event hook for spec.URL: it creates
// it, or updates the one already there in place (same id; the secret is
// write-only in Okta, so it is always sent again), activates it if
// inactive, and asks Okta to verify it unless it is verified: Okta then
// sends spec.URL its one-time verification GET, which serve answers.
// Running it again changes nothing. It refuses to choose between several
// hooks with the URL.
func (a *HookAdmin) Register(ctx context.Context, spec EventHookSpec) (Registration, error) {
	if err := spec.Validate(); err != nil {
		return Registration{}, err
	}
	all, err := a.List(ctx)
	if err != nil {
		return Registration{}, err
	}
	var reg Registration
	body := toSDKHook(spec, a.cfg.EventHookTypes())
	switch same := HooksAt(all, spec.URL); len(same) {
	case 0:
		h, err := a.create(ctx, spec.URL, body)
		if err != nil {
			return Registration{}, err
		}
		reg.Hook, reg.Created = h, true
	case 1:
		h, resp, err := a.client.EventHook.UpdateEventHook(ctx, same[0].ID, body)
		if err != nil {
			return Registration{}, fmt.Errorf("update event hook %s: %w", same[0].ID, a.cfg.classify(err, resp))
		}
		reg.Hook = fromSDKHook(h)
	default:
		ids := make([]string, len(same))
		for i, h := range same {
			ids[i] = h.ID
		}
		return Registration{}, fmt.Errorf("%d event hooks deliver to %s (%s): deactivate and delete all but one in the Okta Admin Console, then run again",
			len(same), spec.URL, strings.Join(ids, ", "))
	}
	if reg.Hook.Status != EventHookActive {
		h, resp, err := a.client.EventHook.ActivateEventHook(ctx, reg.Hook.ID)
		if err != nil {
			return reg, fmt.Errorf("activate event hook %s: %w", reg.Hook.ID, a.cfg.classify(err, resp))
		}
		reg.Hook, reg.Activated = fromSDKHook(h), true
	}
	if reg.Hook.VerificationStatus != EventHookVerified {
		h, resp, err := a.client.EventHook.VerifyEventHook(ctx, reg.Hook.ID)
		if err != nil {
			return reg, fmt.Errorf("verify event hook %s (Okta calls %s, which must be serve, reachable from Okta): %w",
				reg.Hook.ID, spec.URL, a.cfg.classify(err, resp))
		}
		reg.Hook, reg.Verified = fromSDKHook(h), true
		if reg.Hook.VerificationStatus != EventHookVerified {
			return reg, fmt.Errorf("verify event hook %s: Okta answered verificationStatus %q", reg.Hook.ID, reg.Hook.VerificationStatus)
		}
	}
	a.log.Info("event hook registered", zap.String("id", reg.Hook.ID), zap.Bool("created", reg.Created),
		zap.Bool("verified_now", reg.Verified), zap.Int("event_types", len(reg.Hook.EventTypes)))
	return reg, nil
}

// create creates the hook at url. A create is not idempotent: when its
// answer is lost (connection dropped, timeout, 5xx), Okta may have created
// the hook all the same, and sending it again would make a second one that
// Okta delivers every event to as well. So the transport sends it once, and
// after such a failure create lists the hooks: it adopts the one at url if
// the create went through, and tries again (up to okta.max_retries times)
// only if none is there.
func (a *HookAdmin) create(ctx context.Context, url string, body okta.EventHook) (EventHook, error) {
	for attempt := 1; ; attempt++ {
		h, resp, err := a.client.EventHook.CreateEventHook(withoutRetries(ctx), body)
		if err == nil {
			return fromSDKHook(h), nil
		}
		err = a.cfg.classify(err, resp)
		if !outcomeUnknown(err) || attempt > a.cfg.MaxRetries || ctx.Err() != nil {
			return EventHook{}, fmt.Errorf("create event hook: %w", err)
		}
		all, lerr := a.List(ctx)
		if lerr != nil {
			return EventHook{}, fmt.Errorf("create event hook: %w; then, looking whether it was created: %w", err, lerr)
		}
		switch same := HooksAt(all, url); len(same) {
		case 0:
			a.log.Warn("event hook create failed, none was created; trying again", zap.Int("attempt", attempt), zap.Error(err))
			if serr := sleepCtx(ctx, backoffDelay(a.cfg.RetryBackoff, attempt)); serr != nil {
				return EventHook{}, fmt.Errorf("create event hook: %w", err)
			}
		case 1:
			a.log.Warn("event hook create answered with an error, but Okta created it; adopting it",
				zap.String("id", same[0].ID), zap.Error(err))
			return same[0], nil
		default:
			return EventHook{}, fmt.Errorf("create event hook: %w; %d event hooks now deliver to %s: deactivate and delete all but one in the Okta Admin Console, then run again",
				err, len(same), url)
		}
	}
}

// outcomeUnknown reports whether a failed request may still have been
// carried out by Okta: no answer, or a 5xx.
func outcomeUnknown(err error) bool {
	var te *TransportError
	var ae *APIError
	return errors.As(err, &te) || (errors.As(err, &ae) && ae.Status >= 500)
}

func toSDKHook(spec EventHookSpec, types []string) okta.EventHook {
	return okta.EventHook{
		Name:   spec.Name,
		Events: &okta.EventSubscriptions{Type: "EVENT_TYPE", Items: types},
		Channel: &okta.EventHookChannel{
			Type:    "HTTP",
			Version: "1.0.0",
			Config: &okta.EventHookChannelConfig{
				Uri:        spec.URL,
				AuthScheme: &okta.EventHookChannelConfigAuthScheme{Type: "HEADER", Key: spec.AuthHeader, Value: spec.Secret},
			},
		},
	}
}

func fromSDKHook(h *okta.EventHook) EventHook {
	out := EventHook{ID: h.Id, Name: h.Name, Status: h.Status, VerificationStatus: h.VerificationStatus}
	if h.Events != nil {
		out.EventTypes = slices.Clone(h.Events.Items)
	}
	if h.Channel != nil && h.Channel.Config != nil {
		out.URL = h.Channel.Config.Uri
		if a := h.Channel.Config.AuthScheme; a != nil {
			out.AuthHeader = a.Key
		}
	}
	return out
}
