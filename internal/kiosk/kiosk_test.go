package kiosk_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/kiosk"
)

func keys(t *testing.T) *crypto.KeyRing {
	t.Helper()
	k, _, err := crypto.LoadOrCreate(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSignVerify(t *testing.T) {
	k := keys(t)
	now := time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC)
	d := kiosk.Device{ConferenceID: "conf-1", ID: kiosk.DeviceID("Tablet 3"), Label: "Tablet 3", Expires: now.Add(72 * time.Hour)}
	if d.ID != "tablet-3" {
		t.Fatalf("device id %q", d.ID)
	}
	tok, err := kiosk.Sign(k, d)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(tok, "+/=?&# ") || len(tok) > 300 {
		t.Fatalf("token is not URL-safe or too long: %q", tok)
	}
	got, err := kiosk.Verify(k, tok, "conf-1", now)
	if err != nil || got != d {
		t.Fatalf("verify: %+v %v, want %+v", got, err, d)
	}

	// A recorded link carries its issue time, to the microsecond.
	issued := d
	issued.Issued = now.Add(-time.Hour + 7*time.Microsecond)
	itok, err := kiosk.Sign(k, issued)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kiosk.Verify(k, itok, "conf-1", now); err != nil || !got.Issued.Equal(issued.Issued) || itok == tok {
		t.Fatalf("verify with issue time: %+v %v", got, err)
	}

	body, sig, _ := strings.Cut(strings.TrimPrefix(tok, "v1."), ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	relabelled := "v1." + base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "tablet-3", "tablet-4", 1))) + "." + sig
	otherKeys, err := kiosk.Sign(keys(t), d)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, conference string
		at                      time.Time
		code                    string
	}{
		{"other conference", tok, "conf-2", now, leadcap.EFORBIDDEN},
		{"expired", tok, "conf-1", d.Expires, leadcap.EGONE},
		{"payload changed", relabelled, "conf-1", now, leadcap.EFORBIDDEN},
		{"signed with other keys", otherKeys, "conf-1", now, leadcap.EFORBIDDEN},
		{"signature cut", tok[:len(tok)-2], "conf-1", now, leadcap.EFORBIDDEN},
		{"no signature", "v1." + body, "conf-1", now, leadcap.EFORBIDDEN},
		{"garbage", "v1.!!!.???", "conf-1", now, leadcap.EFORBIDDEN},
		{"empty", "", "conf-1", now, leadcap.EFORBIDDEN},
		{"huge", "v1." + strings.Repeat("A", 5000) + "." + sig, "conf-1", now, leadcap.EFORBIDDEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := kiosk.Verify(k, tt.token, tt.conference, tt.at); leadcap.ErrorCode(err) != tt.code {
				t.Fatalf("got %v, want code %s", err, tt.code)
			}
		})
	}
}

func TestSignRefusesBadDevices(t *testing.T) {
	k := keys(t)
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name  string
		d     kiosk.Device
		field string
	}{
		{"no conference", kiosk.Device{ID: "t1", Label: "T1", Expires: exp}, "conference"},
		{"label of symbols only", kiosk.Device{ConferenceID: "c", ID: kiosk.DeviceID("***"), Label: "***", Expires: exp}, "id"},
		{"id with space", kiosk.Device{ConferenceID: "c", ID: "tab 1", Label: "T1", Expires: exp}, "id"},
		{"long id", kiosk.Device{ConferenceID: "c", ID: strings.Repeat("a", 65), Label: "T1", Expires: exp}, "id"},
		{"no label", kiosk.Device{ConferenceID: "c", ID: "t1", Expires: exp}, "label"},
		{"label with newline", kiosk.Device{ConferenceID: "c", ID: "t1", Label: "Tab\n1", Expires: exp}, "label"},
		{"long label", kiosk.Device{ConferenceID: "c", ID: "t1", Label: strings.Repeat("é", 65), Expires: exp}, "label"},
		{"no expiry", kiosk.Device{ConferenceID: "c", ID: "t1", Label: "T1"}, "expires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kiosk.Sign(k, tt.d)
			if leadcap.ErrorFields(err)[tt.field] == "" {
				t.Fatalf("got %v, want a problem with %s", err, tt.field)
			}
		})
	}
}
