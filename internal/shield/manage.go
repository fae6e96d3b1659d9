package shield

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/identity"
	"github.com/leadcap/leadcap/internal/intake"
	"github.com/leadcap/leadcap/internal/store"
)

// AddRule checks r, stores it (replacing a rule with the same action and
// target) and records it in the audit trail as done by a. It returns
// whether the rule is new. Every server picks the change up within a
// second.
func AddRule(ctx context.Context, st *store.Store, a identity.Actor, r *leadcap.ShieldRule, now time.Time) (bool, error) {
	n, err := AddRules(ctx, st, a, []*leadcap.ShieldRule{r}, now)
	return n == 1, err
}

// AddRules adds many rules as AddRule does, in one transaction, and
// returns how many are new. A list is one audit record that counts the
// rules and names the first few.
func AddRules(ctx context.Context, st *store.Store, a identity.Actor, rules []*leadcap.ShieldRule, now time.Time) (int, error) {
	for _, r := range rules {
		if err := CheckRule(r, now); err != nil {
			return 0, err
		}
		r.CreatedBy, r.CreatedAt = actorLabel(a), now.UTC()
	}
	if len(rules) == 0 {
		return 0, nil
	}
	created, err := st.PutShieldRules(ctx, rules)
	if err != nil {
		return 0, err
	}
	r := rules[0]
	detail := map[string]string{"action": r.Action, "target": r.Target()}
	if r.Note != "" {
		detail["note"] = r.Note
	}
	if !r.ExpiresAt.IsZero() {
		detail["expires_at"] = r.ExpiresAt.UTC().Format(time.RFC3339)
	}
	target := "shield-rule:" + strconv.FormatInt(r.ID, 10)
	if len(rules) > 1 {
		var names []string
		for _, r := range rules[:min(len(rules), 5)] {
			names = append(names, r.Action+" "+r.Target())
		}
		detail = map[string]string{"rules": strconv.Itoa(len(rules)), "new": strconv.Itoa(created),
			"first": strings.Join(names, ", ")}
		target = "shield-rules"
	}
	return created, audit(ctx, st, a, leadcap.AuditShieldRuleAdd, target, detail, now)
}

// RemoveRule deletes the rule with id and records it in the audit trail.
func RemoveRule(ctx context.Context, st *store.Store, a identity.Actor, id int64, now time.Time) (*leadcap.ShieldRule, error) {
	r, err := st.DeleteShieldRule(ctx, id)
	if err != nil {
		return nil, err
	}
	return r, audit(ctx, st, a, leadcap.AuditShieldRuleRemove, "shield-rule:"+strconv.FormatInt(r.ID, 10),
		map[string]string{"action": r.Action, "target": r.Target()}, now)
}

// FindRules returns the rules among rules that target is: a rule id, an IP
// address or CIDR range, or a country code (with or without "country:").
// action, if not empty, keeps only rules with that action.
func FindRules(rules []*leadcap.ShieldRule, target, action string) ([]*leadcap.ShieldRule, error) {
	target = strings.TrimSpace(target)
	var match func(r *leadcap.ShieldRule) bool
	if id, err := strconv.ParseInt(target, 10, 64); err == nil && id > 0 {
		match = func(r *leadcap.ShieldRule) bool { return r.ID == id }
	} else if cc, ok := intake.CountryCode(strings.TrimPrefix(target, "country:")); ok {
		match = func(r *leadcap.ShieldRule) bool { return r.Country == cc }
	} else if n, err := ParseNetwork(target); err == nil {
		match = func(r *leadcap.ShieldRule) bool { return r.Network == n }
	} else {
		return nil, leadcap.Errorf(leadcap.EINVALID, "%q is not a rule id, an IP address, a CIDR range or a country code", target)
	}
	var out []*leadcap.ShieldRule
	for _, r := range rules {
		if match(r) && (action == "" || r.Action == action) {
			out = append(out, r)
		}
	}
	return out, nil
}

func actorLabel(a identity.Actor) string {
	if a.Email == "" {
		return "anonymous"
	}
	return a.Email
}

func audit(ctx context.Context, st *store.Store, a identity.Actor, action, target string, detail map[string]string, now time.Time) error {
	err := st.AppendAudit(ctx, leadcap.AuditEvent{At: now, ActorID: a.UserID, Actor: actorLabel(a), Action: action,
		Target: target, ClientIP: a.ClientIP, UserAgent: a.UserAgent,
		Result: leadcap.AuditSuccess, Detail: detail})
	if err != nil {
		return fmt.Errorf("shield: audit %s: %w", action, err)
	}
	return nil
}
