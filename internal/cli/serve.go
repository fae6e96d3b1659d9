package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/config"
	"github.com/leadcap/leadcap/internal/metrics"
	"github.com/leadcap/leadcap/internal/outbox"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store"
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

	handler := server.New(server.Deps{
		Store:          st,
		Capture:        capture.New(st, nil).WithMetrics(m),
		Log:            log,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies,
		Keys:           keys,
		KioskIdle:      cfg.KioskIdle,
		KioskThanks:    cfg.KioskThanks,
		Metrics:        m,
		MetricsAllow:   cfg.MetricsAllow,
		MetricsToken:   cfg.MetricsToken,
		Identity:       ident,
		SecureCookies:  cfg.SecureCookies(),
		Blob:           objects,
		PublicURL:      cfg.PublicURL,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.With("component", "http").Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}

	// Workers run until the server has drained, so that the last leads
	// accepted are still copied to the object store.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var workers sync.WaitGroup
	workers.Go(func() {
		w := &outbox.Worker{Store: st, Blob: objects, Log: log, Interval: cfg.OutboxInterval, Metrics: m}
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
	workers.Go(func() { evaluator.Run(workCtx) })
	workers.Go(func() { dispatcher.Run(workCtx) })

	workers.Go(func() { indexForSearch(workCtx, st, log) })

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
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "component", "http", "timeout", cfg.ShutdownTimeout.String())
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	stopWork()
	workers.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	log.Info("stopped", "component", "http")
	return nil
}

// indexForSearch gives search terms to leads stored before leadcap could
// search, logging its progress.
func indexForSearch(ctx context.Context, st *store.Store, log *slog.Logger) {
	n, err := st.IndexLeads(ctx, 500, func(done int) {
		log.Info("indexing leads for search", "component", "store", "indexed", done)
	})
	if err != nil && ctx.Err() == nil {
		log.Error("index leads for search", "component", "store", "indexed", n, "err", err)
	} else if n > 0 {
		log.Info("indexed leads for search", "component", "store", "indexed", n)
	}
}
