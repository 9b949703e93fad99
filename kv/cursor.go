package kv

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// A Scan cursor is base64url (no padding) of:
//
//	1 byte   cursor format (1)
//	8 bytes  xxhash64 of run, NUL, prefix, NUL, last key: ties the cursor
//	         to its scan and detects a damaged or edited cursor
//	...      the last key of the page
//
// The next page starts after that key, so keys written or deleted between
// pages never make a key that stayed live appear twice or not at all.
const cursorFormat = 1

func cursorTag(run RunID, prefix, last string) uint64 {
	var d xxhash.Digest
	d.Reset()
	d.WriteString(string(run))
	d.Write([]byte{0})
	d.WriteString(prefix)
	d.Write([]byte{0})
	d.WriteString(last)
	return d.Sum64()
}

func encodeCursor(run RunID, prefix, last string) string {
	b := make([]byte, 9, 9+len(last))
	b[0] = cursorFormat
	binary.LittleEndian.PutUint64(b[1:], cursorTag(run, prefix, last))
	b = append(b, last...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns the key a cursor continues after ("" for the empty
// cursor).
func decodeCursor(run RunID, prefix, cursor string) (string, error) {
	if cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) < 10 || b[0] != cursorFormat || binary.LittleEndian.Uint64(b[1:]) != cursorTag(run, prefix, string(b[9:])) {
		return "", fmt.Errorf("%w: cursor %s was not made by Scan for run %s and prefix %q", ErrInvalidKey, clip(cursor), clip(string(run)), prefix)
	}
	last := string(b[9:])
	if checkKey(last) != nil || !strings.HasPrefix(last, prefix) {
		return "", fmt.Errorf("%w: damaged cursor %s", ErrInvalidKey, clip(cursor))
	}
	return last, nil
}
