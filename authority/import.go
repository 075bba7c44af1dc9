package authority

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// ImportLine is one user of an import file, with the line it came from.
type ImportLine struct {
	Line int
	User User
}

// LineError is a problem with one line of an import file.
type LineError struct {
	Line   int
	Reason string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Reason) }

// ImportError lists every bad line of an import that wrote nothing.
type ImportError struct {
	Lines []LineError
}

func (e *ImportError) Error() string {
	return fmt.Sprintf("%d bad line(s); nothing was imported", len(e.Lines))
}

// maxImportLine bounds one line of an import file.
const maxImportLine = 64 << 10

type importRecord struct {
	Email        *string `json:"email"`
	PasswordHash *string `json:"passwordHash"`
	Name         *string `json:"name"`
}

// ParseImport reads JSON lines {"email","passwordHash","name"} where the
// hash is bcrypt ($2a$, $2b$ or $2y$, as bcrypt and bcryptjs write them).
// Blank lines are skipped. It returns the users of the good lines and a
// LineError for every bad one: malformed JSON, unknown or missing fields,
// an invalid email, name or hash, or an email already seen on an earlier
// line.
func (s *Service) ParseImport(r io.Reader) ([]ImportLine, []LineError, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxImportLine)
	var good []ImportLine
	var bad []LineError
	seen := map[string]int{}
	now := s.now().UTC()
	n := 0
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		u, reason := parseImportLine(raw)
		if reason == "" {
			if first, dup := seen[u.Email]; dup {
				reason = fmt.Sprintf("email %s already appears on line %d", u.Email, first)
			} else {
				seen[u.Email] = n
			}
		}
		if reason != "" {
			bad = append(bad, LineError{Line: n, Reason: reason})
			continue
		}
		u.ID, u.CreatedAt, u.UpdatedAt = newUUID(), now, now
		good = append(good, ImportLine{Line: n, User: u})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			bad = append(bad, LineError{Line: n + 1, Reason: fmt.Sprintf("longer than %d bytes", maxImportLine)})
			return good, bad, nil
		}
		return nil, nil, fmt.Errorf("read import file: %w", err)
	}
	return good, bad, nil
}

func parseImportLine(raw []byte) (User, string) {
	var rec importRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return User{}, "unknown field " + f
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return User{}, fmt.Sprintf("%s must be a string", te.Field)
		}
		return User{}, "not a JSON object"
	}
	if dec.More() {
		return User{}, "more than one JSON value on the line"
	}
	if rec.Email == nil {
		return User{}, "email is missing"
	}
	if rec.PasswordHash == nil {
		return User{}, "passwordHash is missing"
	}
	email, err := NormalizeEmail(*rec.Email)
	if err != nil {
		return User{}, err.Error()
	}
	name := ""
	if rec.Name != nil {
		if name, err = ValidateName(*rec.Name); err != nil {
			return User{}, err.Error()
		}
	}
	hash := *rec.PasswordHash
	if reason := checkBcrypt(hash); reason != "" {
		return User{}, "passwordHash " + reason
	}
	return User{Email: email, Name: name, PasswordHash: hash}, ""
}

// checkBcrypt returns why hash is not a usable bcrypt hash, or "".
func checkBcrypt(hash string) string {
	if !IsBcrypt(hash) {
		return "is not a bcrypt hash ($2a$, $2b$ or $2y$)"
	}
	if len(hash) != 60 {
		return "is not a complete bcrypt hash (60 characters)"
	}
	cost, err := bcrypt.Cost([]byte("$2a$" + hash[4:]))
	if err != nil {
		return "is malformed"
	}
	if cost > 16 {
		return fmt.Sprintf("has cost %d; at most 16 is accepted", cost)
	}
	return ""
}

// Import reads an import file (see ParseImport) and adds its users all or
// nothing: every line is checked first, including whether its email
// already belongs to an account, and if any line is bad nothing is written
// and every bad line is reported in an *ImportError. Otherwise every user
// is inserted in one transaction. Existing accounts are never changed. It
// returns the number of users imported.
func (s *Service) Import(ctx context.Context, r io.Reader, meta Meta) (int, error) {
	lines, bad, err := s.ParseImport(r)
	if err != nil {
		return 0, err
	}
	lineOf := make(map[string]int, len(lines))
	emails := make([]string, len(lines))
	users := make([]User, len(lines))
	for i, l := range lines {
		lineOf[l.User.Email] = l.Line
		emails[i] = l.User.Email
		users[i] = l.User
	}
	taken, err := s.store.ExistingEmails(ctx, emails)
	if err != nil {
		return 0, err
	}
	if len(taken) == 0 && len(bad) == 0 && len(users) > 0 {
		// A signup racing the import is caught by the insert itself.
		if taken, err = s.store.ImportUsers(ctx, users); err != nil {
			return 0, err
		}
	}
	for _, e := range taken {
		bad = append(bad, LineError{Line: lineOf[e], Reason: "email " + e + " is already registered; it was not changed"})
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b LineError) int { return a.Line - b.Line })
		return 0, &ImportError{Lines: bad}
	}
	if len(users) > 0 {
		s.audit(ctx, Event{Type: EventUserImport, Actor: meta.Actor, Detail: fmt.Sprintf("%d user(s) imported with bcrypt hashes", len(users))})
	}
	return len(users), nil
}
