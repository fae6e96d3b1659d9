package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/leadcap/leadcap"
	"github.com/xuri/excelize/v2"
)

// TestXLSXMoreSheets fills sheets of 3 rows: the leads go on in new sheets,
// each with the header.
func TestXLSXMoreSheets(t *testing.T) {
	var buf bytes.Buffer
	e, err := newXLSXEncoder(&buf, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e.maxRows = 3
	cols := []column{{name: "n"}, {name: "=x"}}
	if err := e.header(cols); err != nil {
		t.Fatal(err)
	}
	// Chunks of 2 and 5 rows: the second starts a sheet twice.
	var rows [][]value
	for i := range 7 {
		rows = append(rows, []value{{kind: numKind, n: float64(i)}, {kind: textKind, s: "=v"}})
	}
	if err := writeChunk(e, rows[:2]...); err != nil {
		t.Fatal(err)
	}
	if err := writeChunk(e, rows[2:]...); err != nil {
		t.Fatal(err)
	}
	if err := e.close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[string][]string{"Leads": {"0", "1"}, "Leads 2": {"2", "3"}, "Leads 3": {"4", "5"}, "Leads 4": {"6"}}
	if sheets := f.GetSheetList(); len(sheets) != 4 {
		t.Fatalf("sheets %q", sheets)
	}
	for sheet, ns := range want {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != len(ns)+1 || rows[0][0] != "n" || rows[0][1] != "'=x" {
			t.Fatalf("%s: %q", sheet, rows)
		}
		for i, n := range ns {
			if rows[i+1][0] != n || rows[i+1][1] != "'=v" {
				t.Fatalf("%s row %d: %q", sheet, i+1, rows[i+1])
			}
		}
	}
}

// TestXLSXCellLimit: a value an XLSX cell cannot hold fails the export
// rather than being cut short.
func TestXLSXCellLimit(t *testing.T) {
	e, err := newXLSXEncoder(&bytes.Buffer{}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer e.f.Close()
	if err := e.header([]column{{name: "notes"}}); err != nil {
		t.Fatal(err)
	}
	// 16,384 emoji are 32,768 UTF-16 units: one over.
	if err := writeChunk(e, []value{{kind: textKind, s: strings.Repeat("😀", 16384)}}); leadcap.ErrorCode(err) != leadcap.EINVALID {
		t.Fatalf("over the limit: %v", err)
	}
	if err := writeChunk(e, []value{{kind: textKind, s: strings.Repeat("😀", 16383)}}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
}

// writeChunk formats rows into one chunk and writes it.
func writeChunk(e encoder, rows ...[]value) error {
	f, c := e.formatter(), &chunk{}
	for _, r := range rows {
		if err := f.format(c, r); err != nil {
			return err
		}
	}
	if err := f.end(c); err != nil {
		return err
	}
	return e.write(c)
}

// FuzzJSONString checks the JSON writer against encoding/json: the same
// string comes back.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "=HYPERLINK(\"x\")", "a\nb\tc\r\x00\x1f", "👩‍👩‍👧‍👦 مريم", "\u2028\u2029", "bad \xff\xfe utf-8", `\"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want string
		if err := json.Unmarshal(appendJSONString(nil, s), &got); err != nil {
			t.Fatalf("%q: not JSON: %v", s, err)
		}
		ref, _ := json.Marshal(s)
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("%q: read back %q, encoding/json gives %q", s, got, want)
		}
	})
}

func TestJSONNumber(t *testing.T) {
	for _, f := range []float64{0, -0.5, 1200, 1e20, 1e21, 1e-6, 1e-7, -2.5, 123456789.125, math.MaxFloat64, 5e-324} {
		want, _ := json.Marshal(f)
		if got := appendJSONNumber(nil, f); string(got) != string(want) {
			t.Errorf("appendJSONNumber(%v) = %s, encoding/json writes %s", f, got, want)
		}
	}
}

// FuzzCSVRecord checks the CSV writer against encoding/csv with UseCRLF:
// the same bytes for any record.
func FuzzCSVRecord(f *testing.F) {
	for _, s := range []string{"", "plain", `\.`, " lead", "\u00a0nbsp", "a,b", `say "hi"`, "one\ntwo", "cr\r\nlf\rlone", "'=1", "\t", "bad \xff"} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var want bytes.Buffer
		w := csv.NewWriter(&want)
		w.UseCRLF = true
		if err := w.Write([]string{a, b}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if got := appendCSVRecord(nil, []string{a, b}); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%q, %q: wrote %q, encoding/csv writes %q", a, b, got, want.Bytes())
		}
	})
}
