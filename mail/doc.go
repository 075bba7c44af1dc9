// Package mail delivers the messages the authority asks for (verification
// links, reset links, notices): it renders them from templates, keeps them
// in a durable outbox in the database, and a sender hands them to an SMTP
// server with retries, or writes them to the log when no server is set.
//
// It never decides whom to mail or what a link does: the domain packages
// (authority, account, mfa) ask, and it delivers.
package mail
