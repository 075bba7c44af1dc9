//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// checkKEKOwner refuses a key-encryption key file owned by another user:
// whoever owns it can replace the key or widen its mode.
func checkKEKOwner(_ string, info os.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Geteuid(); int(st.Uid) != uid {
		return fmt.Errorf("refusing a key-encryption key file owned by uid %d, not by this user (uid %d): chown it to the user Sigil runs as", st.Uid, uid)
	}
	return nil
}
