package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxBody is the largest request body accepted (413 beyond).
const maxBody = 64 << 10

// decodeJSON reads a JSON object body into dst strictly: the content type
// must be application/json (415), the body at most 64 KiB (413), valid
// UTF-8 and well-formed JSON holding one object with no duplicate keys
// (400); unknown fields and wrong types are 422 naming the field.
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
	if err := checkObject(body); err != nil {
		return err
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
// keys, which lets a proxy and Sigil read different values.
func checkObject(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return badJSON("the request body is not valid JSON")
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return badJSON("the request body must be a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return badJSON("the request body is not valid JSON")
		}
		key, _ := tok.(string)
		if seen[key] {
			return badJSON("duplicate field " + strconvQuote(key))
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return badJSON("the request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != nil {
		return badJSON("the request body is not valid JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badJSON("unexpected data after the JSON object")
	}
	return nil
}

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
