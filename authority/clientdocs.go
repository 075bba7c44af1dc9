package authority

import (
	"context"
	"net"
	"net/url"
	"strings"
)

// Client ID metadata documents: a client whose client_id is an https URL
// is described by the JSON document at that URL (the MCP authorization
// spec's preferred registration), not by a row of the clients table.
// Package cimd fetches, checks and caches such documents; the core asks
// it through ClientDocuments whenever it looks a client up, so that every
// grant treats a document's client as it treats a registered one.

// ClientDocuments resolves a client_id that is the URL of a client ID
// metadata document into the client it describes: public, third-party,
// limited to sign-in grants, never stored. ErrNotFound when the document
// cannot be fetched or does not describe a valid client.
type ClientDocuments interface {
	// DocumentURL reports whether id is the URL of a document (its shape
	// only, see DocumentClientID).
	DocumentURL(id string) bool
	ClientDocument(ctx context.Context, url string) (Client, error)
}

// SetClientDocuments turns client ID metadata documents on (SIGIL_CIMD).
func (s *Service) SetClientDocuments(d ClientDocuments) { s.documents = d }

// ClientDocumentsOn reports whether client ID metadata documents are on.
func (s *Service) ClientDocumentsOn() bool { return s.documents != nil }

// MaxDocumentClientID bounds a client_id that is a URL.
const MaxDocumentClientID = 512

// DocumentClientID reports whether id has the shape of a client ID
// metadata document's URL: https, a host, a path beyond "/", no
// fragment, no user information, printable ASCII, at most
// MaxDocumentClientID bytes. Registered clients' ids are UUIDs, so the
// two never meet.
func DocumentClientID(id string) bool { return documentURL(id, "https") }

// LoopbackDocumentClientID is DocumentClientID for http on a loopback
// address, which only tests may allow (SIGIL_TEST_CIMD_LOOPBACK).
func LoopbackDocumentClientID(id string) bool {
	if !documentURL(id, "http") {
		return false
	}
	u, _ := url.Parse(id)
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

func documentURL(id, scheme string) bool {
	if len(id) > MaxDocumentClientID || !strings.HasPrefix(id, scheme+"://") || strings.ContainsAny(id, "#\\") {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	u, err := url.Parse(id)
	return err == nil && u.Scheme == scheme && u.Host != "" && u.User == nil && u.Path != "" && u.Path != "/"
}

// clientByID is the client id names: a registered client, or with
// client ID metadata documents on, the client a document URL describes.
func (s *Service) clientByID(ctx context.Context, id string) (Client, error) {
	if s.documents != nil && s.documents.DocumentURL(id) {
		return s.documents.ClientDocument(ctx, id)
	}
	return s.store.ClientByID(ctx, id)
}
