package server_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/store"
	"github.com/leadcap/leadcap/internal/store/storetest"
)

// Names the benchmark's leads are made of: common enough that searches
// for them find many, with a few rare ones.
var (
	benchFirst = []string{"Ana", "Maria", "José", "John", "Mary", "James", "Linda", "Robert", "Patricia", "Michael",
		"Jennifer", "William", "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
		"Sarah", "Carlos", "Karen", "Daniel", "Nancy", "Luis", "Lisa", "Mark", "Betty", "Paul", "Sandra", "Li", "Wei",
		"Mohammed", "Fatima", "Yuki", "Hiroshi", "Olga", "Ivan", "Chloé", "Zoë", "Søren", "Ngozi", "Aroha", "Priya"}
	benchLast = []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Miller", "Davis", "Rodríguez",
		"Martínez", "Hernández", "López", "González", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
		"Martin", "Lee", "Pérez", "Thompson", "White", "Harris", "Sánchez", "Clark", "Ramírez", "Lewis", "Robinson",
		"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Wu", "Ng",
		"Kowalski", "Müller", "Schmidt", "Dubois", "Rossi", "Tanaka", "Okafor", "Singh"}
	benchCompanies = []string{"Acme Travel", "Globex", "Initech", "Umbrella Corp", "Hooli", "Vandelay Industries",
		"Stark Industries", "Wayne Enterprises", "Cyberdyne", "Soylent", "Tyrell Corp", "Wonka", "Duff", "Oceanic",
		"Blue Reef Tours", "Jungle Trek", "Caribbean Divers", "Maya Adventures", "Coral Coast", "Island Hopper"}
)

// leadsTable is a server with many leads, and a client with a token.
type leadsTable struct {
	ts    *testServer
	c     *client
	confs []*leadcap.Conference
	rare  string // a last name few leads have
	// seeded is how long storing the leads took; indexed, how long the
	// search indexer then took over them.
	seeded, indexed time.Duration
}

// seedLeadsTable stores n leads over four conferences as the capture path
// stores them: 5% rated, some tagged, 2% spam, a few from kiosks.
func seedLeadsTable(b *testing.B, dsn string, n int) *leadsTable {
	ctx := context.Background()
	ts := newTestServer(b, dsn)
	lt := &leadsTable{ts: ts, rare: "Quetzalcoatl"}
	for i := range 4 {
		c := &leadcap.Conference{Slug: fmt.Sprint("expo-", i), Name: fmt.Sprint("Expo ", i), Status: leadcap.StatusOpen,
			Questions: []leadcap.Question{{ID: "size", Type: leadcap.QuestionSingle, Label: "Size",
				Choices: []leadcap.Choice{{Value: "solo"}, {Value: "group"}}}},
			Consent: leadcap.ConsentText{Text: "We may contact you.", Hash: "h"}}
		if err := ts.store.CreateConference(ctx, c); err != nil {
			b.Fatal(err)
		}
		lt.confs = append(lt.confs, c)
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	const workers = 32
	for w := range workers {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := w; i < n; i += workers {
				c := lt.confs[i%4]
				first, last := benchFirst[r.IntN(len(benchFirst))], benchLast[r.IntN(len(benchLast))]
				if i%25000 == 17 {
					last = lt.rare
				}
				email := fmt.Sprintf("%s.%s.%d@example.com", first, last, i)
				l := &leadcap.Lead{ConferenceID: c.ID, SubmissionID: fmt.Sprint("s", i), FirstName: first, LastName: last,
					Email: email, Phone: "+5016223456", Company: benchCompanies[r.IntN(len(benchCompanies))],
					JobTitle: "Buyer", Source: leadcap.SourceForm, Interests: []string{"diving"},
					Answers: leadcap.Answers{"size": "solo"}, Notes: "Met at the booth",
					Consent: leadcap.Consent{Contact: true, Version: 1, TextHash: "h", At: time.Now()}}
				if i%10 == 3 {
					l.Source = leadcap.SourceKiosk
				}
				if i%50 == 9 {
					l.Spam, l.SpamReason = true, "honeypot"
				}
				res, err := ts.store.CaptureLead(ctx, l, email)
				if err == nil && i%20 == 5 {
					rating := []string{leadcap.RatingHot, leadcap.RatingWarm, leadcap.RatingCold}[i%3]
					ch := store.LeadChange{Rating: &rating}
					if i%40 == 5 {
						tags := []string{"vip"}
						ch.Tags = &tags
					}
					err = ts.store.UpdateLead(ctx, res.LeadID, ch)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	lt.seeded = time.Since(start)
	start = time.Now()
	if _, err := ts.store.IndexLeads(ctx, store.IndexOptions{}); err != nil {
		b.Fatal(err)
	}
	lt.indexed = time.Since(start)
	if ts.store.Dialect() == store.Postgres {
		// As autovacuum would by now: the planner needs the tables' sizes.
		if err := ts.store.ExecForTest(ctx, `ANALYZE`); err != nil {
			b.Fatal(err)
		}
	}
	acct := ts.mustAccount(b, leadcap.RoleAdmin)
	secret, _, err := ts.ident.CreateToken(ctx, identity.CLI(), acct.user.ID, "bench", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	lt.c = ts.newClient("")
	lt.c.bearer = secret
	return lt
}

// BenchmarkLeadsTable times the leads table's requests over HTTP on
// loopback against LEADCAP_BENCH_LEADS leads (default 100,000):
//
//	go test -run='^$' -bench=LeadsTable -benchtime=20x ./internal/server/
//
// Each sub-benchmark reports its median and slowest request.
func BenchmarkLeadsTable(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("LEADCAP_BENCH_LEADS")); err == nil && v > 0 {
		n = v
	}
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			if backend == "postgres" && os.Getenv(storetest.PostgresEnv) == "" {
				b.Skip("no PostgreSQL")
			}
			lt := seedLeadsTable(b, storetest.Backends()[backend](b), n)
			fmt.Printf("%s: stored %d leads in %s, indexed them for search in %s\n", backend, n,
				lt.seeded.Round(time.Second), lt.indexed.Round(time.Second))
			day := time.Now().Format(time.DateOnly)
			// A cursor deep into the listing: page 20.
			deep := ""
			for range 20 {
				r := lt.c.do(b, "GET", "/api/v1/leads?cursor="+deep, nil)
				deep, _ = r.body["next"].(string)
			}
			for _, tt := range []struct{ name, path string }{
				{"first page", "/api/v1/leads"},
				{"page 21", "/api/v1/leads?cursor=" + deep},
				{"one conference", "/api/v1/leads?conference=expo-2"},
				{"hot in a conference", "/api/v1/leads?conference=expo-1&rating=hot"},
				{"kiosk source", "/api/v1/leads?source=kiosk"},
				{"spam only", "/api/v1/leads?spam=only"},
				{"tag", "/api/v1/leads?tag=vip"},
				{"today by rating", "/api/v1/leads?since=" + day + "&until=" + day + "&sort=rating"},
				{"search common name", "/api/v1/leads?q=maria"},
				{"search name and company", "/api/v1/leads?q=maria+globex"},
				{"search rare name", "/api/v1/leads?q=quetzalcoatl"},
				{"search in a conference", "/api/v1/leads?conference=expo-3&q=garcia"},
				{"page: leads table", "/leads"},
				{"page: hot in a conference", "/leads?conference=expo-1&rating=hot"},
				{"page: search", "/leads?q=maria+globex"},
				{"page: dashboard", "/"},
				{"page: dashboard of a conference", "/?conference=expo-1"},
			} {
				b.Run(tt.name, func(b *testing.B) {
					var times []time.Duration
					for b.Loop() {
						start := time.Now()
						res := httpGet(b, lt.c, tt.path)
						times = append(times, time.Since(start))
						if res != 200 {
							b.Fatalf("%s: %d", tt.path, res)
						}
					}
					slices.Sort(times)
					b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
					b.ReportMetric(float64(times[len(times)-1].Microseconds())/1000, "max-ms")
				})
			}
		})
	}
}

// httpGet fetches path with c's token and reads the whole answer.
func httpGet(b *testing.B, c *client, path string) int {
	req, _ := http.NewRequest("GET", c.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.bearer)
	res, err := c.http.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
