package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"reflect"
	"testing"
)

// FuzzDecodeJSON feeds arbitrary bodies to the strict request decoder: it
// never panics, every refusal is a 4xx problem, and what it accepts is one
// JSON object whose every key is an exact field name, decoding to the same
// value encoding/json alone would give.
func FuzzDecodeJSON(f *testing.F) {
	f.Add([]byte(`{"email":"a@example.com","password":"password123","name":"A"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/auth/signup", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		var got signupRequest
		err := decodeJSON(r, &got)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status < 400 || p.Status > 499 {
				t.Fatalf("refusal %v is not a 4xx problem", err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("accepted a body that is not an object: %q", body)
		}
		for k := range m {
			if k != "email" && k != "password" && k != "name" {
				t.Fatalf("accepted unknown key %q", k)
			}
		}
		var want signupRequest
		if err := json.Unmarshal(body, &want); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, encoding/json gives %+v (%v)", got, want, err)
		}
	})
}

// FuzzCheckObject checks the object and duplicate-key scanner alone: what
// it accepts is valid JSON whose top level is an object.
func FuzzCheckObject(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[1,2,{"a":3}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := checkObject(body); err != nil {
			var p *Problem
			if !errors.As(err, &p) || p.Status != 400 {
				t.Fatalf("refusal %v is not a 400 problem", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if !json.Valid(body) || json.Unmarshal(body, &m) != nil || m == nil {
			t.Fatalf("accepted %q", body)
		}
	})
}
