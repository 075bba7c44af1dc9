// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is golang.org/x/crypto/argon2's Argon2id (IDKey) with one
// change: the caller may pass the memory the function works in, so a
// server that hashes passwords all day reuses a few buffers instead of
// allocating (and the Go runtime zeroing, collecting, returning to the
// system and faulting back in) tens of MiB per hash. The output is the
// same, byte for byte (TestSameAsXCrypto, FuzzSameAsXCrypto); the block
// function, BLAKE2b use and assembly are x/crypto's files unchanged
// (without the loong64 port, which uses the generic code here, and with
// processBlockGeneric moved to blamka_ref.go, its only caller). The
// LICENSE file in this directory is x/crypto's, which these files are
// under.
package argon2
