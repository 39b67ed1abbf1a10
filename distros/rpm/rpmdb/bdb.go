package rpmdb

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// Berkeley DB hash layout, as rpm's own read-only reader (lib/backend/
// bdb_ro.c) walks it: page 0 is the hash meta page; bucket b lives on page
// b + spares[bits(b)] and its overflow hash pages follow next_pgno; each
// hash page has a 26-byte header, then 16-bit offsets of key/value items
// that grow down from the page's end. An item is inline (H_KEYDATA) or a
// reference to a chain of overflow pages (H_OFFPAGE).
//
// The reader is this package's own: github.com/knqyf263/go-rpmdb's bdb
// package (the one the module proxy serves) reads a file path, indexes
// pages with offsets it does not check (a hostile image panics it, in a
// goroutine where no recover can catch it), loops forever on an overflow
// page of another type and skips inline values.
const (
	bdbHashMagic     = 0x061561
	bdbPageHeader    = 26
	bdbTypeHashOld   = 2 // P_HASH_UNSORTED, before BDB 4.6
	bdbTypeOverflow  = 7
	bdbTypeHashMeta  = 8
	bdbTypeHash      = 13
	bdbItemKeyData   = 1 // H_KEYDATA
	bdbItemOffPage   = 3 // H_OFFPAGE
	bdbOffPageLen    = 12
	bdbMinPageSize   = 512
	bdbMaxPageSize   = 64 << 10
	bdbMetaSparesOff = 96
)

type bdb struct {
	data     []byte
	order    binary.ByteOrder
	pageSize uint32
	pages    uint32
	overflow map[uint32]bool // overflow pages read: each belongs to one item
}

// ReadBDB reads the headers of a Berkeley DB hash "Packages" database
// (rpm before 4.16: RHEL/CentOS ≤ 8, Amazon Linux 2, SUSE before 2021), in
// header-number order. Key 0, where rpm kept the next header number, is
// not a header.
func ReadBDB(data []byte) ([]Header, error) {
	if len(data) < 512 {
		return nil, fmt.Errorf("not a Berkeley DB database: %d bytes", len(data))
	}
	db := &bdb{data: data, overflow: map[uint32]bool{}}
	switch {
	case binary.LittleEndian.Uint32(data[12:]) == bdbHashMagic:
		db.order = binary.LittleEndian
	case binary.BigEndian.Uint32(data[12:]) == bdbHashMagic:
		db.order = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a Berkeley DB hash database (magic %08x)", binary.LittleEndian.Uint32(data[12:]))
	}
	o := db.order
	if v := o.Uint32(data[16:]); v < 8 || v > 10 {
		return nil, fmt.Errorf("Berkeley DB hash version %d; rpm reads versions 8 to 10", v)
	}
	db.pageSize = o.Uint32(data[20:])
	if db.pageSize < bdbMinPageSize || db.pageSize > bdbMaxPageSize || db.pageSize&(db.pageSize-1) != 0 {
		return nil, fmt.Errorf("Berkeley DB page size %d", db.pageSize)
	}
	if data[24] != 0 {
		return nil, fmt.Errorf("the Berkeley DB database is encrypted")
	}
	if data[25] != bdbTypeHashMeta {
		return nil, fmt.Errorf("Berkeley DB page 0 has type %d, not the hash meta page", data[25])
	}
	db.pages = uint32(uint64(len(data)) / uint64(db.pageSize))
	if last := o.Uint32(data[32:]); last >= db.pages {
		return nil, fmt.Errorf("Berkeley DB database claims %d pages but has %d bytes: truncated?", uint64(last)+1, len(data))
	}
	maxBucket := o.Uint32(data[72:])
	if maxBucket >= db.pages {
		return nil, fmt.Errorf("Berkeley DB database claims %d buckets in %d pages", uint64(maxBucket)+1, db.pages)
	}
	var spares [32]uint32
	for i := range spares {
		spares[i] = o.Uint32(data[bdbMetaSparesOff+4*i:])
	}

	type record struct {
		key  uint32
		blob []byte
	}
	var recs []record
	keys := map[uint32]bool{}
	visited := map[uint32]bool{}
	for b := uint32(0); b <= maxBucket; b++ {
		pg := uint64(b) + uint64(spares[bits.Len32(b)])
		for pg != 0 {
			if pg >= uint64(db.pages) || visited[uint32(pg)] {
				return nil, fmt.Errorf("Berkeley DB bucket %d: page %d is outside the database or on a loop", b, pg)
			}
			visited[uint32(pg)] = true
			page := db.page(uint32(pg))
			if t := page[25]; t != bdbTypeHash && t != bdbTypeHashOld {
				return nil, fmt.Errorf("Berkeley DB bucket %d: page %d has type %d, not a hash page", b, pg, t)
			}
			n := uint32(o.Uint16(page[20:]))
			if n%2 != 0 || bdbPageHeader+2*n > db.pageSize {
				return nil, fmt.Errorf("Berkeley DB page %d claims %d items", pg, n)
			}
			for i := uint32(0); i < n; i += 2 {
				key, err := db.item(page, i, true)
				if err != nil {
					return nil, fmt.Errorf("Berkeley DB page %d, key %d: %w", pg, i/2, err)
				}
				val, err := db.item(page, i+1, false)
				if err != nil {
					return nil, fmt.Errorf("Berkeley DB page %d, value %d: %w", pg, i/2, err)
				}
				if len(key) != 4 {
					return nil, fmt.Errorf("Berkeley DB page %d: a %d-byte key, not a 4-byte header number: not an rpm Packages database", pg, len(key))
				}
				k := o.Uint32(key)
				if k == 0 {
					continue
				}
				if keys[k] {
					return nil, fmt.Errorf("Berkeley DB database holds header %d twice", k)
				}
				if len(recs) == maxPackages {
					return nil, fmt.Errorf("the Berkeley DB database holds more than %d packages", maxPackages)
				}
				keys[k] = true
				recs = append(recs, record{k, val})
			}
			pg = uint64(o.Uint32(page[16:]))
		}
	}
	slices.SortFunc(recs, func(a, b record) int { return int(int64(a.key) - int64(b.key)) })
	out := make([]Header, 0, len(recs))
	for _, r := range recs {
		h, err := ParseHeader(r.blob)
		if err != nil {
			return nil, fmt.Errorf("Berkeley DB database, header %d: %w", r.key, err)
		}
		out = append(out, h)
	}
	return out, nil
}

func (db *bdb) page(n uint32) []byte {
	off := uint64(n) * uint64(db.pageSize)
	return db.data[off : off+uint64(db.pageSize)]
}

// item is the content of item i of a hash page: its bytes run from its
// offset to the previous item's offset (the page's end for item 0).
func (db *bdb) item(page []byte, i uint32, isKey bool) ([]byte, error) {
	o := db.order
	off := uint32(o.Uint16(page[bdbPageHeader+2*i:]))
	end := db.pageSize
	if i > 0 {
		end = uint32(o.Uint16(page[bdbPageHeader+2*(i-1):]))
	}
	if off < bdbPageHeader || off >= end || end > db.pageSize {
		return nil, fmt.Errorf("item at %d..%d lies outside its page", off, end)
	}
	it := page[off:end]
	switch it[0] {
	case bdbItemKeyData:
		return it[1:], nil
	case bdbItemOffPage:
		if isKey {
			return nil, fmt.Errorf("a key on overflow pages: not an rpm Packages database")
		}
		if len(it) != bdbOffPageLen {
			return nil, fmt.Errorf("overflow reference of %d bytes, not %d", len(it), bdbOffPageLen)
		}
		return db.overflowChain(o.Uint32(it[4:]), o.Uint32(it[8:]))
	}
	return nil, fmt.Errorf("item type %d (duplicates?) in an rpm Packages database", it[0])
}

// overflowChain concatenates the overflow pages of one item. Each page
// may be read once in the whole database, so a loop or a chain shared by
// two items is an error and reading stays linear in the file's size.
func (db *bdb) overflowChain(pg, total uint32) ([]byte, error) {
	if total == 0 || uint64(total) > uint64(len(db.data)) || total > maxDataLen {
		return nil, fmt.Errorf("an item of %d bytes in a %d-byte database", total, len(db.data))
	}
	var buf bytes.Buffer
	for uint32(buf.Len()) < total {
		if pg == 0 || pg >= db.pages || db.overflow[pg] {
			return nil, fmt.Errorf("overflow page %d is missing, outside the database or read before", pg)
		}
		db.overflow[pg] = true
		page := db.page(pg)
		if page[25] != bdbTypeOverflow {
			return nil, fmt.Errorf("page %d has type %d, not an overflow page", pg, page[25])
		}
		n := uint32(db.order.Uint16(page[22:]))
		if bdbPageHeader+n > db.pageSize || n > total-uint32(buf.Len()) || n == 0 {
			return nil, fmt.Errorf("overflow page %d claims %d bytes", pg, n)
		}
		buf.Write(page[bdbPageHeader : bdbPageHeader+n])
		pg = db.order.Uint32(page[16:])
	}
	return buf.Bytes(), nil
}
