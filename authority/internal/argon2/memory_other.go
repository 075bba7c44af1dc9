// This file is not from x/crypto.

//go:build !linux

package argon2

// Elsewhere than Linux the working memory comes from the Go heap.
func mapBlocks(int) ([]block, bool) { return nil, false }

func unmapBlocks([]block) {}
