package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/leadcap/leadcap"
)

// Orders of a lead listing.
const (
	SortNewest = "newest" // most recently received first (the default)
	SortOldest = "oldest"
	SortRating = "rating" // hot, warm, cold, unrated; newest first within each
)

// Spam choices of a lead listing.
const (
	SpamExclude = "exclude" // leave quarantined leads out (the default)
	SpamOnly    = "only"    // only quarantined leads
	SpamInclude = "include" // everything
)

// RatingNone selects leads without a rating.
const RatingNone = "none"

// Listing limits.
const (
	DefaultLeadPage = 50
	MaxLeadPage     = 200
	// searchBudget is how many candidate leads one search request may
	// decrypt. A search whose candidates are mostly false (a common prefix,
	// few real matches) answers a short page with a cursor to go on.
	searchBudget = 4000
)

// LeadQuery selects a page of leads for the console and the API. Zero
// values select everything.
type LeadQuery struct {
	ConferenceID string
	Since, Until time.Time // received in [Since, Until)
	Rating       string    // hot, warm, cold, RatingNone, or "" for any
	Source       string
	Spam         string // SpamExclude (default), SpamOnly or SpamInclude
	Tag          string
	Search       string // words of the name, email or company
	Sort         string // SortNewest (default), SortOldest or SortRating
	Cursor       string // Next of the previous page
	Limit        int    // default DefaultLeadPage, at most MaxLeadPage
}

// LeadPage is one page of a lead listing. Leads carry their rating and
// tags, not their history or notes.
type LeadPage struct {
	Leads []*leadcap.Lead
	// Next continues the listing; "" at its end. A search that ran out of
	// its decryption budget returns fewer leads than asked and a Next.
	Next string
	// Scanned counts the leads decrypted to check a search.
	Scanned int
}

// ratingCodes maps ratings to the stored codes: hotter is higher.
var ratingCodes = map[string]int{"": 0, leadcap.RatingCold: 1, leadcap.RatingWarm: 2, leadcap.RatingHot: 3}

func ratingName(code int) string {
	for name, c := range ratingCodes {
		if c == code {
			return name
		}
	}
	return ""
}

// cursor is a decoded page cursor: the sort key of the last lead shown.
type cursor struct {
	rating int
	id     string
}

func (c cursor) encode(sort string) string {
	if sort == SortRating {
		return strconv.Itoa(c.rating) + "." + c.id
	}
	return c.id
}

func decodeCursor(s, sort string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := leadcap.FieldErrors(map[string]string{"cursor": "must be the next cursor of the previous page"})
	c := &cursor{id: s}
	if sort == SortRating {
		r, id, ok := strings.Cut(s, ".")
		n, err := strconv.Atoi(r)
		if !ok || err != nil || n < 0 || n > 3 {
			return nil, bad
		}
		c.rating, c.id = n, id
	}
	if _, err := uuid.Parse(c.id); err != nil || len(c.id) != 36 {
		return nil, bad
	}
	return c, nil
}

// normalize checks q and fills in its defaults.
func (q *LeadQuery) normalize() error {
	fields := map[string]string{}
	switch q.Sort {
	case "":
		q.Sort = SortNewest
	case SortNewest, SortOldest, SortRating:
	default:
		fields["sort"] = "must be newest, oldest or rating"
	}
	switch q.Spam {
	case "":
		q.Spam = SpamExclude
	case SpamExclude, SpamOnly, SpamInclude:
	default:
		fields["spam"] = "must be exclude, only or include"
	}
	if _, ok := ratingCodes[q.Rating]; !ok && q.Rating != RatingNone {
		fields["rating"] = "must be hot, warm, cold or none"
	}
	if q.Limit <= 0 {
		q.Limit = DefaultLeadPage
	}
	if q.Limit > MaxLeadPage {
		fields["limit"] = fmt.Sprintf("must be at most %d", MaxLeadPage)
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		fields["until"] = "must be after since"
	}
	return leadcap.FieldErrors(fields)
}

// idBound returns the smallest UUIDv7 of the millisecond of t. Lead ids
// are UUIDv7 made when the lead is stored, just after its created_at is
// set, so a range of created_at is nearly a range of ids, which the
// primary key and the conference index serve in order.
func idBound(t time.Time) string {
	var u uuid.UUID
	ms := uint64(max(t.UnixMilli(), 0))
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 // version 7
	u[8] = 0x80 // RFC 4122 variant
	return u.String()
}

// clockSlack covers the time between a lead's created_at and its id, and
// a server clock stepping back between the two.
const clockSlack = time.Minute

// where returns the conditions of q other than search and cursor, after
// "WHERE 1 = 1", adding their arguments with arg.
func (q *LeadQuery) where(arg func(any) string) string {
	var b strings.Builder
	if q.ConferenceID != "" {
		b.WriteString(` AND l.conference_id = ` + arg(q.ConferenceID))
	}
	if !q.Since.IsZero() {
		b.WriteString(` AND l.created_at >= ` + arg(micros(q.Since)) + ` AND l.id >= ` + arg(idBound(q.Since.Add(-clockSlack))))
	}
	if !q.Until.IsZero() {
		b.WriteString(` AND l.created_at < ` + arg(micros(q.Until)) + ` AND l.id < ` + arg(idBound(q.Until.Add(clockSlack))))
	}
	switch q.Rating {
	case "":
	case RatingNone:
		b.WriteString(` AND l.rating = 0`)
	default:
		b.WriteString(` AND l.rating = ` + arg(ratingCodes[q.Rating]))
	}
	if q.Source != "" {
		b.WriteString(` AND l.source = ` + arg(q.Source))
	}
	switch q.Spam {
	case SpamExclude:
		b.WriteString(` AND l.spam = FALSE`)
	case SpamOnly:
		b.WriteString(` AND l.spam = TRUE`)
	}
	if q.Tag != "" {
		b.WriteString(` AND l.id IN (SELECT lead_id FROM lead_tags WHERE tag = ` + arg(q.Tag) + `)`)
	}
	return b.String()
}

// ListLeads returns a page of the leads q selects.
func (s *Store) ListLeads(ctx context.Context, q LeadQuery) (*LeadPage, error) {
	if err := q.normalize(); err != nil {
		return nil, err
	}
	cur, err := decodeCursor(q.Cursor, q.Sort)
	if err != nil {
		return nil, err
	}
	search, err := s.parseSearch(q.Search)
	if err != nil {
		return nil, err
	}
	if search != nil {
		if err := s.rarestFirst(ctx, search); err != nil {
			return nil, fmt.Errorf("store: list leads: %w", err)
		}
	}
	page := &LeadPage{}
	batch := q.Limit + 1
	if search != nil {
		batch = max(2*q.Limit, 100)
	}
	for {
		rows, err := s.leadBatch(ctx, &q, search, cur, batch)
		if err != nil {
			return nil, fmt.Errorf("store: list leads: %w", err)
		}
		for _, r := range rows {
			if search == nil || search.matches(r.lead) {
				if len(page.Leads) == q.Limit {
					page.Next = page.last(q.Sort)
					return page, s.fillTags(ctx, page.Leads)
				}
				page.Leads = append(page.Leads, r.lead)
			}
			if search != nil {
				if page.Scanned++; page.Scanned >= searchBudget {
					// Out of budget: the next page goes on after this row.
					page.Next = r.cursor.encode(q.Sort)
					return page, s.fillTags(ctx, page.Leads)
				}
			}
		}
		if len(rows) < batch {
			return page, s.fillTags(ctx, page.Leads)
		}
		cur = &rows[len(rows)-1].cursor
	}
}

// termCountCap bounds the counting of a term's leads: past it, a term is
// common, and which of two common terms drives a search matters little.
const termCountCap = 20000

// rarestFirst orders the terms of a search by how many leads have them,
// fewest first, so that the rarest drives the scan.
func (s *Store) rarestFirst(ctx context.Context, q *searchQuery) error {
	if len(q.terms) < 2 {
		return nil
	}
	counts := make(map[int64]int, len(q.terms))
	for _, t := range q.terms {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM lead_terms WHERE term = $1 LIMIT $2) c`,
			t, termCountCap).Scan(&n); err != nil {
			return err
		}
		counts[t] = n
	}
	slices.SortStableFunc(q.terms, func(a, b int64) int { return counts[a] - counts[b] })
	return nil
}

// last is the cursor after the last lead of the page.
func (p *LeadPage) last(sort string) string {
	l := p.Leads[len(p.Leads)-1]
	return cursor{ratingCodes[l.Rating], l.ID}.encode(sort)
}

// listedLead is one row of a listing with its position.
type listedLead struct {
	lead   *leadcap.Lead
	cursor cursor
}

// leadBatch reads up to n leads of q after cur, in q's order, decrypted.
// The rating order reads one rating after the other, hottest first, each
// newest first through the rating index, so that no query sorts.
func (s *Store) leadBatch(ctx context.Context, q *LeadQuery, search *searchQuery, cur *cursor, n int) ([]listedLead, error) {
	if q.Sort != SortRating {
		after := ""
		if cur != nil {
			after = cur.id
		}
		return s.idBatch(ctx, q, search, -1, after, q.Sort == SortNewest, n)
	}
	var out []listedLead
	for rating := 3; rating >= 0 && len(out) < n; rating-- {
		if q.Rating != "" && rating != ratingFilter(q.Rating) {
			continue
		}
		after := ""
		if cur != nil {
			if rating > cur.rating {
				continue
			} else if rating == cur.rating {
				after = cur.id
			}
		}
		rows, err := s.idBatch(ctx, q, search, rating, after, true, n-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return out, nil
}

// ratingFilter is the stored code a rating filter selects.
func ratingFilter(r string) int {
	if r == RatingNone {
		return 0
	}
	return ratingCodes[r]
}

// idBatch reads up to n leads of q in id order after the id after ("" for
// the start), only those of one rating unless rating is -1.
func (s *Store) idBatch(ctx context.Context, q *LeadQuery, search *searchQuery, rating int, after string, desc bool, n int) ([]listedLead, error) {
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	from, idCol := ` FROM leads l`, "l.id"
	cond := q.where(arg)
	if rating >= 0 && q.Rating == "" {
		cond += ` AND l.rating = ` + arg(rating)
	}
	if search != nil {
		// Every term must be there. The first drives the scan: its index
		// entries are in lead id order.
		// CROSS JOIN keeps SQLite from driving the scan from another index
		// and sorting what it finds.
		from, idCol = ` FROM lead_terms t CROSS JOIN leads l`, "t.lead_id"
		cond += ` AND l.id = t.lead_id`
		cond += ` AND t.term = ` + arg(search.terms[0])
		for _, t := range search.terms[1:] {
			cond += ` AND EXISTS (SELECT 1 FROM lead_terms u WHERE u.term = ` + arg(t) + ` AND u.lead_id = t.lead_id)`
		}
	}
	order := idCol
	if desc {
		order += ` DESC`
		if after != "" {
			cond += ` AND ` + idCol + ` < ` + arg(after)
		}
	} else if after != "" {
		cond += ` AND ` + idCol + ` > ` + arg(after)
	}
	query := `SELECT ` + prefixed(leadColumns, "l.") + `, l.rating` + from + ` WHERE 1 = 1` + cond +
		` ORDER BY ` + order + ` LIMIT ` + arg(n)
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []listedLead
	for rows.Next() {
		var r int
		l, err := s.scanLead(withExtra{rows, []any{&r}})
		if err != nil {
			return nil, err
		}
		l.Rating = ratingName(r)
		out = append(out, listedLead{l, cursor{r, l.ID}})
	}
	return out, rows.Err()
}

// withExtra scans a row of leadColumns followed by more columns.
type withExtra struct {
	row   scanner
	extra []any
}

// Scan scans into dest and then the extra destinations.
func (w withExtra) Scan(dest ...any) error { return w.row.Scan(append(dest, w.extra...)...) }

// prefixed qualifies each column of a list with a table alias.
func prefixed(cols, alias string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

// fillTags sets the tags of the leads, in one query.
func (s *Store) fillTags(ctx context.Context, leads []*leadcap.Lead) error {
	if len(leads) == 0 {
		return nil
	}
	byID := make(map[string]*leadcap.Lead, len(leads))
	args := make([]any, 0, len(leads))
	marks := make([]string, 0, len(leads))
	for _, l := range leads {
		byID[l.ID] = l
		args = append(args, l.ID)
		marks = append(marks, fmt.Sprintf("$%d", len(args)))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT lead_id, tag FROM lead_tags WHERE lead_id IN (`+strings.Join(marks, ", ")+`) ORDER BY lead_id, tag`, args...)
	if err != nil {
		return fmt.Errorf("store: lead tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return fmt.Errorf("store: lead tags: %w", err)
		}
		byID[id].Tags = append(byID[id].Tags, tag)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: lead tags: %w", err)
	}
	return nil
}
