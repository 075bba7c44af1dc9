// Package keystest gives tests of Sigil's packages what they all need: a
// clock they move by hand, and a keyring holding one active key.
package keystest
