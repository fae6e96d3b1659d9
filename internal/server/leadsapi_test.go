package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/blob"
	"github.com/leadcap/leadcap/internal/blob/blobtest"
	"github.com/leadcap/leadcap/internal/outbox"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// ids returns the ids of the leads of a listing answer.
func (r reply) ids() []string {
	list, _ := r.body["leads"].([]any)
	var out []string
	for _, l := range list {
		m, _ := l.(map[string]any)
		id, _ := m["id"].(string)
		out = append(out, id)
	}
	return out
}

func TestLeadsAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		ts := newTestServer(t, dsn)
		ts.mustConference(t, "expo", leadcap.StatusOpen)
		ts.mustConference(t, "fair", leadcap.StatusOpen)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.2.0.1")
		staffAcct := ts.mustAccount(t, leadcap.RoleStaff)
		staff := ts.mustLogin(t, staffAcct, "10.2.0.2")
		viewer := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleViewer), "10.2.0.3")

		ana := ts.mustLeadWith(t, map[string]any{"submission_id": "a", "email": "ana@acme.example", "first_name": "Ana", "last_name": "Díaz", "company": "Acme"})
		bo := ts.mustLeadWith(t, map[string]any{"submission_id": "b", "email": "bo@globex.example", "first_name": "Bo", "last_name": "Berg", "company": "Globex"})
		cy := ts.mustLeadWith(t, map[string]any{"conference": "fair", "submission_id": "c", "email": "cy@acme.example", "first_name": "Cy", "last_name": "Diaz", "company": "Acme"})
		ts.mustIndex(t)

		list := func(c *client, q string) reply {
			t.Helper()
			r := c.do(t, "GET", "/api/v1/leads"+q, nil)
			if r.status != 200 {
				t.Fatalf("GET /api/v1/leads%s: %d %s", q, r.status, r.raw)
			}
			return r
		}
		for q, want := range map[string][]string{
			"":                          {cy, bo, ana},
			"?sort=oldest":              {ana, bo, cy},
			"?conference=expo":          {bo, ana},
			"?conference=fair&q=diaz":   {cy},
			"?q=diaz":                   {cy, ana},
			"?q=DÍAZ%20acme":            {cy, ana},
			"?q=globex":                 {bo},
			"?q=zzz":                    nil,
			"?source=kiosk":             nil,
			"?spam=only":                nil,
			"?since=2000-01-01&limit=2": {cy, bo},
			"?until=2000-01-01":         nil,
		} {
			if got := list(viewer, q).ids(); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("GET /api/v1/leads%s: %v, want %v", q, got, want)
			}
		}
		r := list(viewer, "?limit=2")
		if next, _ := r.body["next"].(string); next == "" || strings.Join(list(viewer, "?limit=2&cursor="+next).ids(), ",") != ana {
			t.Errorf("second page after %q", next)
		}
		for q, field := range map[string]string{
			"?rating=lukewarm": "rating", "?sort=name": "sort", "?limit=0": "limit", "?since=yesterday": "since",
			"?conference=nope": "conference", "?cursor=zzz": "cursor", "?spam=maybe": "spam",
			"?q=" + strings.Repeat("a", 201): "q", "?colour=red": "colour",
		} {
			if r := viewer.do(t, "GET", "/api/v1/leads"+q, nil); r.status/100 != 4 || r.field(field) == "" {
				t.Errorf("GET /api/v1/leads%s: %d %s, want a problem with %s", q, r.status, r.raw, field)
			}
		}

		// Staff rate, tag and add notes; viewers may not.
		r = staff.do(t, "PATCH", "/api/v1/leads/"+ana, map[string]any{"rating": "hot", "tags": []string{"VIP", "follow-up"}, "note": "Wants a demo"})
		if r.status != 200 || r.str("rating") != "hot" {
			t.Fatalf("staff update: %d %s", r.status, r.raw)
		}
		notes, _ := r.body["staff_notes"].([]any)
		if len(notes) != 1 || notes[0].(map[string]any)["author"] != staffAcct.email || notes[0].(map[string]any)["text"] != "Wants a demo" {
			t.Fatalf("notes: %s", r.raw)
		}
		if tags, _ := r.body["tags"].([]any); fmt.Sprint(tags) != "[follow-up vip]" {
			t.Fatalf("tags: %v", tags)
		}
		if r := viewer.do(t, "PATCH", "/api/v1/leads/"+ana, map[string]any{"rating": "cold"}); r.status != 403 {
			t.Fatalf("viewer update: %d", r.status)
		}
		for body, field := range map[string]string{`{"rating":"boiling"}`: "rating", `{"tags":["<b>"]}`: "tags", `{"note":"  "}`: "note"} {
			if r := staff.do(t, "PATCH", "/api/v1/leads/"+ana, body); r.status != 422 || r.field(field) == "" {
				t.Errorf("PATCH %s: %d %s", body, r.status, r.raw)
			}
		}
		if r := staff.do(t, "PATCH", "/api/v1/leads/"+ana, map[string]any{}); r.status != 400 {
			t.Errorf("empty change: %d", r.status)
		}
		if got := list(viewer, "?rating=hot").ids(); fmt.Sprint(got) != fmt.Sprint([]string{ana}) {
			t.Errorf("hot leads: %v", got)
		}
		if got := list(viewer, "?tag=vip").ids(); fmt.Sprint(got) != fmt.Sprint([]string{ana}) {
			t.Errorf("vip leads: %v", got)
		}
		if got := list(viewer, "?sort=rating").ids(); fmt.Sprint(got) != fmt.Sprint([]string{ana, cy, bo}) {
			t.Errorf("by rating: %v", got)
		}

		// The lead page's data: the consent text it agreed to.
		r = viewer.do(t, "GET", "/api/v1/leads/"+ana, nil)
		ct, _ := r.body["consent_text"].(map[string]any)
		if r.status != 200 || ct["text"] != "We may contact you." || ct["version"] != 1.0 {
			t.Fatalf("lead: %d %s", r.status, r.raw)
		}
		if r := viewer.do(t, "GET", "/api/v1/leads/0190c0de-0000-7000-8000-000000000000", nil); r.status != 404 {
			t.Fatalf("unknown lead: %d", r.status)
		}

		// Admins correct fields; the trail names the fields, not the values.
		if r := staff.do(t, "PATCH", "/api/v1/leads/"+ana+"/fields", map[string]any{"company": "Initech"}); r.status != 403 {
			t.Fatalf("staff rectify: %d", r.status)
		}
		r = admin.do(t, "PATCH", "/api/v1/leads/"+ana+"/fields", map[string]any{"company": "Initech", "last_name": "Díaz Ruiz", "email": "ana.ruiz@acme.example"})
		if r.status != 200 || r.str("company") != "Initech" || r.str("email") != "ana.ruiz@acme.example" || r.str("rating") != "hot" {
			t.Fatalf("rectify: %d %s", r.status, r.raw)
		}
		if r := admin.do(t, "PATCH", "/api/v1/leads/"+ana+"/fields", map[string]any{"email": "bo@globex.example"}); r.status != 409 {
			t.Fatalf("rectify to another lead's email: %d %s", r.status, r.raw)
		}
		if r := admin.do(t, "PATCH", "/api/v1/leads/"+ana+"/fields", map[string]any{"email": "nope", "phone": "1"}); r.status != 422 || r.field("email") == "" || r.field("phone") == "" {
			t.Fatalf("bad rectification: %d %s", r.status, r.raw)
		}
		if got := list(viewer, "?q=initech").ids(); fmt.Sprint(got) != fmt.Sprint([]string{ana}) {
			t.Errorf("search after rectification: %v", got)
		}
		events, _, _ := ts.store.AuditEvents(ctx, store.AuditFilter{Target: "lead:" + ana, Limit: 10})
		if len(events) != 1 || events[0].Action != "lead.rectify" || events[0].Detail["fields"] != "company,email,last_name" {
			t.Fatalf("rectify audit: %+v", events)
		}
		for _, e := range events {
			if strings.Contains(fmt.Sprint(e.Detail), "Initech") || strings.Contains(fmt.Sprint(e.Detail), "ruiz") {
				t.Fatalf("audit holds a value: %v", e.Detail)
			}
		}

		// Admins delete; the raw copy goes with every version.
		w := &outbox.Worker{Store: ts.store, Blob: ts.blob, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		key := store.RawObjectKey(mustConferenceID(t, ts, "expo"), bo)
		if _, err := ts.blob.Versions(ctx, key); err != nil {
			t.Fatalf("raw copy of %s not written: %v", bo, err)
		}
		if r := staff.do(t, "DELETE", "/api/v1/leads/"+bo, nil); r.status != 403 {
			t.Fatalf("staff delete: %d", r.status)
		}
		if r := admin.do(t, "DELETE", "/api/v1/leads/"+bo, nil); r.status != 204 {
			t.Fatalf("admin delete: %d %s", r.status, r.raw)
		}
		if r := admin.do(t, "DELETE", "/api/v1/leads/"+bo, nil); r.status != 404 {
			t.Fatalf("delete twice: %d", r.status)
		}
		if _, err := ts.blob.Versions(ctx, key); err == nil {
			t.Fatal("raw copy of a deleted lead kept")
		}
		events, _, _ = ts.store.AuditEvents(ctx, store.AuditFilter{Target: "lead:" + bo, Limit: 10})
		if len(events) != 1 || events[0].Action != "lead.delete" || events[0].Detail["conference_id"] == "" {
			t.Fatalf("delete audit: %+v", events)
		}
	})
}

func mustConferenceID(t *testing.T, ts *testServer, slug string) string {
	t.Helper()
	c, err := ts.store.Conference(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// TestDeleteWhileTheRawCopyIsInFlight deletes a lead through the API, alone
// or with its conference, while an outbox worker holds its raw copy claimed
// but not yet written: once the copy lands and the worker is done, no
// version of the raw key is left.
func TestDeleteWhileTheRawCopyIsInFlight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		ts := newTestServer(t, dsn)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.2.0.1")
		for _, tt := range []struct {
			slug string
			path func(c *leadcap.Conference, lead string) string
		}{
			{"lead", func(_ *leadcap.Conference, lead string) string { return "/api/v1/leads/" + lead }},
			{"conference", func(c *leadcap.Conference, _ string) string { return "/api/v1/conferences/" + c.ID + "?force=true" }},
		} {
			t.Run(tt.slug, func(t *testing.T) {
				c := ts.mustConference(t, tt.slug, leadcap.StatusOpen)
				id := ts.mustLeadWith(t, map[string]any{"conference": tt.slug, "submission_id": tt.slug, "email": tt.slug + "@example.com"})
				key := store.RawObjectKey(c.ID, id)
				gate := &blobtest.Gate{Store: ts.blob, Held: make(chan string), Release: make(chan struct{})}
				w := &outbox.Worker{Store: ts.store, Blob: gate, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
				done := make(chan error, 1)
				go func() {
					_, err := w.RunOnce(ctx)
					done <- err
				}()
				if held := <-gate.Held; held != key {
					t.Fatalf("worker holds %s, want %s", held, key)
				}
				path := tt.path(c, id)
				if r := admin.do(t, "DELETE", path, nil); r.status != 204 {
					t.Fatalf("DELETE %s: %d %s", path, r.status, r.raw)
				}
				close(gate.Release)
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				if vs, err := ts.blob.Versions(ctx, key); !errors.Is(err, blob.ErrNotFound) {
					t.Fatalf("raw copy of the deleted lead outlives DELETE %s: %+v, %v", path, vs, err)
				}
			})
		}
	})
}
