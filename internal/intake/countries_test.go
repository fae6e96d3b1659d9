package intake

import (
	"slices"
	"testing"
)

func TestCountriesAreWhatValidateAccepts(t *testing.T) {
	list := Countries()
	if n := len(list); n < 240 || n > 260 {
		t.Fatalf("%d countries, want about 249", n)
	}
	for _, code := range []string{"BZ", "ES", "GB", "US", "XK"} {
		if !slices.Contains(list, code) {
			t.Errorf("%s missing", code)
		}
	}
	for _, code := range []string{"UK", "EU", "UN", "SU", "ZZ"} {
		if slices.Contains(list, code) {
			t.Errorf("%s is not a country", code)
		}
	}
	for _, code := range list {
		if got, p := normalizeCountry(code); got != code || p != "" {
			t.Errorf("Validate refuses %s: %q", code, p)
		}
	}
}
