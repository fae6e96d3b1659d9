package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/capture"
	"github.com/leadcap/leadcap/internal/crypto"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/kiosk"
	"github.com/leadcap/leadcap/internal/server"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// testServer is leadcap's HTTP surface on loopback over a real database.
type testServer struct {
	*httptest.Server
	store *store.Store
	keys  *crypto.KeyRing
}

func newTestServer(t *testing.T, dsn string) *testServer {
	t.Helper()
	st, keys := storetest.Open(t, dsn, store.Options{Merge: intake.MergeLead})
	h := server.New(server.Deps{
		Store:        st,
		Capture:      capture.New(st, nil),
		Log:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxBodyBytes: 64 << 10,
		Kiosk:        kiosk.NewLinks(keys, st),
	})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return &testServer{Server: ts, store: st, keys: keys}
}

// expo returns a conference with interests, a question of each type and
// Spanish texts for its name, questions, choices and consent.
func expo(slug, status string) *leadcap.Conference {
	lo, hi := 0.0, 100000.0
	return &leadcap.Conference{
		Slug: slug, Name: "Belize Adventure Expo", Venue: "Biltmore Hotel, Belize City", Country: "BZ",
		StartDate: "2027-03-01", EndDate: "2027-03-03", Status: status,
		Names: map[string]string{"es": "Feria de Aventura de Belice"},
		Interests: []leadcap.Choice{
			{Value: "diving", Label: "Diving", Labels: map[string]string{"es": "Buceo"}},
			{Value: "fishing", Label: "Fishing", Labels: map[string]string{"es": "Pesca"}},
		},
		Questions: []leadcap.Question{
			{ID: "role", Type: leadcap.QuestionText, Label: "Your role", Labels: map[string]string{"es": "Su función"}},
			{ID: "size", Type: leadcap.QuestionSingle, Label: "Group size", Required: true,
				Labels: map[string]string{"es": "Tamaño del grupo"},
				Choices: []leadcap.Choice{
					{Value: "solo", Label: "Just me", Labels: map[string]string{"es": "Solo yo"}},
					{Value: "family", Label: "Family", Labels: map[string]string{"es": "Familia"}},
					{Value: "group", Label: "A group", Labels: map[string]string{"es": "Un grupo"}},
				}},
			{ID: "trips", Type: leadcap.QuestionMulti, Label: "Trips", Labels: map[string]string{"es": "Excursiones"},
				Choices: []leadcap.Choice{
					{Value: "reef", Label: "Barrier reef", Labels: map[string]string{"es": "Arrecife"}},
					{Value: "jungle", Label: "Jungle", Labels: map[string]string{"es": "Selva"}},
				}},
			{ID: "budget", Type: leadcap.QuestionNumber, Label: "Budget (USD)", Labels: map[string]string{"es": "Presupuesto (USD)"}, Min: &lo, Max: &hi},
			{ID: "when", Type: leadcap.QuestionDate, Label: "When would you travel?", Labels: map[string]string{"es": "¿Cuándo viajaría?"}},
		},
		Consent: leadcap.ConsentText{
			Text:  "I agree that Belize Adventure Expo exhibitors may contact me about my enquiry.",
			Texts: map[string]string{"es": "Acepto que los expositores de la Feria de Aventura de Belice me contacten sobre mi consulta."},
		},
	}
}

// mustConference validates and stores c.
func mustConference(t *testing.T, st *store.Store, c *leadcap.Conference) *leadcap.Conference {
	t.Helper()
	if err := intake.ValidateConference(c); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateConference(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// deviceLink signs a kiosk device link for conference c.
func deviceLink(t *testing.T, keys kiosk.MAC, c *leadcap.Conference, label string, expires time.Time) string {
	t.Helper()
	tok, err := kiosk.Sign(keys, kiosk.Device{ConferenceID: c.ID, ID: kiosk.DeviceID(label), Label: label, Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	return "/c/" + c.Slug + "?device=" + url.QueryEscape(tok)
}

// leadsOf returns the stored leads of conference c, with their histories.
func leadsOf(t *testing.T, st *store.Store, c *leadcap.Conference) []*leadcap.Lead {
	t.Helper()
	ctx := context.Background()
	list, _, err := st.Leads(ctx, store.LeadFilter{ConferenceID: c.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range list {
		full, err := st.Lead(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		list[i] = full
	}
	return list
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) has(t *testing.T, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(p.body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func (p page) lacks(t *testing.T, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(p.body, w) {
			t.Errorf("page has %q", w)
		}
	}
}

// get fetches path with the headers given as name, value pairs.
func (ts *testServer) get(t *testing.T, path string, headers ...string) page {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ts.do(t, req)
}

// postForm sends a form as a browser without JavaScript does.
func (ts *testServer) postForm(t *testing.T, path string, form url.Values, headers ...string) page {
	t.Helper()
	req, err := http.NewRequest("POST", ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return ts.do(t, req)
}

func (ts *testServer) do(t *testing.T, req *http.Request) page {
	t.Helper()
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b)}
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formValues returns the hidden inputs of a rendered form, as a browser
// would send them.
func formValues(body string) url.Values {
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], m[2])
	}
	return v
}
