package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/leadcap/leadcap/internal/shield"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyClientIP
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

// clientIP returns the client address the middleware resolved.
func clientIP(ctx context.Context) netip.Addr {
	ip, _ := ctx.Value(keyClientIP).(netip.Addr)
	return ip
}

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware is the fixed stack every request passes, outermost first:
// request id and client IP, log, recover, security headers.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.Now()
		var b [8]byte
		rand.Read(b[:])
		id := hex.EncodeToString(b[:])
		ip := shield.ClientIP(r, s.TrustedProxies)
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyClientIP, ip)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		if shield.ForwardedHTTPS(r, s.TrustedProxies) {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		if !publicSurface(r) {
			h.Set("Cache-Control", "no-store")
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				if sw.status == 0 {
					s.writeError(sw, r, "http", fmt.Errorf("panic: %v", v))
				} else {
					s.Log.ErrorContext(ctx, "panic after response started", "component", "http", "request_id", id, "err", fmt.Sprint(v))
					s.Metrics.Error("http")
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := s.Now().Sub(start)
			s.Metrics.ObserveRequest(routeOf(r), componentOf(r), status, elapsed)
			s.Log.LogAttrs(ctx, levelFor(status), "request",
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("route", routeOf(r)),
				slog.Int("status", status), slog.Int64("bytes", sw.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("component", componentOf(r)))
		}()
		if s.Shield != nil {
			if err := s.Shield.Screen(r, ip, func() string { _, p := s.mux.Handler(r); return p }); err != nil {
				s.writeError(sw, r, "shield", err)
				return
			}
		}
		if r.Body != nil && s.MaxRequestBytes > 0 {
			r.Body = http.MaxBytesReader(sw, r.Body, max(s.MaxRequestBytes, s.MaxBodyBytes))
		}
		next.ServeHTTP(sw, r)
	})
}

// publicSurface reports whether r is for the public booth form, its assets
// or a lead submission. Everything else is the admin surface, which no
// cache may keep: its answers carry leads, users and tokens.
func publicSurface(r *http.Request) bool {
	p := r.URL.Path
	return strings.HasPrefix(p, "/c/") || strings.HasPrefix(p, "/static/") ||
		(r.Method == http.MethodPost && p == "/api/v1/leads")
}

// routeOf names the route pattern (never the raw path, which may carry
// personal data or tokens).
func routeOf(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return "unmatched"
}

// componentOf names the part of leadcap that served r, for logs and metrics.
func componentOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/api/v1/leads"), strings.HasPrefix(p, "/c/"):
		return "leads"
	case strings.HasPrefix(p, "/api/v1/conferences"):
		return "conferences"
	case strings.HasPrefix(p, "/api/v1/exports"):
		return "exports"
	case strings.HasPrefix(p, "/api/v1/shield"):
		return "shield"
	case strings.HasPrefix(p, "/api/v1/auth"), strings.HasPrefix(p, "/api/v1/me"):
		return "auth"
	case strings.HasPrefix(p, "/api/v1/users"):
		return "users"
	case strings.HasPrefix(p, "/api/v1/audit"):
		return "audit"
	case strings.HasPrefix(p, "/api/v1/alarms"):
		return "alarms"
	}
	return "http"
}

// levelFor logs server errors as errors and everything else as info.
func levelFor(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
