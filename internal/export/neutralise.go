package export

import "strings"

// Neutralise makes s safe to put in a CSV or XLSX cell: a spreadsheet
// treats a cell that starts with = + - @ (or their full-width forms
// ＝ ＋ － ＠), a tab or a carriage return as a formula, which can run
// commands or send data away when the file is opened. Such a value gets a
// leading apostrophe, which spreadsheets read as "this is text".
//
// A value that already starts with an apostrophe gets one more, so the rule
// can be undone exactly: a reader that wants the stored value removes one
// leading apostrophe if there is one (Restore). This neutralises some
// harmless values too, among them negative numbers and E.164 phone numbers
// (+5012234567 is written '+5012234567): the safe choice, since a cell
// cannot tell a phone number from a formula. JSON and NDJSON carry values
// verbatim.
func Neutralise(s string) string {
	if needsApostrophe(s) {
		return "'" + s
	}
	return s
}

// Restore undoes Neutralise.
func Restore(s string) string {
	return strings.TrimPrefix(s, "'")
}

func needsApostrophe(s string) bool {
	if s == "" {
		return false
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\'':
		return true
	case 0xef:
		// The full-width forms are U+FF1D ＝, U+FF0B ＋, U+FF0D －, U+FF20 ＠.
		for _, p := range [...]string{"＝", "＋", "－", "＠"} {
			if strings.HasPrefix(s, p) {
				return true
			}
		}
	}
	return false
}
