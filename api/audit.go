package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sigil-auth/sigil/authority"
)

type auditPage struct {
	Events []authority.Event `json:"events"`
	// Names holds, by id, the email of each user and the name of each
	// client the page's events name as actor or user (deleted ones are
	// left out), so a reader sees people and applications, not ids.
	Names map[string]string `json:"names"`
	// NextCursor fetches the next (older) page; absent on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// handleAudit serves GET /admin/audit: audit events newest first, limit
// (1–500, default 100) per page; cursor (from nextCursor) continues with
// older events; type and userId filter, and from (inclusive) and to
// (exclusive), RFC 3339 times, bound the time range. The page names the
// users (email) and clients (name) its events refer to.
func (s *Server) handleAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	eq := authority.EventQuery{Type: q.Get("type"), UserID: q.Get("userId"), Limit: 100}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			s.writeProblem(w, r, invalidField("limit", "must be a whole number from 1 to 500"))
			return
		}
		eq.Limit = n
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.writeProblem(w, r, invalidField("cursor", "is not a cursor from a previous page"))
			return
		}
		eq.Before = n
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &eq.From}, {"to", &eq.To}} {
		if v := q.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.writeProblem(w, r, invalidField(f.name, "must be an RFC 3339 time, e.g. 2026-01-02T15:04:05Z"))
				return
			}
			*f.dst = t
		}
	}
	events, err := s.auth.Events(r.Context(), eq)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	names, err := s.auth.EventNames(r.Context(), events)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	page := auditPage{Events: events, Names: names}
	if page.Events == nil {
		page.Events = []authority.Event{}
	}
	if len(events) == eq.Limit {
		page.NextCursor = strconv.FormatInt(events[len(events)-1].ID, 10)
	}
	noStore(w)
	writeJSON(w, http.StatusOK, page)
}
