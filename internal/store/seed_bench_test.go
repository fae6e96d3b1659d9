package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"golang.org/x/sync/errgroup"
)

// TestSeedExportBench fills a data directory with many sealed leads for the
// export benchmark (scripts/bench-export.sh). It is not a test: it runs
// only when LEADCAP_SEED_DIR names the directory (whose SQLite database it
// fills, or the PostgreSQL database LEADCAP_SEED_DATABASE_URL), and inserts
// LEADCAP_SEED_LEADS leads (default 1,000,000) straight into the leads
// table in transactions of 10,000, sealed with the directory's key ring as
// the lead path seals them. Leads have no submission history, which an
// export does not read.
func TestSeedExportBench(t *testing.T) {
	dir := os.Getenv("LEADCAP_SEED_DIR")
	if dir == "" {
		t.Skip("LEADCAP_SEED_DIR is not set: nothing to seed")
	}
	total := 1_000_000
	if v := os.Getenv("LEADCAP_SEED_LEADS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("LEADCAP_SEED_LEADS: %v", err)
		}
		total = n
	}
	ctx := context.Background()
	s := openDataDir(t, dir, os.Getenv("LEADCAP_SEED_DATABASE_URL"))
	min0 := 0.0
	c := &leadcap.Conference{Slug: "bench-expo", Name: "Bench Expo", Country: "BZ", Status: leadcap.StatusOpen,
		Interests: []leadcap.Choice{{Value: "diving"}, {Value: "caves"}, {Value: "ruins"}},
		Questions: []leadcap.Question{
			{ID: "size", Type: leadcap.QuestionSingle, Label: "Group size", Choices: []leadcap.Choice{{Value: "solo"}, {Value: "family"}, {Value: "group"}}},
			{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget (USD)", Min: &min0},
			{ID: "when", Type: leadcap.QuestionDate, Label: "When would you travel?"},
		},
		Consent: leadcap.ConsentText{Text: "We may contact you about your trip.", Hash: "5c1d"}}
	if err := s.CreateConference(ctx, c); err != nil {
		t.Fatal(err)
	}
	const batch = 10_000
	start := time.Now()
	created := time.Now().Add(-30 * 24 * time.Hour)
	for from := 0; from < total; from += batch {
		n := min(batch, total-from)
		rows := make([][]any, n)
		// Sealing runs on every CPU; the single writer inserts.
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for part := range runtime.GOMAXPROCS(0) {
			g.Go(func() error {
				for i := part; i < n; i += runtime.GOMAXPROCS(0) {
					row, err := seedRow(s, c, from+i, created.Add(time.Duration(from+i)*time.Millisecond))
					if err != nil {
						return err
					}
					rows[i] = row
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		err := s.write(ctx, func(tx *Tx) error {
			for _, row := range rows {
				if _, err := tx.exec(`INSERT INTO leads (id, conference_id, email_index, submission_id, source, device_id,
					consent_contact, consent_marketing, consent_version, consent_hash, consent_at, spam, spam_reason, data,
					created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`, row...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if done := from + n; done%100_000 == 0 || done == total {
			t.Logf("seeded %d leads in %v", done, time.Since(start).Round(time.Second))
		}
	}
}

// openDataDir opens and migrates the database at dsn, or the SQLite
// database of data directory dir when dsn is empty, with the key ring of
// dir (made if missing), as leadcap does; it is closed when the test ends.
func openDataDir(t *testing.T, dir, dsn string) *Store {
	t.Helper()
	keys, _, err := crypto.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	if dsn == "" {
		dsn = filepath.Join(dir, "leadcap.db")
	}
	s, err := Open(context.Background(), dsn, Options{Sealer: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// seedRow is the leads row of the i-th benchmark lead: typical field
// lengths, an answer to each question, a note on one lead in four.
func seedRow(s *Store, c *leadcap.Conference, i int, created time.Time) ([]any, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	l := &leadcap.Lead{ID: id.String(), FirstName: "Ana María", LastName: fmt.Sprint("Díaz-", i), Email: fmt.Sprintf("visitor.%d@example.com", i),
		Phone: fmt.Sprintf("+501%07d", i%10_000_000), Company: "Caribbean Adventure Travel Ltd", JobTitle: "Head of Group Sales",
		Country: "BZ", Interests: []string{"diving", "ruins"},
		Answers: leadcap.Answers{"size": "family", "budget": float64(500 + i%5000), "when": "2027-04-15"},
		Consent: leadcap.Consent{Contact: true, Marketing: i%3 == 0, Version: 1, TextHash: c.Consent.Hash, At: created, IP: "192.0.2.7"}}
	if i%4 == 0 {
		l.Notes = "Met at the booth; wants the brochure for a family trip in spring."
	}
	sealed, err := s.sealLead(l)
	if err != nil {
		return nil, err
	}
	return []any{l.ID, c.ID, s.sealer.BlindIndex("email", l.Email), "seed-" + l.ID, leadcap.SourceForm, "",
		l.Consent.Contact, l.Consent.Marketing, 1, c.Consent.Hash, micros(created), false, "", sealed,
		micros(created), micros(created)}, nil
}
