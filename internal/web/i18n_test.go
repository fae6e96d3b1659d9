package web

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func TestCatalogsCoverEveryKey(t *testing.T) {
	langs, err := loadLanguages(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(langs.list) < 2 || langs.list[0].code != "en" || langs.byCode("es") == nil {
		t.Fatalf("languages: %v", langs.list)
	}
	en := langs.list[0]
	used := map[string]string{} // key: where
	scan := func(glob string, re *regexp.Regexp) {
		names, _ := fs.Glob(files, glob)
		for _, n := range names {
			b, _ := fs.ReadFile(files, n)
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				used[m[1]] = n
			}
		}
	}
	scan("templates/*.html", regexp.MustCompile(`\.T "([a-z_.]+)"`))
	scan("static/*.js", regexp.MustCompile(`'((?:err|errors|queue|attention|thanks|form|field|notice)\.[a-z_.]*)'`))
	goKeys := regexp.MustCompile(`T\("([a-z_.]+)"`)
	for _, n := range []string{"views.go", "field_errors.go", "handlers.go", "i18n.go"} {
		b, err := fs.ReadFile(os.DirFS("."), n)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKeys.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = n
		}
	}
	if len(used) < 40 {
		t.Fatalf("found only %d keys in use", len(used))
	}
	for key, where := range used {
		if strings.HasSuffix(key, ".") {
			continue // a prefix completed at run time, such as "month." or "queue."
		}
		if _, ok := en.msgs[key]; !ok {
			t.Errorf("%s uses %q, which the catalogs lack", where, key)
		}
		if strings.HasPrefix(where, "static/") && !jsKey(key) {
			t.Errorf("%s uses %q, which is not sent to the JavaScript", where, key)
		}
	}
}

func TestCatalogsMustAgree(t *testing.T) {
	fsys := fstest.MapFS{
		"messages/en.json": {Data: []byte(`{"a": "A", "b": "B"}`)},
		"messages/es.json": {Data: []byte(`{"a": "A"}`)},
	}
	if _, err := loadLanguages(fsys); err == nil || !strings.Contains(err.Error(), `lacks "b"`) {
		t.Fatalf("got %v", err)
	}
	fsys["messages/es.json"] = &fstest.MapFile{Data: []byte(`{"a": "A", "b": "B", "c": "C"}`)}
	if _, err := loadLanguages(fsys); err == nil || !strings.Contains(err.Error(), `"c"`) {
		t.Fatalf("got %v", err)
	}
	delete(fsys, "messages/en.json")
	if _, err := loadLanguages(fsys); err == nil {
		t.Fatal("no English catalog accepted")
	}
}

func TestPickLanguage(t *testing.T) {
	langs, err := loadLanguages(files)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ query, accept, want string }{
		{"", "", "en"},
		{"", "es", "es"},
		{"", "es-MX,es;q=0.9,en;q=0.8", "es"},
		{"", "fr-FR,es;q=0.5", "es"},
		{"", "en-US,es;q=0.5", "en"},
		{"", "de", "en"},
		{"", "not a header;;;", "en"},
		{"es", "en", "es"},
		{"en", "es", "en"},
		{"xx", "es", "es"},
		{"ES", "", "en"},
	}
	for _, tt := range tests {
		if got := langs.pick(tt.query, tt.accept).code; got != tt.want {
			t.Errorf("pick(%q, %q) = %s, want %s", tt.query, tt.accept, got, tt.want)
		}
	}
}

func TestDateRange(t *testing.T) {
	langs, _ := loadLanguages(files)
	en, es := langs.byCode("en"), langs.byCode("es")
	tests := []struct {
		c          *catalog
		start, end string
		want       string
	}{
		{en, "2027-03-01", "2027-03-03", "1–3 March 2027"},
		{en, "2027-03-01", "", "1 March 2027"},
		{en, "2027-03-01", "2027-03-01", "1 March 2027"},
		{en, "2027-06-30", "2027-07-02", "30 June 2027 – 2 July 2027"},
		{es, "2027-03-01", "2027-03-03", "1–3 de marzo de 2027"},
		{es, "2027-12-31", "2028-01-02", "31 de diciembre de 2027 – 2 de enero de 2028"},
		{en, "", "", ""},
		{en, "2027-13-01", "", ""},
	}
	for _, tt := range tests {
		if got := tt.c.dateRange(tt.start, tt.end); got != tt.want {
			t.Errorf("%s %s..%s = %q, want %q", tt.c.code, tt.start, tt.end, got, tt.want)
		}
	}
}
