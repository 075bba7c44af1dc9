package web

import (
	"strconv"
	"strings"
	"time"
)

// humanDuration writes d as people say it: its two largest units, whole
// and spelled out ("30 days", "1 hour 30 minutes", "15 minutes"), rather
// than Go's "720h0m0s". Smaller parts are dropped, not rounded: a key 2
// days 3 hours 59 minutes old is "2 days 3 hours" old.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	units := []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var parts []string
	for _, u := range units {
		n := d / u.size
		if n > 0 {
			d -= n * u.size
			name := u.name
			if n != 1 {
				name += "s"
			}
			parts = append(parts, strconv.FormatInt(int64(n), 10)+" "+name)
		} else if len(parts) > 0 {
			break // "1 day 20 minutes" would hide that the hours were zero
		}
		if len(parts) == 2 {
			break
		}
	}
	if len(parts) == 0 {
		return "0 seconds"
	}
	return strings.Join(parts, " ")
}

// durationOf is the templates' "duration": a time.Duration, a Go duration
// string from the admin API ("720h0m0s"), or a number of seconds, written
// by humanDuration. A string that is not a duration is shown as it is.
func durationOf(v any) string {
	switch x := v.(type) {
	case time.Duration:
		return humanDuration(x)
	case string:
		d, err := time.ParseDuration(x)
		if err != nil {
			return x
		}
		return humanDuration(d)
	case int:
		return humanDuration(time.Duration(x) * time.Second)
	case int64:
		return humanDuration(time.Duration(x) * time.Second)
	case float64:
		return humanDuration(time.Duration(x * float64(time.Second)))
	}
	return ""
}
