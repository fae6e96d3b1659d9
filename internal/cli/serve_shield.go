package cli

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/ratelimit"
	"github.com/leadcap/leadcap/internal/shield"
	"github.com/leadcap/leadcap/internal/store"
)

// newShield builds the server's shield (rules and rate limits) and its
// form abuse defences from cfg; links checks kiosk device links. Close the
// shield when done.
func newShield(ctx context.Context, st *store.Store, keys *crypto.KeyRing, links *kiosk.Links, cfg config.Config, log *slog.Logger, m *metrics.Metrics) (*shield.Shield, *shield.Forms, error) {
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
		// A revoked link refuses the lead; one that is made up, changed or
		// expired only proves nothing, as a phone's form does not.
		VerifyDevice: func(ctx context.Context, token, conferenceID string) (string, error) {
			d, err := links.Verify(ctx, token, conferenceID, time.Now())
			switch code := leadcap.ErrorCode(err); {
			case err == nil:
				return d.ID, nil
			case errors.Is(err, kiosk.ErrRevoked):
				return "", err
			case code == leadcap.EFORBIDDEN || code == leadcap.EGONE:
				return "", nil
			}
			return "", err
		},
	})
	return guard, forms, nil
}
