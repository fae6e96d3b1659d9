package export

import (
	"archive/zip"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf16"

	"github.com/leadcap/leadcap"
	"github.com/xuri/excelize/v2"
)

// Sheet names: the first sheet, and the ones after it when the leads do not
// fit on one (an Excel sheet holds 1,048,576 rows).
const (
	xlsxSheet     = "Leads"
	xlsxSheetNext = "Leads %d"
)

// xlsxEncoder writes an Excel workbook with excelize's stream writer, so
// rows go to a temporary file rather than memory. Every cell is a string
// (neutralised against formula injection) or a typed date: times in UTC as
// date and time, answers to date questions as dates. Numbers and booleans
// are written as text, so that a spreadsheet shows exactly what was stored.
type xlsxEncoder struct {
	w        io.Writer
	f        *excelize.File
	sw       *excelize.StreamWriter
	sheet    int // 1 for the first
	rowNum   int // last row written on the sheet
	headers  []any
	dateTime int // style ids
	dateOnly int
	maxRows  int
}

func newXLSXEncoder(w io.Writer, tempDir string) (*xlsxEncoder, error) {
	f := excelize.NewFile(excelize.Options{TmpDir: tempDir})
	// excelize builds the zip in a memory buffer and copies that out,
	// which for a million leads holds some 130 MB at once. Its zip writer
	// hook lets the zip go straight to w instead, leaving the buffer empty.
	// (excelize patches that buffer only for a sheet of over 4 GB of XML;
	// archive/zip writes such an entry as zip64 on its own.)
	f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return zip.NewWriter(w) })
	e := &xlsxEncoder{w: w, f: f, maxRows: excelize.TotalRows}
	var err error
	dateTime, dateOnly := "yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd"
	if e.dateTime, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateTime}); err != nil {
		f.Close()
		return nil, fmt.Errorf("export: xlsx style: %w", err)
	}
	if e.dateOnly, err = f.NewStyle(&excelize.Style{CustomNumFmt: &dateOnly}); err != nil {
		f.Close()
		return nil, fmt.Errorf("export: xlsx style: %w", err)
	}
	if err := f.SetSheetName("Sheet1", xlsxSheet); err != nil {
		f.Close()
		return nil, fmt.Errorf("export: xlsx sheet: %w", err)
	}
	return e, nil
}

func (e *xlsxEncoder) header(cols []column) error {
	e.headers = make([]any, len(cols))
	for i, c := range cols {
		e.headers[i] = Neutralise(c.name)
	}
	return e.newSheet()
}

// newSheet starts the next sheet with the header row.
func (e *xlsxEncoder) newSheet() error {
	if e.sw != nil {
		if err := e.sw.Flush(); err != nil {
			return fmt.Errorf("export: xlsx: %w", err)
		}
	}
	e.sheet++
	name := xlsxSheet
	if e.sheet > 1 {
		name = fmt.Sprintf(xlsxSheetNext, e.sheet)
		if _, err := e.f.NewSheet(name); err != nil {
			return fmt.Errorf("export: xlsx: %w", err)
		}
	}
	var err error
	if e.sw, err = e.f.NewStreamWriter(name); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	e.rowNum = 1
	if err := e.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	return e.sw.SetRow("A1", e.headers)
}

func (e *xlsxEncoder) formatter() formatter { return xlsxFormatter{e} }

func (e *xlsxEncoder) write(c *chunk) error {
	n := len(e.headers)
	for i := range c.rows {
		if e.rowNum == e.maxRows {
			if err := e.newSheet(); err != nil {
				return err
			}
		}
		e.rowNum++
		if err := e.sw.SetRow("A"+strconv.Itoa(e.rowNum), c.cells[i*n:(i+1)*n]); err != nil {
			return fmt.Errorf("export: xlsx: %w", err)
		}
	}
	return nil
}

// xlsxFormatter makes the cells of rows: typed dates, strings, or nil. It
// reads only what the encoder made before the first row: the headers and
// the styles.
type xlsxFormatter struct{ e *xlsxEncoder }

func (f xlsxFormatter) format(c *chunk, values []value) error {
	for i := range values {
		cell, err := f.cell(&values[i])
		if err != nil {
			return fmt.Errorf("export: column %q: %w", f.e.headers[i], err)
		}
		c.cells = append(c.cells, cell)
	}
	c.rows++
	return nil
}

func (f xlsxFormatter) end(*chunk) error { return nil }

// cell returns the cell for v: a typed date, a string, or nil for none.
func (f xlsxFormatter) cell(v *value) (any, error) {
	switch v.kind {
	case none:
		return nil, nil
	case timeKind:
		if v.t.IsZero() {
			return nil, nil
		}
		return excelize.Cell{StyleID: f.e.dateTime, Value: v.t.UTC()}, nil
	case dateKind:
		if d, err := time.Parse(time.DateOnly, v.s); err == nil {
			return excelize.Cell{StyleID: f.e.dateOnly, Value: d}, nil
		}
	}
	s := Neutralise(text(v))
	if s == "" {
		return nil, nil
	}
	// excelize would cut a longer value short without a word.
	if n := utf16Len(s); n > excelize.TotalCellChars {
		return nil, leadcap.Errorf(leadcap.EINVALID,
			"a value of %d characters is over the %d an XLSX cell holds; export as CSV or JSON instead", n, excelize.TotalCellChars)
	}
	return s, nil
}

func (e *xlsxEncoder) close() error {
	defer e.f.Close() // removes the temporary files
	if err := e.sw.Flush(); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	if err := e.f.Write(e.w); err != nil {
		return fmt.Errorf("export: xlsx: %w", err)
	}
	return nil
}

// utf16Len is the length of s in UTF-16 code units, as Excel counts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}
