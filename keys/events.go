package keys

// Audit event types of key changes (Event.Type). authority.AuditEventTypes
// lists them with every other type Sigil writes.
const (
	// EventKeyCreated: a key was generated and published ahead of use.
	EventKeyCreated = "key.created"
	// EventKeyActivated: a key became the one that signs.
	EventKeyActivated = "key.activated"
	// EventKeyRetired: a key stopped signing and stays published.
	EventKeyRetired = "key.retired"
	// EventKeyRevoked: a key was withdrawn at once, its tokens refused.
	EventKeyRevoked = "key.revoked"
	// EventKeyDestroyed: a key's private material was deleted.
	EventKeyDestroyed = "key.destroyed"
	// EventKeyRewrapped: a key was sealed again under another KEK.
	EventKeyRewrapped = "key.rewrapped"
)
