package rpmdb

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
	"slices"
)

// rpm's ndb layout (lib/backend/ndb/rpmpkg.c): a 32-byte header, then
// slotnpages pages of 16-byte slots (the first two slots are the header),
// then blobs in 16-byte blocks, each a 16-byte head, the header blob and
// a 12-byte tail, padded to whole blocks.
const (
	ndbMagic      = 'R' | 'p'<<8 | 'm'<<16 | 'P'<<24
	ndbSlotMagic  = 'S' | 'l'<<8 | 'o'<<16 | 't'<<24
	ndbHeadMagic  = 'B' | 'l'<<8 | 'b'<<16 | 'S'<<24
	ndbTailMagic  = 'B' | 'l'<<8 | 'b'<<16 | 'E'<<24
	ndbPage       = 4096
	ndbBlock      = 16
	ndbSlot       = 16
	ndbHeaderSize = 32
	ndbHeadSize   = 16
	ndbTailSize   = 12
)

// ReadNDB reads the headers of rpm's ndb Packages.db (SUSE since 2021),
// in header-number order. Each blob's adler32 is checked, as rpm does
// when it verifies a database.
func ReadNDB(data []byte) ([]Header, error) {
	le := binary.LittleEndian
	if len(data) < ndbHeaderSize || le.Uint32(data) != ndbMagic {
		return nil, fmt.Errorf("not an rpm ndb database (no RpmP magic)")
	}
	if v := le.Uint32(data[4:]); v != 0 {
		return nil, fmt.Errorf("rpm ndb database version %d; only version 0 exists", v)
	}
	if len(data)%ndbBlock != 0 {
		return nil, fmt.Errorf("rpm ndb database of %d bytes, not whole %d-byte blocks: truncated?", len(data), ndbBlock)
	}
	slotPages := uint64(le.Uint32(data[12:]))
	if slotPages == 0 || slotPages*ndbPage > uint64(len(data)) {
		return nil, fmt.Errorf("rpm ndb database claims %d slot pages; it has %d bytes", slotPages, len(data))
	}
	blocks, firstBlob := uint64(len(data)/ndbBlock), slotPages*ndbPage/ndbBlock

	type slot struct{ pkg, off, cnt uint32 }
	var slots []slot
	seen := map[uint32]bool{}
	for o := uint64(ndbHeaderSize); o < slotPages*ndbPage; o += ndbSlot {
		s := data[o:]
		if le.Uint32(s) != ndbSlotMagic {
			return nil, fmt.Errorf("rpm ndb slot at byte %d has no Slot magic", o)
		}
		sl := slot{le.Uint32(s[4:]), le.Uint32(s[8:]), le.Uint32(s[12:])}
		if sl.off == 0 {
			continue // free
		}
		if sl.pkg == 0 || sl.cnt == 0 || uint64(sl.off) < firstBlob || uint64(sl.off)+uint64(sl.cnt) > blocks {
			return nil, fmt.Errorf("rpm ndb slot at byte %d: header %d at blocks %d+%d lies outside the %d blob blocks", o, sl.pkg, sl.off, sl.cnt, blocks)
		}
		if seen[sl.pkg] {
			return nil, fmt.Errorf("rpm ndb database has two slots for header %d", sl.pkg)
		}
		if len(slots) == maxPackages {
			return nil, fmt.Errorf("the rpm ndb database holds more than %d packages", maxPackages)
		}
		seen[sl.pkg] = true
		slots = append(slots, sl)
	}
	slices.SortFunc(slots, func(a, b slot) int { return int(int64(a.pkg) - int64(b.pkg)) })

	out := make([]Header, 0, len(slots))
	for _, sl := range slots {
		b := data[uint64(sl.off)*ndbBlock : (uint64(sl.off)+uint64(sl.cnt))*ndbBlock]
		if len(b) < ndbHeadSize+ndbTailSize {
			return nil, fmt.Errorf("rpm ndb header %d: %d blocks cannot hold a blob", sl.pkg, sl.cnt)
		}
		if le.Uint32(b) != ndbHeadMagic || le.Uint32(b[4:]) != sl.pkg {
			return nil, fmt.Errorf("rpm ndb header %d: its blob does not start with the BlbS magic and its number", sl.pkg)
		}
		n := uint64(le.Uint32(b[12:]))
		if (ndbHeadSize+n+ndbTailSize+ndbBlock-1)/ndbBlock != uint64(sl.cnt) {
			return nil, fmt.Errorf("rpm ndb header %d: a %d-byte blob does not fill its %d blocks", sl.pkg, n, sl.cnt)
		}
		tail := b[len(b)-ndbTailSize:]
		if le.Uint32(tail[8:]) != ndbTailMagic || uint64(le.Uint32(tail[4:])) != n {
			return nil, fmt.Errorf("rpm ndb header %d: its blob does not end with its length and the BlbE magic", sl.pkg)
		}
		if sum := adler32.Checksum(b[:len(b)-ndbTailSize]); sum != le.Uint32(tail) {
			return nil, fmt.Errorf("rpm ndb header %d: adler32 %08x, but the blob says %08x: a damaged database", sl.pkg, sum, le.Uint32(tail))
		}
		h, err := ParseHeader(b[ndbHeadSize : ndbHeadSize+n])
		if err != nil {
			return nil, fmt.Errorf("rpm ndb database, header %d: %w", sl.pkg, err)
		}
		out = append(out, h)
	}
	return out, nil
}
