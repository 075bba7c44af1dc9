package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"unicode/utf8"
)

// maxBody is the largest request body accepted (413 beyond).
const maxBody = 64 << 10

// decodeJSON reads a JSON object body into dst strictly: the content type
// must be application/json (415), the body at most 64 KiB (413), valid
// UTF-8 and well-formed JSON holding one object with no duplicate keys,
// compared without regard to case (400); unknown fields, including known
// names in another case ("EMAIL"), and wrong types are 422 naming the
// field. Unknown fields are rejected rather than ignored so a misspelt or
// smuggled field never passes silently.
func decodeJSON(r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return errUnsupportedMedia
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return badJSON("the request body could not be read")
	}
	if !utf8.Valid(body) {
		return badJSON("the request body is not valid UTF-8")
	}
	keys, err := objectKeys(body)
	if err != nil {
		return err
	}
	if known := jsonFields(dst); known != nil {
		// encoding/json matches names without regard to case; the API's
		// names are exact.
		for _, k := range keys {
			if !known[k] {
				return invalidField(shorten(k), "is not a known field")
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := te.Field
			if field == "" {
				field = "body"
			}
			return invalidField(field, "has the wrong type (expected "+te.Type.String()+")")
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return invalidField(strings.Trim(f, `"`), "is not a known field")
		}
		return badJSON("the request body is not valid JSON")
	}
	return nil
}

// checkObject verifies that body is exactly one JSON object whose top-level
// keys are unique. encoding/json would silently keep the last of two equal
// keys, and it matches names without regard to case, which lets a proxy
// and Sigil read different values; so keys equal but for case are
// duplicates too.
func checkObject(body []byte) error {
	_, err := objectKeys(body)
	return err
}

// objectKeys is checkObject returning the top-level keys in order.
func objectKeys(body []byte) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, badJSON("the request body is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badJSON("the request body must be a JSON object")
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, badJSON("the request body is not valid JSON")
		}
		key, _ := tok.(string)
		// Upper then lower approximates Unicode simple folding, as
		// encoding/json applies it ("ſ" is "s", "K" (Kelvin) is "k").
		folded := strings.ToLower(strings.ToUpper(key))
		if seen[folded] {
			return nil, badJSON("duplicate field " + strconvQuote(key))
		}
		seen[folded] = true
		keys = append(keys, key)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badJSON("the request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, badJSON("the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badJSON("unexpected data after the JSON object")
	}
	return keys, nil
}

// jsonFields returns the JSON names of the fields of the struct dst points
// to, or nil when dst is not a pointer to a struct.
func jsonFields(dst any) map[string]bool {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	t = t.Elem()
	out := make(map[string]bool, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = true
	}
	return out
}

// shorten bounds a client-supplied name echoed in a problem.
func shorten(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
