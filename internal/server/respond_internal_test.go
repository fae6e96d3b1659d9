package server

import (
	"net/http/httptest"
	"testing"

	"github.com/leadcap/leadcap"
)

// TestWriteCaptureResultMatchesWriteJSON holds the lead answer's fast
// path to the general one, byte for byte, including for values that need
// escaping (which take the general path).
func TestWriteCaptureResultMatchesWriteJSON(t *testing.T) {
	for _, res := range []leadcap.CaptureResult{
		{LeadID: "0193a5b2-7c4e-7d1a-9f00-1234567890ab", Result: leadcap.ResultCreated},
		{LeadID: "0193a5b2-7c4e-7d1a-9f00-1234567890ab", Result: leadcap.ResultUpdated, Replayed: true},
		{LeadID: "", Result: ""},
		{LeadID: `a"b\c`, Result: "<&>"},
		{LeadID: "é\u2028\x01", Result: "\x7f"},
	} {
		fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
		writeCaptureResult(fast, 201, res)
		writeJSON(slow, 201, res)
		if fast.Body.String() != slow.Body.String() || fast.Code != slow.Code ||
			fast.Header().Get("Content-Type") != slow.Header().Get("Content-Type") {
			t.Errorf("%+v: fast %d %q %q, writeJSON %d %q %q", res, fast.Code, fast.Header().Get("Content-Type"), fast.Body,
				slow.Code, slow.Header().Get("Content-Type"), slow.Body)
		}
	}
}
