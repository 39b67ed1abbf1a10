// Package rpmdb reads the installed-package records of an image's rpm
// database (sqlite, ndb or Berkeley DB) or of Azure Linux's distroless
// manifest, from the files' bytes alone: nothing of the image runs. The
// image is untrusted, so every count, offset and length it gives is
// checked, and every size is bounded.
package rpmdb

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// File is one file of an installed package as its header records it.
type File struct {
	// Path is absolute: DIRNAMES[DIRINDEXES[i]] + BASENAMES[i], or
	// OLDFILENAMES[i] in headers from before rpm 4.0.
	Path string
	// Digest is the lower-case hex of FILEDIGESTS (in the header's
	// DigestAlgo); "" for directories, symlinks, ghosts and others
	// without one.
	Digest string
	// Mode is FILEMODES: st_mode, file type bits included.
	Mode uint32
	// Size is LONGFILESIZES, or FILESIZES when the header has no 64-bit sizes.
	Size        int64
	User, Group string // FILEUSERNAME, FILEGROUPNAME
	// Flags is FILEFLAGS (FileConfig, FileDoc, FileGhost, ...).
	Flags uint32
	Mtime uint32 // FILEMTIMES
	Link  string // FILELINKTOS: the target of a symlink, else ""
}

// File flags (rpm's rpmfileAttrs).
const (
	FileConfig    = 1 << 0
	FileDoc       = 1 << 1
	FileMissingOK = 1 << 3
	FileNoReplace = 1 << 4
	FileGhost     = 1 << 6
	FileLicense   = 1 << 7
	FileReadme    = 1 << 8
	FileArtifact  = 1 << 12
)

// Config reports whether the file is a %config file: rpm keeps a local
// change to it across an upgrade (or saves it as .rpmsave/.rpmnew).
func (f File) Config() bool { return f.Flags&FileConfig != 0 }

// Ghost reports whether the file is a %ghost: the package owns the path
// but ships no content, so the image's file is not the package's.
func (f File) Ghost() bool { return f.Flags&FileGhost != 0 }

// Header is one installed package: one record of the database. Multilib
// packages (one name, two arches) and names installed in several versions
// (kernel, gpg-pubkey) are one Header each.
type Header struct {
	Name, Version, Release string
	// Arch is "" when the header has none (gpg-pubkey).
	Arch string
	// Epoch is 0 when the header has none; HasEpoch tells the two apart.
	Epoch     int
	HasEpoch  bool
	SourceRPM string // "" for gpg-pubkey and source packages
	// DigestAlgo is FILEDIGESTALGO, the PGP hash algorithm number of the
	// file digests: 1 (MD5) when the header has none, 8 SHA-256, ...
	DigestAlgo int
	Files      []File
	// What Azure Linux's manifest lists besides the NEVRA (ManifestLine):
	// BUILDTIME, INSTALLTIME, VENDOR ("" when none) and SIZE.
	BuildTime, InstallTime uint32
	Vendor                 string
	Size                   uint64
	// Scripts names the install scripts and triggers the package has
	// ("postin", "triggerin", ...), for the warning when they cannot run.
	Scripts []string
}

// File digest algorithms (FILEDIGESTALGO, PGP's hash algorithm numbers).
const (
	DigestMD5    = 1
	DigestSHA1   = 2
	DigestSHA256 = 8
	DigestSHA384 = 9
	DigestSHA512 = 10
)

// EVR is [epoch:]version-release, the epoch written only when it is there
// and not 0, as Trivy writes installed versions.
func (h Header) EVR() string {
	if h.HasEpoch && h.Epoch != 0 {
		return strconv.Itoa(h.Epoch) + ":" + h.Version + "-" + h.Release
	}
	return h.Version + "-" + h.Release
}

// The tags read (rpm's include/rpm/rpmtag.h).
const (
	tagHeaderImage     = 61 // region of an "upgraded" v3 header
	tagHeaderSigs      = 62 // region of a signature header
	tagHeaderImmutable = 63 // region of the package's own header
	tagI18NTable       = 100

	tagName          = 1000
	tagVersion       = 1001
	tagRelease       = 1002
	tagEpoch         = 1003
	tagArch          = 1022
	tagOldFilenames  = 1027
	tagFileSizes     = 1028
	tagFileModes     = 1030
	tagFileMtimes    = 1034
	tagFileDigests   = 1035
	tagFileLinkTos   = 1036
	tagFileFlags     = 1037
	tagFileUserName  = 1039
	tagFileGroupName = 1040
	tagSourceRPM     = 1044
	tagBuildTime     = 1006
	tagInstallTime   = 1008
	tagSize          = 1009
	tagVendor        = 1011
	tagLongSize      = 5009
	tagDirIndexes    = 1116
	tagBasenames     = 1117
	tagDirNames      = 1118
	tagLongFileSizes = 5008
	tagFileDigestAlg = 5011
)

// scriptTags are the tags of a package's scripts, by the names rpm's
// --scripts output gives them.
var scriptTags = []struct {
	tag  uint32
	name string
}{
	{1151, "pretrans"}, {1023, "prein"}, {1024, "postin"}, {1025, "preun"}, {1026, "postun"},
	{1152, "posttrans"}, {1065, "triggers"}, {5066, "filetriggers"}, {5076, "transfiletriggers"},
}

// Entry types (rpmTagType).
const (
	typeChar        = 1
	typeInt8        = 2
	typeInt16       = 3
	typeInt32       = 4
	typeInt64       = 5
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

// Bounds on what one header may hold. rpm itself refuses more than
// 0xffff entries and 256 MiB of data (HEADER_TAGS_MAX, HEADER_DATA_MAX);
// the file bound is far above any real package (the largest have some
// 100 000 files) and keeps a small hostile header from making millions
// of Files.
const (
	maxEntries  = 0xffff
	maxDataLen  = 0x0fffffff
	maxFiles    = 1 << 18
	entrySize   = 16
	regionCount = 16 // a region entry's count: the size of its trailer entry
)

// headerMagic is the 8 bytes before il and dl in a package file's header;
// the databases store headers without it.
var headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

type entry struct {
	tag, typ, off, count uint32
}

// header is a checked blob: every entry's data lies within data.
type header struct {
	data    []byte
	entries map[uint32]entry
}

// ParseHeader reads one header blob as rpm stores it in its database: il
// and dl (big-endian counts of index entries and data bytes), the index
// entries, the data. The 8-byte magic of a package file's header may
// precede it. Entries after the immutable region (those rpm adds on
// install) replace region entries of the same tag, as rpm's headerImport
// does.
func ParseHeader(blob []byte) (Header, error) {
	h, err := checkHeader(blob)
	if err != nil {
		return Header{}, err
	}
	return h.decode()
}

func checkHeader(blob []byte) (*header, error) {
	blob = bytes.TrimPrefix(blob, headerMagic)
	if len(blob) < 8 {
		return nil, fmt.Errorf("rpm header of %d bytes: too short for its entry and data counts", len(blob))
	}
	il, dl := binary.BigEndian.Uint32(blob), binary.BigEndian.Uint32(blob[4:])
	if il < 1 || il > maxEntries {
		return nil, fmt.Errorf("rpm header claims %d entries; rpm allows 1 to %d", il, maxEntries)
	}
	if dl > maxDataLen {
		return nil, fmt.Errorf("rpm header claims %d data bytes; rpm allows at most %d", dl, maxDataLen)
	}
	if want := 8 + uint64(il)*entrySize + uint64(dl); uint64(len(blob)) != want {
		return nil, fmt.Errorf("rpm header of %d bytes, but its %d entries and %d data bytes make %d", len(blob), il, dl, want)
	}
	index, data := blob[8:8+il*entrySize], blob[8+il*entrySize:]
	ent := func(i uint32) entry {
		b := index[i*entrySize:]
		return entry{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])}
	}

	// The region: the first entry's data is a trailer entry whose negated
	// offset is the size of the region's index, the region's data ending
	// after the trailer. Headers from before rpm 4 have no region.
	first, ril, rdl := ent(0), il, dl
	start := uint32(0)
	switch {
	case first.tag >= tagI18NTable:
	case first.tag == tagHeaderImmutable || first.tag == tagHeaderImage:
		if first.typ != typeBin || first.count != regionCount {
			return nil, fmt.Errorf("rpm header region tag %d has type %d and count %d, not %d and %d", first.tag, first.typ, first.count, typeBin, regionCount)
		}
		if uint64(first.off)+regionCount > uint64(dl) {
			return nil, fmt.Errorf("rpm header region trailer at %d lies beyond the %d data bytes", first.off, dl)
		}
		t := data[first.off:]
		trailer := entry{binary.BigEndian.Uint32(t), binary.BigEndian.Uint32(t[4:]), binary.BigEndian.Uint32(t[8:]), binary.BigEndian.Uint32(t[12:])}
		size := -int64(int32(trailer.off))
		if trailer.tag != first.tag || trailer.typ != typeBin || trailer.count != regionCount {
			return nil, fmt.Errorf("rpm header region trailer is tag %d type %d count %d, not the region's tag %d", trailer.tag, trailer.typ, trailer.count, first.tag)
		}
		if size <= 0 || size%entrySize != 0 || size/entrySize > int64(il) {
			return nil, fmt.Errorf("rpm header region claims %d index bytes; the header has %d entries", size, il)
		}
		ril, rdl, start = uint32(size/entrySize), first.off+regionCount, 1
	case first.tag == tagHeaderSigs:
		return nil, fmt.Errorf("rpm header is a signature header, not a package's")
	default:
		return nil, fmt.Errorf("rpm header starts with tag %d: neither a region nor a package tag", first.tag)
	}

	h := &header{data: data, entries: make(map[uint32]entry)}
	end := uint32(0)
	for i := start; i < il; i++ {
		e := ent(i)
		// rpm's rule that entries' data follow one another without
		// overlapping also keeps checking linear in the header's size.
		if e.off < end {
			return nil, fmt.Errorf("rpm header entry %d (tag %d) at offset %d overlaps the data before it, which ends at %d", i, e.tag, e.off, end)
		}
		n, err := checkEntry(e, data)
		if err != nil {
			return nil, fmt.Errorf("rpm header entry %d: %w", i, err)
		}
		end = e.off + n
		// No data may overlap the region trailer, which the loop does not
		// see as an entry.
		if start == 1 && end > rdl-regionCount && e.off < rdl {
			return nil, fmt.Errorf("rpm header entry %d (tag %d) overlaps the region trailer", i, e.tag)
		}
		if i < ril {
			if _, dup := h.entries[e.tag]; !dup {
				h.entries[e.tag] = e
			}
			continue
		}
		// Installed headers append entries after the region (install
		// time, file states, and for pre-4.0 packages the compressed file
		// list); they win, and a dribbled BASENAMES replaces OLDFILENAMES.
		h.entries[e.tag] = e
		if e.tag == tagBasenames {
			delete(h.entries, tagOldFilenames)
		}
	}
	return h, nil
}

var typeSize = [...]uint32{typeChar: 1, typeInt8: 1, typeInt16: 2, typeInt32: 4, typeInt64: 8, typeBin: 1}

// checkEntry applies rpm's checks of one index entry (hdrblobVerifyInfo):
// a package tag, a known type, a count within the data, an aligned
// offset, and data that fits (strings end within the data). It returns
// the length of the entry's data.
func checkEntry(e entry, data []byte) (uint32, error) {
	if e.tag < tagI18NTable {
		return 0, fmt.Errorf("tag %d is not a package tag (a second region?)", e.tag)
	}
	if e.typ < typeChar || e.typ > typeI18NString {
		return 0, fmt.Errorf("tag %d has unknown type %d", e.tag, e.typ)
	}
	if e.count < 1 || uint64(e.count) > uint64(len(data)) {
		return 0, fmt.Errorf("tag %d has count %d; the header has %d data bytes", e.tag, e.count, len(data))
	}
	if uint64(e.off) >= uint64(len(data)) {
		return 0, fmt.Errorf("tag %d has offset %d beyond the %d data bytes", e.tag, e.off, len(data))
	}
	switch e.typ {
	case typeString, typeStringArray, typeI18NString:
		if e.typ == typeString && e.count != 1 {
			return 0, fmt.Errorf("tag %d is a string with count %d", e.tag, e.count)
		}
		p := data[e.off:]
		n := 0
		for range e.count {
			i := bytes.IndexByte(p[n:], 0)
			if i < 0 {
				return 0, fmt.Errorf("tag %d: a string runs past the end of the data", e.tag)
			}
			n += i + 1
		}
		return uint32(n), nil
	}
	size := typeSize[e.typ]
	if e.off%size != 0 {
		return 0, fmt.Errorf("tag %d of type %d has misaligned offset %d", e.tag, e.typ, e.off)
	}
	if uint64(e.off)+uint64(e.count)*uint64(size) > uint64(len(data)) {
		return 0, fmt.Errorf("tag %d: %d values at offset %d run past the %d data bytes", e.tag, e.count, e.off, len(data))
	}
	return e.count * size, nil
}

func (h *header) get(tag, typ uint32) (entry, bool, error) {
	e, ok := h.entries[tag]
	if !ok {
		return e, false, nil
	}
	if e.typ != typ && !(typ == typeString && e.typ == typeI18NString) && !(typ == typeStringArray && e.typ == typeI18NString) {
		return e, false, fmt.Errorf("rpm header tag %d has type %d, not %d", tag, e.typ, typ)
	}
	// The arrays read are per file (or per directory): bound them before
	// making one value per element.
	if typ != typeString && e.count > maxFiles {
		return e, false, fmt.Errorf("rpm header tag %d has %d values; the limit is %d", tag, e.count, maxFiles)
	}
	return e, true, nil
}

func (h *header) strings(tag uint32) ([]string, error) {
	e, ok, err := h.get(tag, typeStringArray)
	if err != nil || !ok {
		return nil, err
	}
	out := make([]string, e.count)
	p := h.data[e.off:]
	for i := range out {
		n := bytes.IndexByte(p, 0) // checkEntry saw every NUL
		out[i] = string(p[:n])
		p = p[n+1:]
	}
	return out, nil
}

func (h *header) string(tag uint32) (string, bool, error) {
	e, ok, err := h.get(tag, typeString)
	if err != nil || !ok {
		return "", false, err
	}
	p := h.data[e.off:]
	return string(p[:bytes.IndexByte(p, 0)]), true, nil
}

// ints reads an integer array of the given type as uint64s.
func (h *header) ints(tag, typ uint32) ([]uint64, error) {
	e, ok, err := h.get(tag, typ)
	if err != nil || !ok {
		return nil, err
	}
	out := make([]uint64, e.count)
	p := h.data[e.off:]
	for i := range out {
		switch typ {
		case typeInt16:
			out[i] = uint64(binary.BigEndian.Uint16(p[2*i:]))
		case typeInt32:
			out[i] = uint64(binary.BigEndian.Uint32(p[4*i:]))
		case typeInt64:
			out[i] = binary.BigEndian.Uint64(p[8*i:])
		}
	}
	return out, nil
}

func (h *header) decode() (Header, error) {
	var out Header
	var err error
	var ok bool
	for _, f := range []struct {
		tag  uint32
		dst  *string
		need bool
	}{
		{tagName, &out.Name, true}, {tagVersion, &out.Version, true}, {tagRelease, &out.Release, true},
		{tagArch, &out.Arch, false}, {tagSourceRPM, &out.SourceRPM, false}, {tagVendor, &out.Vendor, false},
	} {
		if *f.dst, ok, err = h.string(f.tag); err != nil {
			return Header{}, err
		}
		if !ok && f.need {
			return Header{}, fmt.Errorf("rpm header %s has no tag %d (name, version and release are required)", out.Name, f.tag)
		}
	}
	name := out.Name + "-" + out.EVR()
	epoch, err := h.ints(tagEpoch, typeInt32)
	if err != nil {
		return Header{}, fmt.Errorf("%s: %w", name, err)
	}
	if len(epoch) > 0 {
		if epoch[0] > 1<<31-1 {
			return Header{}, fmt.Errorf("rpm header %s has epoch %d", out.Name, epoch[0])
		}
		out.Epoch, out.HasEpoch = int(epoch[0]), true
		name = out.Name + "-" + out.EVR()
	}
	algo, err := h.ints(tagFileDigestAlg, typeInt32)
	if err != nil {
		return Header{}, fmt.Errorf("%s: %w", name, err)
	}
	out.DigestAlgo = DigestMD5
	if len(algo) > 0 {
		if algo[0] > 255 {
			return Header{}, fmt.Errorf("%s: file digest algorithm %d", name, algo[0])
		}
		out.DigestAlgo = int(algo[0])
	}
	if out.Files, err = h.files(); err != nil {
		return Header{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, t := range []struct {
		tag, typ uint32
		set      func(uint64)
	}{
		{tagBuildTime, typeInt32, func(v uint64) { out.BuildTime = uint32(v) }},
		{tagInstallTime, typeInt32, func(v uint64) { out.InstallTime = uint32(v) }},
		{tagSize, typeInt32, func(v uint64) { out.Size = v }},
		{tagLongSize, typeInt64, func(v uint64) { out.Size = v }},
	} {
		vs, err := h.ints(t.tag, t.typ)
		if err != nil {
			return Header{}, fmt.Errorf("%s: %w", name, err)
		}
		if len(vs) > 0 {
			t.set(vs[0])
		}
	}
	for _, st := range scriptTags {
		if _, ok := h.entries[st.tag]; ok {
			out.Scripts = append(out.Scripts, st.name)
		}
	}
	return out, nil
}

func (h *header) files() ([]File, error) {
	var paths []string
	base, err := h.strings(tagBasenames)
	if err != nil {
		return nil, err
	}
	if base != nil {
		if len(base) > maxFiles {
			return nil, fmt.Errorf("%d files; the limit is %d", len(base), maxFiles)
		}
		dirs, err := h.strings(tagDirNames)
		if err != nil {
			return nil, err
		}
		idx, err := h.ints(tagDirIndexes, typeInt32)
		if err != nil {
			return nil, err
		}
		if len(idx) != len(base) {
			return nil, fmt.Errorf("%d basenames but %d directory indexes", len(base), len(idx))
		}
		paths = make([]string, len(base))
		for i, b := range base {
			if idx[i] >= uint64(len(dirs)) {
				return nil, fmt.Errorf("file %d (%s) names directory %d of %d", i, b, idx[i], len(dirs))
			}
			paths[i] = dirs[idx[i]] + b
		}
	} else if paths, err = h.strings(tagOldFilenames); err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, nil
	}
	if len(paths) > maxFiles {
		return nil, fmt.Errorf("%d files; the limit is %d", len(paths), maxFiles)
	}
	n := len(paths)
	// Every per-file array has one value per file, or is missing.
	same := func(what string, k int, err error) error {
		if err == nil && k != 0 && k != n {
			err = fmt.Errorf("%d files but %d %s", n, k, what)
		}
		return err
	}
	digests, err := h.strings(tagFileDigests)
	if err = same("file digests", len(digests), err); err != nil {
		return nil, err
	}
	links, err := h.strings(tagFileLinkTos)
	if err = same("link targets", len(links), err); err != nil {
		return nil, err
	}
	users, err := h.strings(tagFileUserName)
	if err = same("file owners", len(users), err); err != nil {
		return nil, err
	}
	groups, err := h.strings(tagFileGroupName)
	if err = same("file groups", len(groups), err); err != nil {
		return nil, err
	}
	modes, err := h.ints(tagFileModes, typeInt16)
	if err = same("file modes", len(modes), err); err != nil {
		return nil, err
	}
	flags, err := h.ints(tagFileFlags, typeInt32)
	if err = same("file flags", len(flags), err); err != nil {
		return nil, err
	}
	mtimes, err := h.ints(tagFileMtimes, typeInt32)
	if err = same("file mtimes", len(mtimes), err); err != nil {
		return nil, err
	}
	sizes, err := h.ints(tagLongFileSizes, typeInt64)
	if err = same("64-bit file sizes", len(sizes), err); err != nil {
		return nil, err
	}
	if sizes == nil {
		sizes, err = h.ints(tagFileSizes, typeInt32)
		if err = same("file sizes", len(sizes), err); err != nil {
			return nil, err
		}
	}
	at := func(s []string, i int) string {
		if s == nil {
			return ""
		}
		return s[i]
	}
	atInt := func(s []uint64, i int) uint64 {
		if s == nil {
			return 0
		}
		return s[i]
	}
	files := make([]File, n)
	for i, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("file %d has the relative path %q", i, p)
		}
		d := strings.ToLower(at(digests, i))
		if _, err := hex.DecodeString(d); err != nil {
			return nil, fmt.Errorf("file %s has the digest %q, which is not hex", p, d)
		}
		size := atInt(sizes, i)
		if size > 1<<63-1 {
			return nil, fmt.Errorf("file %s has the size %d", p, size)
		}
		files[i] = File{
			Path: p, Digest: d, Mode: uint32(atInt(modes, i)), Size: int64(size),
			User: at(users, i), Group: at(groups, i), Flags: uint32(atInt(flags, i)),
			Mtime: uint32(atInt(mtimes, i)), Link: at(links, i),
		}
	}
	return files, nil
}
