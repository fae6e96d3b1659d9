package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

// newShield builds the server's shield (rules and rate limits) and its
// form abuse defences from cfg. Close the shield when done.
func newShield(ctx context.Context, st *store.Store, keys *crypto.KeyRing, cfg config.Config, log *slog.Logger, m *metrics.Metrics) (*shield.Shield, *shield.Forms, error) {
	sc := cfg.Shield
	limit := func(r config.Rate) ratelimit.Config { return ratelimit.Config{Burst: r.Burst, Every: r.Every} }
	guard, err := shield.New(ctx, shield.Options{
		Store: st, Log: log, Metrics: m, TrustedProxies: cfg.TrustedProxies, GeoIPPath: sc.GeoIPDB, Poll: sc.RulesPoll,
		LeadsPerIP: limit(sc.LeadsPerIP), LeadsPerConference: limit(sc.LeadsPerConference), APIPerToken: limit(sc.APIPerToken),
	})
	if err != nil {
		return nil, nil, err
	}
	forms := shield.NewForms(shield.FormOptions{Keys: keys, Store: st, Shield: guard, Defences: shield.Defences{
		Honeypot: sc.Honeypot, MinFillTime: sc.MinFillTime, RenderToken: sc.RenderToken,
		RenderTokenTTL: sc.RenderTokenTTL, ProofOfWork: sc.ProofOfWork, PowBits: sc.PowBits,
	},
		// A kiosk tablet's device link, sent with its leads as device_token.
		VerifyDevice: func(token, conferenceID string) (string, error) {
			d, err := kiosk.Verify(keys, token, conferenceID, time.Now())
			return d.ID, err
		},
	})
	return guard, forms, nil
}
