package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.uber.org/zap"

	"github.com/oktasync/oktasync/extractor/okta"
)

// runHooks is `oktasync hooks register|status`: Okta set-up for serve.
func runHooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "register" && args[0] != "status") {
		// Asked for, the usage is the answer (exit 0, on stdout); otherwise a usage error.
		help := len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help")
		w, code := stderr, exitConfig
		if help {
			w, code = stdout, exitOK
		}
		fmt.Fprint(w, `Usage:
  oktasync hooks register --url URL [--config FILE]   create or update oktasync's Okta event hook and verify it
  oktasync hooks status [--url URL] [--config FILE]   show it

Needs OKTA_ORG_URL and a credential allowed to manage event hooks (an API
token of a super admin, or a service app with okta.eventHooks.manage; status
only reads them: okta.eventHooks.read is enough); register sends the first secret of OKTASYNC_HOOK_SECRETS in the header
serve.hook_auth_header, as serve expects. oktasync hooks register -h lists the flags.
`)
		return code
	}
	register := args[0] == "register"
	f := newFlags(stderr, "hooks "+args[0], "Manages the Okta event hook that delivers to oktasync serve.",
		[][2]string{{"okta-org-url", "Okta org URL (env OKTA_ORG_URL)"}})
	f.serve = register // register needs serve's hook secret and header, validated
	f.summary = "none"
	hookURL := f.fs.String("url", "", "serve's hook endpoint as Okta reaches it, e.g. https://oktasync.acme.com/okta/events")
	name := f.fs.String("name", okta.DefaultEventHookName, "the event hook's name in Okta")
	cfg, log, code := setup(f, args[1:], getenv, stderr)
	if log == nil {
		return code
	}
	defer log.Sync() //nolint:errcheck // stderr sync errors are not actionable

	scope := okta.ScopeEventHooksRead
	if register {
		scope = okta.ScopeEventHooksManage
	}
	admin, err := okta.NewHookAdmin(cfg.Okta, scope, log)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", configError(err))
		return exitConfig
	}
	if !register {
		return hooksStatus(ctx, admin, cfg.Okta.EventHookTypes(), *hookURL, *name, stdout, stderr)
	}
	if *hookURL == "" {
		fmt.Fprintln(stderr, "oktasync hooks register: --url is required")
		return exitConfig
	}
	if u, err := url.Parse(*hookURL); err == nil && u.Path != cfg.Serve.HookPath {
		fmt.Fprintf(stderr, "oktasync: note: --url's path %q is not serve.hook_path %q; fine only if a proxy rewrites it\n", u.Path, cfg.Serve.HookPath)
	}
	spec := okta.EventHookSpec{Name: *name, URL: *hookURL, AuthHeader: cfg.Serve.Hook.AuthHeader, Secret: cfg.Serve.Hook.Secrets[0]}
	reg, err := admin.Register(ctx, spec)
	if err != nil {
		log.Error("hooks register failed", zap.Error(err))
		fmt.Fprintln(stderr, "oktasync:", err)
		if reg.Hook.ID != "" {
			printHook(stdout, reg.Hook, cfg.Okta.EventHookTypes())
		}
		return exitFailed
	}
	action := "updated (same id)"
	if reg.Created {
		action = "created"
	}
	fmt.Fprintf(stdout, "event hook %s %s", reg.Hook.ID, action)
	if reg.Verified {
		fmt.Fprint(stdout, "; serve answered Okta's verification")
	}
	fmt.Fprintln(stdout)
	printHook(stdout, reg.Hook, cfg.Okta.EventHookTypes())
	return exitOK
}

// hooksStatus prints the hooks delivering to hookURL (or named name) and
// exits 0 only if exactly one of them is active, verified and subscribed
// to every event type oktasync handles.
func hooksStatus(ctx context.Context, admin *okta.HookAdmin, types []string, hookURL, name string, stdout, stderr io.Writer) int {
	all, err := admin.List(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "oktasync:", err)
		return exitFailed
	}
	mine := okta.HooksAt(all, hookURL)
	if hookURL == "" {
		for _, h := range all {
			if h.Name == name {
				mine = append(mine, h)
			}
		}
	}
	if len(mine) == 0 {
		fmt.Fprintf(stdout, "no event hook %s (of %d in the org); run oktasync hooks register --url ...\n", describeMatch(hookURL, name), len(all))
		return exitFailed
	}
	for _, h := range mine {
		printHook(stdout, h, types)
	}
	if len(mine) > 1 {
		fmt.Fprintf(stdout, "%d event hooks %s: Okta delivers every event to each\n", len(mine), describeMatch(hookURL, name))
		return exitFailed
	}
	if h := mine[0]; !h.Ready() || len(h.MissingEventTypes(types)) > 0 {
		return exitFailed
	}
	return exitOK
}

func describeMatch(hookURL, name string) string {
	if hookURL != "" {
		return "delivering to " + hookURL
	}
	return fmt.Sprintf("named %q", name)
}

func printHook(w io.Writer, h okta.EventHook, types []string) {
	fmt.Fprintf(w, "  id            %s\n  name          %s\n  url           %s\n  status        %s\n  verification  %s\n  auth header   %s\n  event types   %d\n",
		h.ID, h.Name, h.URL, h.Status, h.VerificationStatus, h.AuthHeader, len(h.EventTypes))
	if m := h.MissingEventTypes(types); len(m) > 0 {
		fmt.Fprintf(w, "  missing       %s (run hooks register again)\n", strings.Join(m, ", "))
	}
}
