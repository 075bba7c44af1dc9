package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

func durationInto(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("invalid duration %q (use Go syntax such as 15m or 720h)", v)
		}
		*dst(c) = d
		return nil
	}
}

// parseDays reads a Go duration or a whole number of days ("90d").
func parseDays(v string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(strings.TrimSpace(v), "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 && days <= 100*365 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("invalid duration %q (a number of days such as 90d, or Go syntax such as 720h; 0 keeps forever)", v)
}

func uintInto(dst func(*Config) *uint32, min, max uint64) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n < min || n > max {
			return fmt.Errorf("invalid value %q (an integer from %d to %d)", v, min, max)
		}
		*dst(c) = uint32(n)
		return nil
	}
}

// parseRate reads "20/s", "100/m", "5" (per second) or "0".
func parseRate(v string) (float64, error) {
	num, unit, hasUnit := strings.Cut(strings.TrimSpace(v), "/")
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid rate %q (use N/s, N/m or N/h, 0 to turn off)", v)
	}
	if !hasUnit {
		return n, nil
	}
	switch unit {
	case "s":
		return n, nil
	case "m":
		return n / 60, nil
	case "h":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("invalid rate %q (use N/s, N/m or N/h, 0 to turn off)", v)
}
