package server_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// decodeQR reads a QR code PNG back to its text with an independent decoder.
func decodeQR(t *testing.T, b []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, pureBarcode)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}

// get fetches a path with c's session and returns status, headers, body.
func (c *client) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.ts.URL+path, nil)
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

func TestConferenceAPI(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		ts := newTestServer(t, dsn)
		admin := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleAdmin), "10.1.0.1")
		staff := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleStaff), "10.1.0.2")

		r := staff.do(t, "POST", "/api/v1/conferences", map[string]any{
			"name": "Belize Dive Expo 2027", "country": "bz", "time_zone": "America/Belize",
			"questions": []map[string]any{
				{"id": "size", "type": "single", "label": "Group size", "labels": map[string]string{"es": "Tamaño del grupo"},
					"choices": []map[string]any{{"value": "solo"}, {"value": "group"}}},
				{"id": "when", "type": "date", "label": "Travel date"},
			},
			"consent": map[string]any{"text": "We may contact you.", "texts": map[string]string{"es": "Podemos contactarle."}},
		})
		if r.status != 201 || r.str("slug") != "belize-dive-expo-2027" || r.str("status") != "draft" || r.str("country") != "BZ" {
			t.Fatalf("create: %d %s", r.status, r.raw)
		}
		id := r.str("id")
		if r.str("form_url") != ts.URL+"/c/belize-dive-expo-2027" {
			t.Fatalf("form_url %q without a public URL: want the request's host", r.str("form_url"))
		}

		// Bad definitions are refused with each field named.
		r = staff.do(t, "POST", "/api/v1/conferences", map[string]any{"slug": "x", "name": "",
			"questions": []map[string]any{{"id": "a b", "type": "colour", "label": "?"}}})
		if r.status != 422 || r.field("slug") == "" || r.field("name") == "" || r.field("questions.0.id") == "" || r.field("questions.0.type") == "" {
			t.Fatalf("bad conference: %d %s", r.status, r.raw)
		}
		if r = staff.do(t, "POST", "/api/v1/conferences", map[string]any{"name": "Belize Dive Expo 2027"}); r.status != 409 {
			t.Fatalf("taken slug: %d %s", r.status, r.raw)
		}
		if r = staff.do(t, "POST", "/api/v1/conferences", map[string]any{"name": "X", "colour": "red"}); r.status != 400 || r.field("colour") == "" {
			t.Fatalf("unknown field: %d %s", r.status, r.raw)
		}

		// A changed consent text is a new version; the old one stays.
		r = staff.do(t, "PATCH", "/api/v1/conferences/"+id, map[string]any{"venue": "Hall A", "consent": map[string]any{"text": "We and our partners may contact you."}})
		consent, _ := r.body["consent"].(map[string]any)
		if r.status != 200 || r.str("venue") != "Hall A" || consent["version"] != 2.0 {
			t.Fatalf("update consent: %d %s", r.status, r.raw)
		}
		if v1, err := ts.store.ConsentText(ctx, id, 1); err != nil || v1.Text != "We may contact you." {
			t.Fatalf("version 1: %+v %v", v1, err)
		}
		r = staff.do(t, "PATCH", "/api/v1/conferences/"+id, map[string]any{"name": "Belize Dive Expo"})
		if consent, _ := r.body["consent"].(map[string]any); consent["version"] != 2.0 {
			t.Fatalf("an unchanged consent text made a new version: %s", r.raw)
		}

		// Open; a conference without consent text cannot open.
		if r = staff.do(t, "POST", "/api/v1/conferences/"+id+"/open", nil); r.status != 200 || r.str("status") != "open" {
			t.Fatalf("open: %d %s", r.status, r.raw)
		}
		bare := staff.do(t, "POST", "/api/v1/conferences", map[string]any{"name": "Bare"})
		if r = staff.do(t, "POST", "/api/v1/conferences/"+bare.str("id")+"/open", nil); r.status != 422 || r.field("consent.text") == "" {
			t.Fatalf("open without consent: %d %s", r.status, r.raw)
		}

		// The QR code decodes to the form link and is kept in the object store.
		status, h, b := staff.get(t, "/api/v1/conferences/"+id+"/qr.png")
		if status != 200 || h.Get("Content-Type") != "image/png" || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("qr.png: %d %v", status, h)
		}
		if got := decodeQR(t, b); got != ts.URL+"/c/belize-dive-expo-2027" {
			t.Fatalf("QR decodes to %q", got)
		}
		for _, ext := range []string{"png", "svg"} {
			rc, _, err := ts.blob.Get(ctx, "qr/"+id+"."+ext)
			if err != nil {
				t.Fatalf("qr/%s.%s not stored: %v", id, ext, err)
			}
			stored, _ := io.ReadAll(rc)
			rc.Close()
			if ext == "png" && !bytes.Equal(stored, b) {
				t.Fatal("stored PNG differs from the one served")
			}
			if ext == "svg" && !strings.Contains(string(stored), "<svg") {
				t.Fatal("stored SVG is not an SVG")
			}
		}
		status, h, _ = staff.get(t, "/api/v1/conferences/"+id+"/qr.svg?download=1")
		if status != 200 || h.Get("Content-Type") != "image/svg+xml" ||
			h.Get("Content-Disposition") != `attachment; filename="belize-dive-expo-2027-qr.svg"` || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
			t.Fatalf("qr.svg download: %d %v", status, h)
		}
		// A new slug redraws the stored code.
		before, _ := ts.blob.Versions(ctx, "qr/"+id+".png")
		staff.do(t, "PATCH", "/api/v1/conferences/"+id, map[string]any{"slug": "bdx"})
		after, _ := ts.blob.Versions(ctx, "qr/"+id+".png")
		if len(after) != len(before)+1 {
			t.Fatalf("slug change: %d versions, then %d", len(before), len(after))
		}
		rc, _, _ := ts.blob.Get(ctx, "qr/"+id+".png")
		stored, _ := io.ReadAll(rc)
		rc.Close()
		if got := decodeQR(t, stored); got != ts.URL+"/c/bdx" {
			t.Fatalf("stored QR after slug change: %q", got)
		}
		// Downloading again does not add a version: the code is the same.
		staff.get(t, "/api/v1/conferences/bdx/qr.png")
		if again, _ := ts.blob.Versions(ctx, "qr/"+id+".png"); len(again) != len(after) {
			t.Fatalf("an unchanged QR code was stored again")
		}

		// Delete: refused while it has leads, forced by an admin only.
		leadID := ts.mustLeadWith(t, map[string]any{"conference": "bdx", "interests": nil, "answers": map[string]any{"size": "solo"}})
		if r = staff.do(t, "DELETE", "/api/v1/conferences/"+id, nil); r.status != 409 {
			t.Fatalf("delete with leads: %d %s", r.status, r.raw)
		}
		if r = staff.do(t, "DELETE", "/api/v1/conferences/"+id+"?force=true", nil); r.status != 403 {
			t.Fatalf("forced by staff: %d %s", r.status, r.raw)
		}
		if r = admin.do(t, "DELETE", "/api/v1/conferences/"+id+"?force=yes", nil); r.status != 400 {
			t.Fatalf("force=yes: %d %s", r.status, r.raw)
		}
		if r = admin.do(t, "DELETE", "/api/v1/conferences/"+id+"?force=true", nil); r.status != 204 {
			t.Fatalf("forced by an admin: %d %s", r.status, r.raw)
		}
		if _, err := ts.store.Lead(ctx, leadID); leadcap.ErrorCode(err) != leadcap.ENOTFOUND {
			t.Fatalf("lead of a deleted conference: %v", err)
		}
		if _, err := ts.blob.Versions(ctx, "qr/"+id+".png"); err == nil {
			t.Fatal("QR code of a deleted conference kept")
		}
		if r = staff.do(t, "GET", "/api/v1/conferences/"+id, nil); r.status != 404 {
			t.Fatalf("deleted conference: %d", r.status)
		}

		// Every change is in the audit trail, by whom.
		events, _, err := ts.store.AuditEvents(ctx, store.AuditFilter{Target: "conference:" + id, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, e := range events {
			actions = append(actions, e.Action)
		}
		joined := strings.Join(actions, " ")
		for _, want := range []string{"conference.create", "conference.update", "conference.open", "conference.delete"} {
			if !strings.Contains(joined, want) {
				t.Errorf("audit of conference %s lacks %s: %v", id, want, actions)
			}
		}
		if events[0].Action != "conference.delete" || events[0].Detail["force"] != "true" || events[0].Detail["leads"] != "1" || events[0].ActorID == "" {
			t.Errorf("delete record: %+v", events[0])
		}
	})
}

// TestQRUsesPublicURL: with a public URL configured, the QR code points
// there whatever host the request came to.
func TestQRUsesPublicURL(t *testing.T) {
	ts := newTestServerWith(t, storetest.SQLite(t), setup{deps: func(d *server.Deps) { d.PublicURL = "https://leads.example.com/" }})
	c := ts.mustConference(t, "expo", leadcap.StatusOpen)
	staff := ts.mustLogin(t, ts.mustAccount(t, leadcap.RoleStaff), "10.1.0.2")
	_, _, b := staff.get(t, "/api/v1/conferences/"+c.ID+"/qr.png")
	if got := decodeQR(t, b); got != "https://leads.example.com/c/expo" {
		t.Fatalf("QR decodes to %q", got)
	}
}

// pureBarcode tells the decoder the image is a generated code with its quiet
// zone and nothing else; without it the decoder's finder-pattern search
// misreads about one code in six hundred.
var pureBarcode = map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true}
