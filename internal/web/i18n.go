package web

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/leadcap/leadcap/internal/intake"
)

// defaultLang is the language of visitors who ask for none we have, and
// the catalog every other must match key for key.
const defaultLang = "en"

// catalog holds the interface strings of one language, from
// messages/<code>.json, and the country list in that language.
type catalog struct {
	code      string // BCP 47, as in the file name: "en", "es"
	tag       language.Tag
	msgs      map[string]string
	countries []option // sorted by name in this language
}

// option is one entry of a list of choices.
type option struct {
	Value, Label string
}

// T returns the message key with each {name} replaced: args are pairs of
// name and value. A key missing from the catalog shows as itself, which a
// test catches; New refuses catalogs that differ in keys.
func (c *catalog) T(key string, args ...string) string {
	s, ok := c.msgs[key]
	if !ok {
		return key
	}
	for i := 0; i+1 < len(args); i += 2 {
		s = strings.ReplaceAll(s, "{"+args[i]+"}", args[i+1])
	}
	return s
}

// languages are the catalogs the booth form speaks.
type languages struct {
	list    []*catalog // default first, then by code
	matcher language.Matcher
}

// loadLanguages reads every messages/*.json of fsys.
func loadLanguages(fsys fs.FS) (*languages, error) {
	files, err := fs.Glob(fsys, "messages/*.json")
	if err != nil {
		return nil, err
	}
	var list []*catalog
	for _, f := range files {
		code := strings.TrimSuffix(path.Base(f), ".json")
		tag, err := language.Parse(code)
		if err != nil || tag.String() != code {
			return nil, fmt.Errorf("web: catalog %s: not named by a canonical language tag", f)
		}
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		c := &catalog{code: code, tag: tag}
		if err := json.Unmarshal(b, &c.msgs); err != nil {
			return nil, fmt.Errorf("web: catalog %s: %w", f, err)
		}
		c.countries = countries(tag)
		list = append(list, c)
	}
	slices.SortFunc(list, func(a, b *catalog) int {
		switch {
		case a.code == defaultLang:
			return -1
		case b.code == defaultLang:
			return 1
		}
		return strings.Compare(a.code, b.code)
	})
	if len(list) == 0 || list[0].code != defaultLang {
		return nil, fmt.Errorf("web: no messages/%s.json catalog", defaultLang)
	}
	for _, c := range list[1:] {
		if err := sameKeys(list[0], c); err != nil {
			return nil, err
		}
	}
	tags := make([]language.Tag, len(list))
	for i, c := range list {
		tags[i] = c.tag
	}
	return &languages{list: list, matcher: language.NewMatcher(tags)}, nil
}

// sameKeys reports a key that one catalog has and the other lacks.
func sameKeys(a, b *catalog) error {
	for k := range a.msgs {
		if _, ok := b.msgs[k]; !ok {
			return fmt.Errorf("web: catalog %s lacks %q", b.code, k)
		}
	}
	for k := range b.msgs {
		if _, ok := a.msgs[k]; !ok {
			return fmt.Errorf("web: catalog %s has %q, which %s lacks", b.code, k, a.code)
		}
	}
	return nil
}

// byCode returns the catalog of code, or nil.
func (l *languages) byCode(code string) *catalog {
	for _, c := range l.list {
		if c.code == code {
			return c
		}
	}
	return nil
}

// pick chooses the language of a page: the one asked for by code (from
// ?lang= or the form), else the best match for the Accept-Language header,
// else the default.
func (l *languages) pick(code, acceptLanguage string) *catalog {
	if c := l.byCode(code); c != nil {
		return c
	}
	if len(acceptLanguage) > 1024 {
		return l.list[0]
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return l.list[0]
	}
	_, i, conf := l.matcher.Match(tags...)
	if conf == language.No {
		return l.list[0]
	}
	return l.list[i]
}

// countries lists intake's countries with their names in the language tag,
// sorted as that language sorts.
func countries(tag language.Tag) []option {
	namer := display.Regions(tag)
	var out []option
	for _, code := range intake.Countries() {
		name := code
		if r, err := language.ParseRegion(code); err == nil {
			if n := namer.Name(r); n != "" {
				name = n
			}
		}
		out = append(out, option{Value: code, Label: name})
	}
	col := collate.New(tag, collate.Loose)
	slices.SortFunc(out, func(a, b option) int { return col.CompareString(a.Label, b.Label) })
	return out
}

// localized returns the text of texts in the language code (or its base
// language), else fallback.
func localized(texts map[string]string, code, fallback string) string {
	if s := texts[code]; s != "" {
		return s
	}
	for k, s := range texts {
		if base, _, _ := strings.Cut(k, "-"); base == code && s != "" {
			return s
		}
	}
	return fallback
}

// dateRange formats a conference's dates (YYYY-MM-DD) in the catalog's
// language: "1–3 March 2027", "30 June 2027 – 2 July 2027".
func (c *catalog) dateRange(start, end string) string {
	sy, sm, sd, ok := splitDate(start)
	if !ok {
		return ""
	}
	day := func(y, m, d int) string {
		return c.T("date.day", "d", strconv.Itoa(d), "m", c.T("month."+strconv.Itoa(m)), "y", strconv.Itoa(y))
	}
	ey, em, ed, ok := splitDate(end)
	switch {
	case !ok || end == start:
		return day(sy, sm, sd)
	case sy == ey && sm == em:
		return c.T("date.same_month", "d1", strconv.Itoa(sd), "d2", strconv.Itoa(ed), "m", c.T("month."+strconv.Itoa(sm)), "y", strconv.Itoa(sy))
	}
	return c.T("date.range", "from", day(sy, sm, sd), "to", day(ey, em, ed))
}

func splitDate(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, e1 := strconv.Atoi(s[:4])
	m, e2 := strconv.Atoi(s[5:7])
	d, e3 := strconv.Atoi(s[8:])
	if e1 != nil || e2 != nil || e3 != nil || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, 0, 0, false
	}
	return y, m, d, true
}
