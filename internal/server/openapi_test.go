package server_test

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestOpenAPIMatchesRoutes: every API route is in the OpenAPI document,
// and everything the document describes is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	ts := newTestServer(t, storetest.SQLite(t))
	res, err := http.Get(ts.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || doc.OpenAPI != "3.1.0" {
		t.Fatalf("%d %s openapi %q", res.StatusCode, res.Header.Get("Content-Type"), doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
			var o struct {
				Summary   string         `json:"summary"`
				Responses map[string]any `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || o.Summary == "" || len(o.Responses) == 0 {
				t.Errorf("%s %s: no summary or responses", method, path)
			}
		}
	}
	routed := map[string]bool{}
	for _, r := range server.RouteTable() {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok || !strings.HasPrefix(path, "/api/") {
			continue // the catch-all "/api/" and pages outside the API
		}
		routed[method+" "+path] = true
		if !documented[method+" "+path] {
			t.Errorf("route %q is not in openapi.json", r.Pattern)
		}
	}
	var extra []string
	for op := range documented {
		if !routed[op] {
			extra = append(extra, op)
		}
	}
	sort.Strings(extra)
	for _, op := range extra {
		t.Errorf("openapi.json describes %q, which is not a route", op)
	}
	if len(routed) < 30 {
		t.Fatalf("only %d API routes seen", len(routed))
	}
}
