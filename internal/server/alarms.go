package server

import (
	"net/http"
	"strconv"

	"github.com/leadcap/leadcap"
	"github.com/leadcap/leadcap/internal/store"
)

// alarmsBody is the answer of GET /api/v1/alarms.
type alarmsBody struct {
	Firing  int                  `json:"firing"`
	Alarms  []alarmView          `json:"alarms"`
	History []leadcap.AlarmEvent `json:"history"`
}

// alarmView is an alarm's state with whether it is stale: its server has
// not checked it for leadcap.AlarmStaleAfter (it stopped), so it is not
// counted as firing.
type alarmView struct {
	leadcap.Alarm
	Stale bool `json:"stale"`
}

// handleAlarms is GET /api/v1/alarms: the state of every alarm of every
// server, and the latest changes (?history=N, default 20, at most 1000;
// ?node=NAME for one server).
func (s *Server) handleAlarms(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 20
	if v := q.Get("history"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1000 {
			s.writeError(w, r, "alarms", &leadcap.Error{Code: leadcap.EINVALID, Message: "bad query",
				Fields: map[string]string{"history": "must be a whole number from 0 to 1000"}})
			return
		}
		limit = n
	}
	node := q.Get("node")
	if len(node) > 64 {
		s.writeError(w, r, "alarms", &leadcap.Error{Code: leadcap.EINVALID, Message: "bad query",
			Fields: map[string]string{"node": "must be at most 64 characters"}})
		return
	}
	alarms, err := s.Store.Alarms(r.Context(), node)
	if err != nil {
		s.writeError(w, r, "alarms", err)
		return
	}
	body := alarmsBody{Alarms: []alarmView{}, History: []leadcap.AlarmEvent{}}
	now := s.Now()
	for _, a := range alarms {
		body.Alarms = append(body.Alarms, alarmView{a, a.Stale(now)})
		if a.Firing(now) {
			body.Firing++
		}
	}
	if limit > 0 {
		h, err := s.Store.AlarmHistory(r.Context(), store.AlarmHistoryFilter{Node: node, Limit: limit})
		if err != nil {
			s.writeError(w, r, "alarms", err)
			return
		}
		if h != nil {
			body.History = h
		}
	}
	writeJSON(w, http.StatusOK, body)
}
