package intake

// Countries returns every country code a lead's country may have, in
// alphabetical order: the ISO 3166-1 alpha-2 codes in use, and XK. The booth
// form offers exactly these, so its list and Validate never disagree.
func Countries() []string {
	var out []string
	for a := byte('A'); a <= 'Z'; a++ {
		for b := byte('A'); b <= 'Z'; b++ {
			if code := string([]byte{a, b}); isCountry(code) {
				out = append(out, code)
			}
		}
	}
	return out
}
