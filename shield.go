package leadcap

import "time"

// Shield rule actions. An allow rule wins over any block rule that also
// matches a request.
const (
	ShieldBlock = "block"
	ShieldAllow = "allow"
)

// Audit actions of the shield's rules.
const (
	AuditShieldRuleAdd    = "shield.rule.add"
	AuditShieldRuleRemove = "shield.rule.remove"
)

// ShieldRule is one block or allow rule of the shield. It matches either a
// network (Network: an IP address or a CIDR range, IPv4 or IPv6, in
// canonical form) or a country (Country: ISO 3166-1 alpha-2, resolved from
// the client IP with the configured GeoIP database). A rule with an
// ExpiresAt stops applying at that time.
type ShieldRule struct {
	ID        int64     `json:"id"`
	Action    string    `json:"action"` // ShieldBlock or ShieldAllow
	Network   string    `json:"network,omitempty"`
	Country   string    `json:"country,omitempty"`
	Note      string    `json:"note,omitempty"`
	CreatedBy string    `json:"created_by"` // user email, or "cli"
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"` // zero: never
}

// Active reports whether r applies at now.
func (r *ShieldRule) Active(now time.Time) bool {
	return r.ExpiresAt.IsZero() || now.Before(r.ExpiresAt)
}

// Target names what r matches: the network, or "country:XX".
func (r *ShieldRule) Target() string {
	if r.Country != "" {
		return "country:" + r.Country
	}
	return r.Network
}

// ShieldBlockRecord is one row of the shield's block record: how many
// requests one rule (or rate limit) refused from one client IP during one
// second. Under attack the record is sampled: past a cap of rows per second,
// the rest are counted in rows whose ClientIP is "other".
type ShieldBlockRecord struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`   // the second
	Rule     string    `json:"rule"` // "rule-<id>", or "rate-ip", "rate-conference", "rate-token"
	ClientIP string    `json:"client_ip"`
	Country  string    `json:"country,omitempty"`
	Route    string    `json:"route,omitempty"`
	Count    int64     `json:"count"`
}

// FormDefences switches a conference's form abuse defences (see the README's
// "Shield" section). The zero value is the default: the honeypot, the
// minimum fill time and the signed render token are checked, and no proof
// of work is asked, since a visitor without JavaScript cannot give one. A
// defence applies only when it is also on server-wide.
type FormDefences struct {
	HoneypotOff    bool `json:"honeypot_off,omitempty"`
	FillTimeOff    bool `json:"fill_time_off,omitempty"`
	RenderTokenOff bool `json:"render_token_off,omitempty"`
	ProofOfWork    bool `json:"proof_of_work,omitempty"`
}
