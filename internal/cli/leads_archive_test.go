package cli_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// TestLeadsArchive archives the leads older than two years while the
// server runs: the file holds them, the database keeps only the recent ones
// and those with what a file cannot hold, and the raw copies all stay.
func TestLeadsArchive(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		in := newInstance(t, dsn, nil)
		in.openConference()
		in.must("conferences", "create", "--slug", "fair", "--name", "Fair")
		st := in.openStore()
		expo, _ := st.Conference(ctx, "expo")
		fair, _ := st.Conference(ctx, "fair")
		capture := func(c *leadcap.Conference, name string, created time.Time) string {
			t.Helper()
			l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: name, FirstName: name, Email: name + "@example.com",
				Source: leadcap.SourceForm, CreatedAt: created,
				Consent: leadcap.Consent{Contact: true, Version: c.Consent.Version, TextHash: c.Consent.Hash, At: created}}
			r, err := st.CaptureLead(ctx, l, l.Email)
			if err != nil {
				t.Fatal(err)
			}
			return r.LeadID
		}
		old := time.Now().AddDate(-3, 0, 0)
		ids := map[string]string{}
		for _, n := range []string{"old-1", "old-2", "old-tagged"} {
			ids[n] = capture(expo, n, old)
		}
		ids["old-fair"] = capture(fair, "old-fair", old)
		ids["recent"] = capture(expo, "recent", time.Now().AddDate(-1, 0, 0))
		tags := []string{"vip"}
		if err := st.UpdateLead(ctx, ids["old-tagged"], store.LeadChange{Tags: &tags}); err != nil {
			t.Fatal(err)
		}
		in.serve() // it writes the raw copies, and runs through the archive
		waitFor(t, 10*time.Second, "the raw copies", func() bool {
			n, _, err := st.OutboxStats(ctx)
			return err == nil && n == 0
		})
		dir := t.TempDir()
		file := filepath.Join(dir, "expo-archive.csv")

		out := in.must("leads", "archive", "--older-than", "2y", "--conference", "expo", "-o", file, "--format", "csv", "--dry-run")
		if !strings.Contains(out, "would archive 3 leads") || fileExists(file) {
			t.Fatalf("dry run:\n%s", out)
		}
		out = in.must("leads", "archive", "--older-than", "2y", "--conference", "expo", "-o", file, "--format", "csv")
		if !strings.Contains(out, "archived 3 leads") || !strings.Contains(out, "read back: 3 rows") ||
			!strings.Contains(out, "deleted 2 of them") || !strings.Contains(out, "kept 1") {
			t.Fatalf("archive:\n%s", out)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil || len(records) != 4 {
			t.Fatalf("the archive holds %d records (%v), want a header and 3 leads", len(records), err)
		}
		var emails []string
		for _, r := range records[1:] {
			emails = append(emails, r[6])
		}
		if strings.Join(emails, " ") != "old-1@example.com old-2@example.com old-tagged@example.com" {
			t.Fatalf("archived emails: %v", emails)
		}
		objects := in.objects()
		for name, want := range map[string]bool{"old-1": false, "old-2": false, "old-tagged": true, "old-fair": true, "recent": true} {
			_, err := st.Lead(ctx, ids[name])
			if (err == nil) != want {
				t.Errorf("lead %s in the database: %v, want %v", name, err == nil, want)
			}
			conf := expo.ID
			if name == "old-fair" {
				conf = fair.ID
			}
			if _, err := objects.Stat(ctx, store.RawObjectKey(conf, ids[name])); err != nil {
				t.Errorf("raw copy of %s: %v", name, err)
			}
		}
		if out := in.must("audit", "list", "--action", "lead.archive"); !strings.Contains(out, "deleted=2") || !strings.Contains(out, "kept=1") {
			t.Fatalf("audit:\n%s", out)
		}

		// Again, every conference, as JSON lines: the rest of the old leads.
		out = in.must("leads", "archive", "--before", time.Now().AddDate(-2, 0, 0).Format(time.DateOnly), "-o", filepath.Join(dir, "all.ndjson"))
		if !strings.Contains(out, "archived 2 leads") || !strings.Contains(out, "deleted 1 of them") {
			t.Fatalf("second archive:\n%s", out)
		}
		if out := in.must("leads", "archive", "--older-than", "5y", "-o", filepath.Join(dir, "none.json"), "--format", "json"); !strings.Contains(out, "nothing to archive") {
			t.Fatalf("archive of nothing:\n%s", out)
		}

		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"leads", "archive", "--older-than", "2y", "-o", file}, "exists"},
			{[]string{"leads", "archive", "--older-than", "2y"}, "-o FILE is required"},
			{[]string{"leads", "archive", "--older-than", "2y", "-o", "-"}, "must name a file"},
			{[]string{"leads", "archive", "--older-than", "two years", "-o", "x"}, "--older-than"},
			{[]string{"leads", "archive", "--before", "2999-01-01", "-o", "x"}, "in the future"},
			{[]string{"leads", "archive", "--before", "2020-01-01", "--older-than", "2y", "-o", "x"}, "give --before DATE or --older-than"},
			{[]string{"leads", "archive", "--older-than", "2y", "-o", "x.xlsx", "--format", "xlsx"}, "want ndjson, csv or json"},
			{[]string{"leads", "archive", "--older-than", "2y", "-o", "x", "--conference", "nope"}, "not found"},
			{[]string{"leads", "erase"}, "give the person's --email"},
			{[]string{"leads", "erase", "--email", "a@example.com", "--id", "x"}, "give the person's --email"},
			{[]string{"leads", "erase", "--id", "x", "--conference", "expo"}, "--conference goes with --email"},
			{[]string{"leads", "erase", "--email", "not an email"}, "--email"},
			{[]string{"leads", "erase", "--id", "no-such-lead"}, "not found"},
			{[]string{"leads", "erase", "--email", "a@example.com", "--dry-run", "--vacuum"}, "leave it out of a dry run"},
			{[]string{"leads", "frob"}, "unknown verb"},
		} {
			out, err := in.run(tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("leadcap %s: %v\n%s\nwant an error about %q", strings.Join(tt.args, " "), err, out, tt.want)
			}
		}
		if _, err := st.Lead(ctx, ids["recent"]); err != nil {
			t.Fatalf("refused commands changed the recent lead: %v", err)
		}
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
