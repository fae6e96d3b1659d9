package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Search over sealed fields
//
// A lead's name, email and company are sealed, so the database cannot
// compare them with what a user types. Instead each lead has a few search
// terms in lead_terms: for every word of those fields (letters and digits,
// case and accents folded: "Díaz-Pérez" gives "diaz" and "perez"), a keyed
// blind index (HMAC under the index key) of the word's first three letters,
// or of the whole word when it is shorter, written by IndexLeads in the
// background, within moments of the lead. A search looks up the terms of
// the words typed, which narrows 100,000 leads to the few hundred that
// share those prefixes, then decrypts the candidates and keeps those that
// really match (every word typed starts a word of the lead; a word of one
// or two letters must equal one).
//
// What this leaks to someone who has the database but not the key: which
// leads share a three-letter prefix of a word, and how many do; with a
// table of name frequencies that hints at the prefixes of common names. It
// tells nothing about the rest of a word, and nothing at all without the
// key file, which is kept apart from the database.

// Search limits.
const (
	maxTermsPerLead = 48  // search terms kept for one lead
	maxSearchWords  = 8   // words of a search that are used
	maxSearchLen    = 200 // bytes of a search
	termPrefix      = 3   // letters of a word its term covers
)

// searchWords splits s into lower-case words of letters and digits with
// accents removed.
func searchWords(s string) []string {
	folded, _, err := transform.String(transform.Chain(norm.NFKD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), s)
	if err != nil {
		folded = s
	}
	return strings.FieldsFunc(strings.ToLower(folded), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// leadWords returns the distinct words search looks at in l: first and
// last name, email and company.
func leadWords(l *leadcap.Lead) []string {
	var out []string
	for _, f := range []string{l.FirstName, l.LastName, l.Email, l.Company} {
		for _, w := range searchWords(f) {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}

// termKey is the part of word w that its term covers.
func termKey(w string) string {
	n := 0
	for i := range w {
		if n == termPrefix {
			return w[:i]
		}
		n++
	}
	return w
}

// term is the blind index of a term key, as stored: the first 8 bytes of
// the keyed hash.
func (s *Store) term(key string) int64 {
	return int64(binary.BigEndian.Uint64(s.sealer.BlindIndex("search-term", key)[:8]))
}

// leadTerms returns the distinct search terms of l.
func (s *Store) leadTerms(l *leadcap.Lead) []int64 {
	var out []int64
	for _, w := range leadWords(l) {
		t := s.term(termKey(w))
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
		if len(out) == maxTermsPerLead {
			break
		}
	}
	return out
}

// searchQuery is a parsed search: the words typed and their terms.
type searchQuery struct {
	words []string
	terms []int64
}

// parseSearch parses what a user typed into the search box.
func (s *Store) parseSearch(q string) (*searchQuery, error) {
	if len(q) > maxSearchLen {
		return nil, leadcap.FieldErrors(map[string]string{"q": fmt.Sprintf("must be at most %d characters", maxSearchLen)})
	}
	words := searchWords(q)
	if len(words) == 0 {
		return nil, nil
	}
	sq := &searchQuery{}
	for _, w := range words {
		if slices.Contains(sq.words, w) {
			continue
		}
		sq.words = append(sq.words, w)
		if t := s.term(termKey(w)); !slices.Contains(sq.terms, t) {
			sq.terms = append(sq.terms, t)
		}
		if len(sq.words) == maxSearchWords {
			break
		}
	}
	return sq, nil
}

// matches reports whether the decrypted lead l matches: every word of the
// search starts a word of the lead, and a word shorter than the term
// prefix equals one.
func (q *searchQuery) matches(l *leadcap.Lead) bool {
	have := leadWords(l)
	for _, w := range q.words {
		short := utf8.RuneCountInString(w) < termPrefix
		found := false
		for _, h := range have {
			if h == w || !short && strings.HasPrefix(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// insertTerms stores the search terms of a new lead.
func insertTerms(tx *Tx, leadID string, terms []int64) error {
	if len(terms) == 0 {
		return nil
	}
	// One statement per lead: the statement cache keeps one per count.
	var b strings.Builder
	b.WriteString(`INSERT INTO lead_terms (term, lead_id) VALUES `)
	args := make([]any, 0, len(terms)+1)
	args = append(args, leadID)
	for i, t := range terms {
		if i > 0 {
			b.WriteString(", ")
		}
		args = append(args, t)
		fmt.Fprintf(&b, "($%d, $1)", i+2)
	}
	b.WriteString(` ON CONFLICT DO NOTHING`)
	_, err := tx.exec(b.String(), args...)
	return err
}

// reindexLead replaces the search terms of a lead whose fields changed,
// and marks it indexed.
func reindexLead(tx *Tx, leadID string, terms []int64) error {
	if _, err := tx.exec(`DELETE FROM lead_terms WHERE lead_id = $1`, leadID); err != nil {
		return err
	}
	if _, err := tx.exec(`UPDATE leads SET search_indexed = 1 WHERE id = $1`, leadID); err != nil {
		return err
	}
	return insertTerms(tx, leadID, terms)
}

// IndexLeads gives search terms to the leads that need them: new leads,
// leads changed by a merge, leads stored before search existed. It reads
// them in rounds of o.Batch, repeats until none are left (or none older
// than o.Cutoff) and returns how many it indexed.
//
// Indexing runs beside the capture path, not on it: a lead is decrypted
// and its terms written here, in batches, so that storing a lead costs
// nothing more. A lead changed while its batch was being read (its sealed
// data differs at write time) is left for the next round.
func (s *Store) IndexLeads(ctx context.Context, o IndexOptions) (int, error) {
	batch := o.Batch
	if batch <= 0 {
		batch = 500
	}
	total := 0
	for {
		q, args := `SELECT `+leadColumns+` FROM leads WHERE search_indexed = 0`, []any{batch}
		if o.Cutoff != nil {
			if t := o.Cutoff(); !t.IsZero() {
				q, args = q+` AND id < $2`, append(args, idBound(t))
			}
		}
		rows, err := s.db.QueryContext(ctx, q+` ORDER BY id LIMIT $1`, args...)
		if err != nil {
			return total, fmt.Errorf("store: index leads: %w", err)
		}
		var items []indexItem
		for rows.Next() {
			var l leadcap.Lead
			var sealed []byte
			if err := scanRawLead(rows, &l, &sealed); err != nil {
				rows.Close()
				return total, fmt.Errorf("store: index leads: %w", err)
			}
			if err := s.openLead(&l, sealed); err != nil {
				rows.Close()
				return total, fmt.Errorf("store: index leads: %w", err)
			}
			items = append(items, indexItem{l.ID, sealed, s.leadTerms(&l)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, fmt.Errorf("store: index leads: %w", err)
		}
		if len(items) == 0 {
			return total, nil
		}
		// A few leads per write: the writer is shared with the lead path,
		// and a submission queued behind a long job waits for all of it.
		for chunk := range slices.Chunk(items, indexWriteChunk) {
			done, err := s.writeTerms(ctx, chunk)
			if err != nil {
				return total, fmt.Errorf("store: index leads: %w", err)
			}
			total += done
		}
		if o.Progress != nil {
			o.Progress(total)
		}
		if len(items) < batch {
			return total, nil
		}
	}
}

// indexWriteChunk is how many leads' terms one write transaction stores.
const indexWriteChunk = 25

type indexItem struct {
	id     string
	sealed []byte
	terms  []int64
}

// writeTerms marks items indexed and stores their terms, skipping a lead
// that changed since it was read. It returns how many it indexed.
func (s *Store) writeTerms(ctx context.Context, items []indexItem) (int, error) {
	done := 0
	err := s.write(ctx, func(tx *Tx) error {
		done = 0
		for _, it := range items {
			// The sealed data is sealed anew by every change (a fresh
			// nonce), so equal data means the lead is as it was read.
			n, err := execCount(ctx, tx, `UPDATE leads SET search_indexed = 1 WHERE id = $1 AND search_indexed = 0 AND data = $2`,
				it.id, it.sealed)
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			if _, err := tx.exec(`DELETE FROM lead_terms WHERE lead_id = $1`, it.id); err != nil {
				return err
			}
			if err := insertTerms(tx, it.id, it.terms); err != nil {
				return err
			}
			done++
		}
		return nil
	})
	return done, err
}

// IndexOptions steer IndexLeads.
type IndexOptions struct {
	Batch int // leads read per round; default 500
	// Cutoff, if set, is asked before each round for a time: leads created
	// at or after it wait for a later call. The zero time means no cutoff.
	Cutoff func() time.Time
	// Progress, if set, is told the running total after each round.
	Progress func(done int)
}
