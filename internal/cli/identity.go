package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/store"
)

// newIdentity returns the identity service of cfg over st.
func newIdentity(st *store.Store, keys store.Sealer, cfg config.Config, log *slog.Logger) *identity.Service {
	return identity.New(identity.Options{Store: st, Keys: keys, Log: log,
		SessionIdle: cfg.SessionIdleTimeout, SessionMaxAge: cfg.SessionMaxAge,
		TempPasswordTTL: cfg.TempPasswordTTL, RequireAdminMFA: cfg.RequireAdminMFA})
}

// firstAdmin creates the first admin when there are no users, and prints
// its temporary password once, to the terminal (stderr), never to the log.
func firstAdmin(ctx context.Context, env *Env, ident *identity.Service, cfg config.Config, log *slog.Logger) error {
	u, temp, created, err := ident.EnsureFirstAdmin(ctx, cfg.AdminEmail)
	if leadcap.ErrorCode(err) == leadcap.ECONFLICT {
		fmt.Fprintf(env.Stderr, "leadcap: there is no admin, and %s (LEADCAP_ADMIN_EMAIL) belongs to a non-admin user.\n"+
			"Make one: leadcap users set-role EMAIL admin, or leadcap users create --email EMAIL --role admin\n", cfg.AdminEmail)
		return nil
	} else if err != nil {
		return err
	}
	if !created {
		return nil
	}
	log.Info("created the first admin; its temporary password is on the terminal", "component", "identity")
	mfaStep := ""
	if cfg.RequireAdminMFA {
		mfaStep = "\nThen turn on MFA (the console's Account page): an admin can do nothing else until then."
	}
	fmt.Fprintf(env.Stderr, "\nleadcap: created the first admin account. This password is shown only once:\n\n"+
		"    email:              %s\n    temporary password: %s\n\n"+
		"Sign in with it within %s (until %s) and choose a new password.%s\n"+
		"Lost it? Run: leadcap users reset-password %s\n\n",
		u.Email, temp, humanDuration(cfg.TempPasswordTTL), u.PasswordExpiresAt.Format(time.RFC3339), mfaStep, u.Email)
	return nil
}

// humanDuration writes whole days as days.
func humanDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		if d == 24*time.Hour {
			return "1 day"
		}
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// openIdentity opens the migrated store and the identity service of cfg.
func openIdentity(ctx context.Context, env *Env, cfg config.Config) (*store.Store, *identity.Service, error) {
	st, keys, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, newIdentity(st, keys, cfg, slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))), nil
}
