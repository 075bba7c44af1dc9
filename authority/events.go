package authority

import "github.com/sigil-auth/sigil/keys"

// Audit event types: every Event.Type Sigil writes is one of these
// constants (key changes use the keys.EventKey* constants), and
// AuditEventTypes lists them all. A test checks that every event written
// in the code names one of them, and that docs/security.md lists exactly
// these.
const (
	// EventUserSignup: an account was created (signup, the hosted page, or the bootstrap administrator).
	EventUserSignup = "user.signup"
	// EventUserSignupAttempt: a signup named an email that is already registered (with verified email required; the owner is mailed).
	EventUserSignupAttempt = "user.signup_attempt"
	// EventUserImport: accounts were imported with their bcrypt hashes.
	EventUserImport = "user.import"
	// EventUserRehash: a password hash was upgraded to the current argon2id parameters at login.
	EventUserRehash = "user.rehash"
	// EventUserDeleted: an administrator deleted an account.
	EventUserDeleted = "user.deleted"
	// EventUserLocked: an administrator locked an account (its sessions end).
	EventUserLocked = "user.locked"
	// EventUserUnlocked: an administrator unlocked an account.
	EventUserUnlocked = "user.unlocked"
	// EventUserRolesSet: an administrator set an account's roles.
	EventUserRolesSet = "user.roles_set"
	// EventLoginSuccess: a password login issued tokens.
	EventLoginSuccess = "login.success"
	// EventLoginFailure: a login was refused: unknown email, wrong password, malformed input, locked account or unverified email.
	EventLoginFailure = "login.failure"
	// EventLoginThrottled: a login (or second-factor code) was refused by the lockout before any hashing.
	EventLoginThrottled = "login.throttled"
	// EventAccountLocked: failures reached the lockout threshold and started or extended a lock.
	EventAccountLocked = "account.locked"
	// EventRequestThrottled: a client went over its request rate (at most once per client per minute).
	EventRequestThrottled = "request.throttled"
	// EventLoginMFARequired: a password matched and a second factor is now asked for.
	EventLoginMFARequired = "login.mfa_required"
	// EventLoginMFAEnrollmentRequired: a password matched but the account must enrol a second factor first.
	EventLoginMFAEnrollmentRequired = "login.mfa_enrollment_required"
	// EventRefreshReuse: a spent refresh token was presented again: its family was revoked.
	EventRefreshReuse = "refresh.reuse"
	// EventRefreshRetry: a spent refresh token was presented again within the grace: a retry, answered without revoking.
	EventRefreshRetry = "refresh.retry"
	// EventRefreshLogout: a logout revoked a refresh-token family.
	EventRefreshLogout = "refresh.logout"
	// EventTokenRevoke: a client revoked a token (RFC 7009).
	EventTokenRevoke = "token.revoke"
	// EventTokenInspected: an administrator inspected a token (POST /admin/tokens/inspect, the console's inspector); the detail names its jti, sub and client_id, never the token.
	EventTokenInspected = "token.inspected"
	// EventClientCreated: an OAuth client was registered.
	EventClientCreated = "client.created"
	// EventClientRegistered: an OAuth client registered itself (RFC
	// 7591), with an initial access token or by open registration; the
	// detail says which, the event's address is the registrant's.
	EventClientRegistered = "client.registered"
	// EventRegistrationTokenCreated: an administrator created an
	// initial access token for dynamic client registration.
	EventRegistrationTokenCreated = "registration_token.created"
	// EventRegistrationTokenDeleted: an initial access token was
	// deleted.
	EventRegistrationTokenDeleted = "registration_token.deleted"
	// EventClientDeleted: an OAuth client was deleted.
	EventClientDeleted = "client.deleted"
	// EventClientSecretRotated: an OAuth client's secret was replaced.
	EventClientSecretRotated = "client.secret_rotated"
	// EventResourceCreated: a resource server was registered (RFC 8707).
	EventResourceCreated = "resource.created"
	// EventResourceDeleted: a registered resource server was deleted.
	EventResourceDeleted = "resource.deleted"
	// EventDeviceStarted: a client started a device authorization (RFC 8628); the detail names the client, never a code.
	EventDeviceStarted = "device.started"
	// EventDeviceApproved: a signed-in user allowed a device authorization on the confirmation page.
	EventDeviceApproved = "device.approved"
	// EventDeviceDenied: a signed-in user denied a device authorization on the confirmation page.
	EventDeviceDenied = "device.denied"
	// EventDeviceCodeWrong: a user code entered on /device matched no pending authorization (counted by the per-address throttle).
	EventDeviceCodeWrong = "device.code_wrong"
	// EventUpstreamCreated: an administrator registered an upstream identity provider.
	EventUpstreamCreated = "upstream.created"
	// EventUpstreamUpdated: an administrator replaced an upstream's settings.
	EventUpstreamUpdated = "upstream.updated"
	// EventUpstreamDeleted: an upstream and its linked identities were deleted.
	EventUpstreamDeleted = "upstream.deleted"
	// EventUpstreamLogin: a user signed in through an upstream; the detail says how (identity, new account, link).
	EventUpstreamLogin = "upstream.login"
	// EventUpstreamLinked: an upstream identity was linked to an account, automatically (verified email on both sides) or with its password.
	EventUpstreamLinked = "upstream.linked"
	// EventUpstreamUnlinked: a user unlinked an upstream identity from their account on the account page.
	EventUpstreamUnlinked = "upstream.unlinked"
	// EventUpstreamFailure: a sign-in through an upstream failed (unreachable, error from it, forged or replayed state, a token that did not verify); no session.
	EventUpstreamFailure = "upstream.failure"
	// EventSessionLogin: a browser session started on the hosted pages.
	EventSessionLogin = "session.login"
	// EventSessionLogout: a browser session ended.
	EventSessionLogout = "session.logout"
	// EventSessionRevoked: a user or administrator ended one session.
	EventSessionRevoked = "session.revoked"
	// EventSessionRevokedAll: every session of a user was ended.
	EventSessionRevokedAll = "session.revoked_all"
	// EventConsentGrant: a user granted a client the requested scopes.
	EventConsentGrant = "consent.grant"
	// EventConsentDeny: a user refused a client.
	EventConsentDeny = "consent.deny"
	// EventConsentRevoke: a user withdrew a consent.
	EventConsentRevoke = "consent.revoke"
	// EventCodeReplay: an authorization code was presented twice: the tokens issued for it were revoked.
	EventCodeReplay = "code.replay"
	// EventEmailVerificationSent: a verification link was mailed.
	EventEmailVerificationSent = "email.verification_sent"
	// EventEmailVerified: an email address was verified.
	EventEmailVerified = "email.verified"
	// EventEmailChangeRequested: a change of email was requested (a link goes to the new address).
	EventEmailChangeRequested = "email.change_requested"
	// EventEmailChanged: an email change was confirmed.
	EventEmailChanged = "email.changed"
	// EventPasswordResetRequested: a password reset link was requested.
	EventPasswordResetRequested = "password.reset_requested"
	// EventPasswordReset: a password was reset with a link.
	EventPasswordReset = "password.reset"
	// EventPasswordChanged: a signed-in user changed their password.
	EventPasswordChanged = "password.changed"
	// EventMailFailed: a message was given up on after its last attempt.
	EventMailFailed = "mail.failed"
	// EventMFASuccess: a second-factor code was accepted.
	EventMFASuccess = "mfa.success"
	// EventMFAFailure: a wrong or reused second-factor code.
	EventMFAFailure = "mfa.failure"
	// EventMFATOTPEnroll: a TOTP enrolment started.
	EventMFATOTPEnroll = "mfa.totp.enroll"
	// EventMFATOTPConfirm: a TOTP authenticator was enrolled; recovery codes issued.
	EventMFATOTPConfirm = "mfa.totp.confirm"
	// EventMFATOTPRemove: a TOTP authenticator and its recovery codes were removed.
	EventMFATOTPRemove = "mfa.totp.remove"
	// EventMFARecoveryRegenerate: recovery codes were replaced.
	EventMFARecoveryRegenerate = "mfa.recovery.regenerate"
	// EventMFAReset: an administrator removed a user's second factors.
	EventMFAReset = "mfa.reset"
	// EventMFAWebAuthnRegister: a passkey or security key was registered.
	EventMFAWebAuthnRegister = "mfa.webauthn.register"
	// EventMFAWebAuthnRename: a passkey or security key was renamed.
	EventMFAWebAuthnRename = "mfa.webauthn.rename"
	// EventMFAWebAuthnRemove: a passkey or security key was removed.
	EventMFAWebAuthnRemove = "mfa.webauthn.remove"
	// EventMFAWebAuthnClone: an assertion whose signature counter did not
	// advance was refused (a possibly cloned authenticator).
	EventMFAWebAuthnClone = "mfa.webauthn.clone"
)

// AuditEventTypes lists every audit event type Sigil writes, for operators
// filtering GET /admin/audit?type=.
var AuditEventTypes = []string{
	EventUserSignup,
	EventUserSignupAttempt,
	EventUserImport,
	EventUserRehash,
	EventUserDeleted,
	EventUserLocked,
	EventUserUnlocked,
	EventUserRolesSet,
	EventLoginSuccess,
	EventLoginFailure,
	EventLoginThrottled,
	EventAccountLocked,
	EventRequestThrottled,
	EventLoginMFARequired,
	EventLoginMFAEnrollmentRequired,
	EventRefreshReuse,
	EventRefreshRetry,
	EventRefreshLogout,
	EventTokenRevoke,
	EventTokenInspected,
	EventClientCreated,
	EventClientRegistered,
	EventRegistrationTokenCreated,
	EventRegistrationTokenDeleted,
	EventClientDeleted,
	EventClientSecretRotated,
	EventResourceCreated,
	EventResourceDeleted,
	EventDeviceStarted,
	EventDeviceApproved,
	EventDeviceDenied,
	EventDeviceCodeWrong,
	EventUpstreamCreated,
	EventUpstreamUpdated,
	EventUpstreamDeleted,
	EventUpstreamLogin,
	EventUpstreamLinked,
	EventUpstreamUnlinked,
	EventUpstreamFailure,
	EventSessionLogin,
	EventSessionLogout,
	EventSessionRevoked,
	EventSessionRevokedAll,
	EventConsentGrant,
	EventConsentDeny,
	EventConsentRevoke,
	EventCodeReplay,
	EventEmailVerificationSent,
	EventEmailVerified,
	EventEmailChangeRequested,
	EventEmailChanged,
	EventPasswordResetRequested,
	EventPasswordReset,
	EventPasswordChanged,
	EventMailFailed,
	EventMFASuccess,
	EventMFAFailure,
	EventMFATOTPEnroll,
	EventMFATOTPConfirm,
	EventMFATOTPRemove,
	EventMFARecoveryRegenerate,
	EventMFAReset,
	EventMFAWebAuthnRegister,
	EventMFAWebAuthnRename,
	EventMFAWebAuthnRemove,
	EventMFAWebAuthnClone,
	keys.EventKeyCreated,
	keys.EventKeyActivated,
	keys.EventKeyRetired,
	keys.EventKeyRevoked,
	keys.EventKeyDestroyed,
	keys.EventKeyRewrapped,
}
