package web

import (
	"net/http"
	"time"
)

// overviewAnswer is GET /admin/overview as the console reads it.
type overviewAnswer struct {
	SigningAlg          string     `json:"signingAlg"`
	ActiveKID           string     `json:"activeKid"`
	ActiveSince         *time.Time `json:"activeSince"`
	ActiveKeyAgeSeconds int64      `json:"activeKeyAgeSeconds"`
	NextRotation        *time.Time `json:"nextRotation"`
	Ready               bool       `json:"ready"`
	ReadyReason         string     `json:"readyReason"`
	Users               int        `json:"users"`
	Clients             int        `json:"clients"`
	TokensIssued        int64      `json:"tokensIssuedLastHour"`
	TokensWindowSeconds int64      `json:"tokensWindowSeconds"`
	Keys                timeline   `json:"keyTimeline"`
}

// handleOverview shows the signing algorithm, the active key's age, the
// instance's readiness and the counts of users, clients and tokens issued
// in the last hour.
func (c *console) handleOverview(w http.ResponseWriter, r consoleRequest) {
	var o overviewAnswer
	if !c.get(w, r, "/admin/overview", &o) {
		return
	}
	c.render(w, r, http.StatusOK, "console_overview", "overview", view{Title: "Overview", Data: map[string]any{
		"O":         o,
		"KeyAge":    humanDuration(time.Duration(o.ActiveKeyAgeSeconds) * time.Second),
		"Window":    humanDuration(time.Duration(o.TokensWindowSeconds) * time.Second),
		"Published": o.Keys.published(),
	}})
}
