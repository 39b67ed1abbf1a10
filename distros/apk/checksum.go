package apk

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/copa/frontend/distros"
)

// Algorithm is the digest algorithm of an apk checksum.
type Algorithm uint8

// The algorithms apk's databases use. A database's text does not always
// say which one a checksum is of: a Q1 checksum is SHA-1, unless its
// package's f: flags hold S (apk-tools 3 installing a v3 package), when it
// is the first 160 bits of SHA-256 (ParseInstalled resolves that).
const (
	AlgNone Algorithm = iota
	// MD5 is the hex digest very old apk-tools wrote without a prefix.
	MD5
	// SHA1 is "Q1" + base64, what apk-tools 2 writes.
	SHA1
	// SHA256_160 is SHA-256 cut to its first 20 bytes, written as Q1 in
	// the packages whose f: flags hold S.
	SHA256_160
	// SHA256 is "Q2" + base64, which apk-tools 3 reads (also from a Q1
	// with a 32-byte digest).
	SHA256
)

func (a Algorithm) String() string {
	switch a {
	case MD5:
		return "md5"
	case SHA1:
		return "sha1"
	case SHA256_160:
		return "sha256-160"
	case SHA256:
		return "sha256"
	}
	return "none"
}

// Size is the digest's length in bytes, 0 for AlgNone.
func (a Algorithm) Size() int {
	switch a {
	case MD5:
		return md5.Size
	case SHA1, SHA256_160:
		return sha1.Size
	case SHA256:
		return sha256.Size
	}
	return 0
}

// Checksum is a digest as apk's database records it: a file's Z:, a
// package's C: or an xattr set's. Checksums are comparable with ==; two of
// different algorithms are unequal even when they describe the same
// content, so whoever compares an old and a new database entry must take
// unequal for changed.
type Checksum struct {
	Alg Algorithm
	sum [sha256.Size]byte
}

// Sum is the checksum of content with alg, as apk computes it: of a
// regular file, its bytes; of a symbolic link, its target's text.
func Sum(alg Algorithm, content []byte) Checksum {
	c := Checksum{Alg: alg}
	switch alg {
	case MD5:
		s := md5.Sum(content)
		copy(c.sum[:], s[:])
	case SHA1:
		s := sha1.Sum(content)
		copy(c.sum[:], s[:])
	case SHA256_160, SHA256:
		s := sha256.Sum256(content)
		copy(c.sum[:alg.Size()], s[:])
	default:
		return Checksum{}
	}
	return c
}

// Hash returns a new hash of the algorithm, to compute a checksum of
// content read in pieces (FromDigest): SHA-256 for SHA256_160. It is nil
// for AlgNone.
func (a Algorithm) Hash() hash.Hash {
	switch a {
	case MD5:
		return md5.New()
	case SHA1:
		return sha1.New()
	case SHA256_160, SHA256:
		return sha256.New()
	}
	return nil
}

// FromDigest is the checksum of alg whose digest Hash computed: for
// SHA256_160, its first 20 bytes.
func FromDigest(alg Algorithm, digest []byte) Checksum {
	c := Checksum{Alg: alg}
	if alg == AlgNone || len(digest) < alg.Size() {
		return Checksum{}
	}
	copy(c.sum[:alg.Size()], digest)
	return c
}

// ParseChecksum decodes a checksum as apk writes it: "Q1" or "Q2" and
// base64, "X1" or "X2" and hex, or (apk-tools before 2.0) 32 hex digits of
// MD5. The digit says SHA-1 or SHA-256, the length has the last word: a Q1
// of 32 bytes is SHA-256, as apk-tools 3 reads it. A Q1 of 20 bytes is
// returned as SHA1; in a package whose f: flags hold S it is SHA256_160,
// which the caller knows and ParseChecksum does not.
func ParseChecksum(s string) (Checksum, error) {
	bad := func(why string) (Checksum, error) {
		return Checksum{}, fmt.Errorf("%q is not an apk checksum: %s", distros.Clip(s), why)
	}
	if len(s) < 2 {
		return bad("too short")
	}
	var raw []byte
	var err error
	switch s[:2] {
	case "Q1", "Q2":
		raw, err = base64.StdEncoding.Strict().DecodeString(s[2:])
	case "X1", "X2":
		raw, err = hex.DecodeString(s[2:])
	default:
		if len(s) != 2*md5.Size {
			return bad(`want "Q1" and base64 (or 32 hex digits of MD5)`)
		}
		if raw, err = hex.DecodeString(s); err != nil {
			return bad("not hex")
		}
		return fromRaw(MD5, raw), nil
	}
	if err != nil {
		return bad("malformed " + map[byte]string{'Q': "base64", 'X': "hex"}[s[0]])
	}
	switch {
	case s[1] == '1' && len(raw) == sha1.Size:
		return fromRaw(SHA1, raw), nil
	case len(raw) == sha256.Size:
		return fromRaw(SHA256, raw), nil
	}
	return bad(fmt.Sprintf("a %d-byte digest", len(raw)))
}

func fromRaw(alg Algorithm, raw []byte) Checksum {
	c := Checksum{Alg: alg}
	copy(c.sum[:], raw)
	return c
}

// IsZero reports whether there is no checksum.
func (c Checksum) IsZero() bool { return c.Alg == AlgNone }

// Bytes is the raw digest.
func (c Checksum) Bytes() []byte { return append([]byte(nil), c.sum[:c.Alg.Size()]...) }

// Matches reports whether content has this checksum (see Sum for what the
// content of a symbolic link is). No checksum matches nothing.
func (c Checksum) Matches(content []byte) bool {
	return !c.IsZero() && Sum(c.Alg, content) == c
}

// String writes the checksum as apk does: Q1 for SHA-1 and SHA-256/160,
// Q2 for SHA-256, hex for MD5; "" for none.
func (c Checksum) String() string {
	switch c.Alg {
	case MD5:
		return hex.EncodeToString(c.sum[:md5.Size])
	case SHA1, SHA256_160:
		return "Q1" + base64.StdEncoding.EncodeToString(c.sum[:sha1.Size])
	case SHA256:
		return "Q2" + base64.StdEncoding.EncodeToString(c.sum[:])
	}
	return ""
}
