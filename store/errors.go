package store

import (
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/lib/pq"
)

var driverBadConn = driver.ErrBadConn

func isNetError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "broken pipe") ||
		strings.Contains(msg, "connection reset") || strings.Contains(msg, "unexpected EOF") ||
		strings.Contains(msg, "driver: bad connection")
}

// isCanceled reports whether the database canceled a statement because its
// context ended (Postgres query_canceled, SQLite interrupted), which is a
// timeout the caller may retry, not a fault.
func isCanceled(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "57014"
	}
	return strings.Contains(err.Error(), "interrupted (9)")
}

// isUniqueViolation reports whether err is a unique-constraint failure.
func isUniqueViolation(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return strings.Contains(err.Error(), "UNIQUE constraint failed")
}
