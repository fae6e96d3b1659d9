package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/backup"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/erasure"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/indexer"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/outbox"
	"github.com/leadcap/leadcap/internal/server"
)

func newLogger(env *Env, cfg config.Config) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(env.Stdout, opts))
	}
	return slog.New(slog.NewJSONHandler(env.Stdout, opts))
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "serve", "serve [flags]")
	c := addCommon(fs)
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	cfg, err := c.load(env)
	if err != nil {
		return err
	}
	log := newLogger(env, cfg)

	st, keys, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, m := range applied {
		log.Info("applied migration", "component", "store", "migration", m)
	}
	if err := st.CheckSchema(ctx); err != nil {
		return err
	}
	ident := newIdentity(st, keys, cfg, log)
	if err := firstAdmin(ctx, env, ident, cfg, log); err != nil {
		return err
	}
	objects, err := blob.OpenDir(cfg.BlobDir())
	if err != nil {
		return err
	}
	defer objects.Close()

	m := metrics.New(leadcap.Version, nil)
	if env.Metrics != nil {
		env.Metrics(m)
	}
	evaluator, dispatcher, err := newAlarms(cfg, log, m, st)
	if err != nil {
		return err
	}
	links := kiosk.NewLinks(keys, st)
	guard, forms, err := newShield(ctx, st, keys, links, cfg, log, m)
	if err != nil {
		return err
	}
	defer guard.Close()

	tmp, err := privateTemp(cfg)
	if err != nil {
		return err
	}
	// Workers run until the server has drained, so that the last leads
	// accepted are still copied to the object store.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	auditor := export.StoreAuditor{Store: st}
	exports := export.NewService(workCtx, export.Config{Store: st, Blob: objects, Keys: keys, Auditor: auditor, Log: log,
		TempDir: tmp, Retention: cfg.ExportRetention, LinkTTL: cfg.ExportLinkTTL, SyncRows: cfg.ExportSyncRows,
		BaseURL: strings.TrimSuffix(cfg.PublicURL, "/")})

	handler := server.New(server.Deps{
		Store:           st,
		Capture:         capture.New(st, nil).WithMetrics(m).WithForms(forms),
		Exports:         exports,
		Log:             log,
		MaxBodyBytes:    cfg.MaxBodyBytes,
		TrustedProxies:  cfg.TrustedProxies,
		Kiosk:           links,
		KioskIdle:       cfg.KioskIdle,
		KioskThanks:     cfg.KioskThanks,
		Metrics:         m,
		MetricsAllow:    cfg.MetricsAllow,
		MetricsToken:    cfg.MetricsToken,
		Identity:        ident,
		SecureCookies:   cfg.SecureCookies(),
		Shield:          guard,
		Forms:           forms,
		MaxRequestBytes: cfg.Shield.MaxRequestBytes,
		Blob:            objects,
		Erasures:        &erasure.Log{Blob: objects, Keys: keys},
		PublicURL:       cfg.PublicURL,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.Shield.ReadHeaderTimeout,
		ReadTimeout:       cfg.Shield.ReadTimeout,
		WriteTimeout:      cfg.Shield.WriteTimeout,
		IdleTimeout:       cfg.Shield.IdleTimeout,
		MaxHeaderBytes:    cfg.Shield.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	if cfg.DebugListen != "" {
		prof, err := startProfiler(cfg.DebugListen, log)
		if err != nil {
			return err
		}
		defer prof.Close()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	var workers sync.WaitGroup
	workers.Go(func() {
		w := &outbox.Worker{Store: st, Blob: objects, Log: log, Interval: cfg.OutboxInterval, Lease: cfg.OutboxLease, Metrics: m}
		w.Run(workCtx)
	})
	workers.Go(func() {
		interval := min(cfg.AlarmInterval, 5*time.Second)
		p := &metrics.Probe{Metrics: m, Log: log, Interval: interval, SizeInterval: 12 * interval,
			Outbox: st.OutboxStats, DatabaseSize: st.SizeBytes,
			ObjectStoreSize: func(ctx context.Context) (int64, error) {
				u, err := objects.Usage(ctx, "")
				return u.StoredBytes, err
			}}
		p.Run(workCtx)
	})
	workers.Go(func() { refreshKeys(workCtx, keys, log, keyRefreshInterval) })
	workers.Go(func() { evaluator.Run(workCtx) })
	workers.Go(func() { dispatcher.Run(workCtx) })
	workers.Go(func() { guard.Run(workCtx) })
	workers.Go(func() {
		j := &export.Janitor{Store: st, Blob: objects, Auditor: auditor, Log: log}
		j.Run(workCtx)
	})

	workers.Go(func() {
		w := &indexer.Worker{Store: st, Log: log}
		w.Run(workCtx)
	})
	if cfg.BackupInterval > 0 {
		workers.Go(func() {
			w := &backup.Worker{Service: &backup.Service{Store: st, Blob: objects, Keys: keys, Log: log},
				Interval: cfg.BackupInterval, Retention: cfg.BackupRetention, Metrics: m}
			w.Run(workCtx)
		})
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	log.Info("leadcap listening", "component", "http", "addr", addr, "version", leadcap.Version,
		"database", st.Dialect(), "data_dir", cfg.DataDir)
	if env.Ready != nil {
		env.Ready(addr)
	}

	select {
	case err := <-serveErr:
		stopWork()
		workers.Wait()
		exports.Wait()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "component", "http", "timeout", cfg.ShutdownTimeout.String())
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopWork()
	workers.Wait()
	exports.Wait() // a running export stops and is recorded as failed
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("stopped", "component", "http")
	return nil
}
