// Command device-login signs a user in to a command-line tool through
// Sigil with the device authorization grant (RFC 8628), using
// golang.org/x/oauth2's DeviceAuth and DeviceAccessToken: it prints a
// code and a URL, the user confirms in any browser (a phone will do), and
// the tool receives the user's tokens.
//
//	go run ./examples/device-login -issuer http://127.0.0.1:8080 -client-id CLIENT_ID
//
// The endpoints come from Sigil's RFC 8414 metadata. The access token is
// written to standard output, everything else to standard error, so
// TOKEN=$(go run ./examples/device-login …) works in a script. It never
// writes a token to disk.
package main
