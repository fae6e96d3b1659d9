package server_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/leadcap/leadcap/internal/store"
)

// mustLead submits a lead to the conference with slug through the public
// API and returns its id; n makes its email and submission unique.
func (ts *testServer) mustLead(t *testing.T, slug string, n int) string {
	t.Helper()
	return ts.mustLeadWith(t, map[string]any{"conference": slug, "submission_id": fmt.Sprint("ml-", n),
		"email": fmt.Sprintf("lead%d@example.com", n)})
}

// mustLeadWith submits lead(edits), with a render token as the booth form
// sends (so that the shield does not quarantine it), and returns the
// lead's id.
func (ts *testServer) mustLeadWith(t *testing.T, edits map[string]any) string {
	t.Helper()
	if _, ok := edits["render_token"]; !ok {
		slug, _ := edits["conference"].(string)
		if slug == "" {
			slug = "expo"
		}
		edits["render_token"] = ts.formToken(t, slug)
	}
	r := ts.post(t, jsonType, lead(edits))
	if r.status != 201 {
		t.Fatalf("submit lead: %d %s", r.status, r.raw)
	}
	id, _ := r.body["id"].(string)
	return id
}

// mustIndex runs the search indexer until nothing waits, as the server's
// background indexer does.
func (ts *testServer) mustIndex(t testing.TB) {
	t.Helper()
	if _, err := ts.store.IndexLeads(context.Background(), store.IndexOptions{}); err != nil {
		t.Fatal(err)
	}
}
