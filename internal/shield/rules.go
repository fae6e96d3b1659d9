package shield

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/intake"
)

// MaxNote is the longest note a rule may carry, in characters.
const MaxNote = 200

// ParseNetwork returns s, an IP address or a CIDR range (IPv4 or IPv6), as
// the canonical network a rule stores: "192.0.2.0/24", "2001:db8::/32",
// "198.51.100.7/32". An IPv4-mapped IPv6 address or range becomes its IPv4
// form. A range with host bits set is refused, since the operator may have
// meant another range.
func ParseNetwork(s string) (string, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return "", fmt.Errorf("%q is not an IP address or CIDR range", s)
		}
		if p.Addr().Zone() != "" {
			return "", fmt.Errorf("%q has a zone; give the range without it", s)
		}
		if p.Masked() != p {
			return "", fmt.Errorf("%q has host bits set: did you mean %s?", s, p.Masked())
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return "", fmt.Errorf("%q is not an IP address or CIDR range", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return "", fmt.Errorf("%q spans more than the IPv4-mapped range; give an IPv4 range", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.String(), nil
}

// CheckRule normalises and checks a rule before it is stored: its action,
// exactly one of a network and a country, a short printable note, and an
// expiry, if any, after now. Every problem is named by field in an
// EINVALID error.
func CheckRule(r *leadcap.ShieldRule, now time.Time) error {
	fields := map[string]string{}
	if r.Action != leadcap.ShieldBlock && r.Action != leadcap.ShieldAllow {
		fields["action"] = "must be block or allow"
	}
	switch {
	case r.Network != "" && r.Country != "":
		fields["network"] = "give a network or a country, not both"
	case r.Network != "":
		n, err := ParseNetwork(r.Network)
		if err != nil {
			fields["network"] = err.Error()
		}
		r.Network = n
	case r.Country != "":
		c, ok := intake.CountryCode(r.Country)
		if !ok {
			fields["country"] = "must be an ISO 3166-1 two-letter country code, like RU"
		}
		r.Country = c
	default:
		fields["network"] = "give an IP address, a CIDR range or a country"
	}
	switch {
	case !utf8.ValidString(r.Note):
		fields["note"] = "is not valid UTF-8"
	case utf8.RuneCountInString(r.Note) > MaxNote:
		fields["note"] = "is too long (at most " + strconv.Itoa(MaxNote) + " characters)"
	case strings.IndexFunc(r.Note, func(c rune) bool { return !unicode.IsPrint(c) }) >= 0:
		fields["note"] = "must be printable text on one line"
	}
	if !r.ExpiresAt.IsZero() && !r.ExpiresAt.After(now) {
		fields["expires_at"] = "must be in the future"
	}
	return leadcap.FieldErrors(fields)
}

// entry is a rule as the matcher holds it.
type entry struct {
	id      int64
	name    string // "rule-<id>", for logs, metrics and the block record
	expires int64  // Unix microseconds; 0 for never
}

func (e *entry) active(now int64) bool { return e.expires == 0 || now < e.expires }

// RuleName is how logs, metrics and the block record name the rule with id.
func RuleName(id int64) string { return "rule-" + strconv.FormatInt(id, 10) }

// ruleSet is the compiled form of every rule. It is not changed after
// compile; a reload compiles a new one and swaps it in.
type ruleSet struct {
	version             int64
	allow, block        index
	allowCC, blockCC    map[string]*entry
	networks, countries int
}

// compile builds the matcher of rules. A rule that does not parse (which
// CheckRule prevents) is skipped and reported in errs.
func compile(version int64, rules []*leadcap.ShieldRule) (rs *ruleSet, errs []error) {
	rs = &ruleSet{version: version, allowCC: map[string]*entry{}, blockCC: map[string]*entry{}}
	for _, r := range rules {
		e := &entry{id: r.ID, name: RuleName(r.ID)}
		if !r.ExpiresAt.IsZero() {
			e.expires = r.ExpiresAt.UnixMicro()
		}
		if r.Country != "" {
			rs.countries++
			if r.Action == leadcap.ShieldAllow {
				rs.allowCC[r.Country] = e
			} else {
				rs.blockCC[r.Country] = e
			}
			continue
		}
		p, err := netip.ParsePrefix(r.Network)
		if err != nil {
			errs = append(errs, fmt.Errorf("rule %d: network %q: %w", r.ID, r.Network, err))
			continue
		}
		rs.networks++
		if r.Action == leadcap.ShieldAllow {
			rs.allow.add(p.Masked(), e)
		} else {
			rs.block.add(p.Masked(), e)
		}
	}
	return rs, errs
}

// match returns the block rule that refuses ip at now (Unix microseconds),
// or nil, and whether a network allow rule matched. Any allow rule that
// matches wins over every block rule. country resolves ip's country, and
// is called only when a country rule could change the outcome.
func (rs *ruleSet) match(ip netip.Addr, now int64, country func() string) (blocked *entry, netAllowed bool) {
	if rs.allow.lookup(ip, now) != nil {
		return nil, true
	}
	blocked = rs.block.lookup(ip, now)
	if rs.countries == 0 || (blocked == nil && len(rs.blockCC) == 0) || (blocked != nil && len(rs.allowCC) == 0) {
		return blocked, false
	}
	cc := country()
	if cc == "" {
		return blocked, false
	}
	if e := rs.allowCC[cc]; e != nil && e.active(now) {
		return nil, false
	}
	if blocked == nil {
		if e := rs.blockCC[cc]; e != nil && e.active(now) {
			return e, false
		}
	}
	return blocked, false
}
