// Package inspect explains a token to an operator: it decodes any
// compact JWS and reports every reason it would not verify here (its
// algorithm, type, key and that key's state, signature, issuer,
// audience, times, the deny list), not only the first, as the console's
// token inspector and the admin API show it.
//
// It asks the core (package authority) for its settings, the clients'
// audiences, the deny list and the audit log, and reads the keyring for
// the keys and their states. It never stores, logs or audits a token:
// only what the token names (its jti, sub and client_id).
package inspect
