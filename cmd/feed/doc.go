// Command feed is the example resource server of the Sigil tutorial: a
// small in-memory feed of posts whose API accepts only access tokens that
// Sigil issued, checked with package verify.
//
// It is configured by the environment:
//
//	FEED_ADDR      listen address (default 127.0.0.1:8081)
//	FEED_ISSUER    the Sigil issuer URL (default http://127.0.0.1:8080)
//	FEED_AUDIENCE  the aud that tokens must carry (default sigil)
//
// At start it waits up to a minute for the authority to answer discovery.
package main
