package leadcap

import "time"

// Lead ratings, set by booth staff: how likely the lead is to buy.
const (
	RatingHot  = "hot"
	RatingWarm = "warm"
	RatingCold = "cold"
)

// ValidRating reports whether r is a rating, or "" for none.
func ValidRating(r string) bool {
	return r == "" || r == RatingHot || r == RatingWarm || r == RatingCold
}

// LeadNote is a note a staff member added to a lead. Notes are kept in
// order and never edited; their text is encrypted at rest like the lead's.
type LeadNote struct {
	ID        string    `json:"id"`
	LeadID    string    `json:"lead_id"`
	AuthorID  string    `json:"author_id,omitempty"`
	Author    string    `json:"author"` // the author's email when written
	Text      string    `json:"text"`
	CreatedAt time.Time `json:"created_at"`
}
