package rpmdb

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// tent is one entry of a hand-built header.
type tent struct {
	tag, typ uint32
	data     []byte
	count    uint32
}

func tstr(tag uint32, s string) tent { return tent{tag, typeString, []byte(s + "\x00"), 1} }
func tstrs(tag uint32, ss ...string) tent {
	var b []byte
	for _, s := range ss {
		b = append(b, s...)
		b = append(b, 0)
	}
	return tent{tag, typeStringArray, b, uint32(len(ss))}
}
func ti32(tag uint32, vs ...uint32) tent {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	return tent{tag, typeInt32, b, uint32(len(vs))}
}
func ti16(tag uint32, vs ...uint16) tent {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	return tent{tag, typeInt16, b, uint32(len(vs))}
}
func ti64(tag uint32, vs ...uint64) tent {
	b := make([]byte, 8*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint64(b[8*i:], v)
	}
	return tent{tag, typeInt64, b, uint32(len(vs))}
}

var typeAlign = map[uint32]int{typeInt16: 2, typeInt32: 4, typeInt64: 8}

// buildHeader lays out a header blob as rpm does: with region, entry 0 is
// HEADERIMMUTABLE and its trailer follows the region's data; dribbles
// come after the region.
func buildHeader(region bool, ents, dribbles []tent) []byte {
	var index, data []byte
	put := func(tag, typ, off, count uint32) {
		index = binary.BigEndian.AppendUint32(index, tag)
		index = binary.BigEndian.AppendUint32(index, typ)
		index = binary.BigEndian.AppendUint32(index, off)
		index = binary.BigEndian.AppendUint32(index, count)
	}
	add := func(e tent) {
		if a := typeAlign[e.typ]; a > 0 {
			for len(data)%a != 0 {
				data = append(data, 0)
			}
		}
		put(e.tag, e.typ, uint32(len(data)), e.count)
		data = append(data, e.data...)
	}
	if region {
		put(tagHeaderImmutable, typeBin, 0, regionCount) // offset set below
	}
	for _, e := range ents {
		add(e)
	}
	if region {
		ril := uint32(len(index) / entrySize)
		binary.BigEndian.PutUint32(index[8:], uint32(len(data)))
		data = binary.BigEndian.AppendUint32(data, tagHeaderImmutable)
		data = binary.BigEndian.AppendUint32(data, typeBin)
		data = binary.BigEndian.AppendUint32(data, uint32(-int32(ril*entrySize)))
		data = binary.BigEndian.AppendUint32(data, regionCount)
	}
	for _, e := range dribbles {
		add(e)
	}
	out := binary.BigEndian.AppendUint32(nil, uint32(len(index)/entrySize))
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	return append(append(out, index...), data...)
}

var sha = strings.Repeat("ab", 32)

// pkgEntries is a small but complete package: one directory, a regular
// file, a config file and a symlink.
func pkgEntries() []tent {
	return []tent{
		tstr(tagName, "bash"), tstr(tagVersion, "5.1.8"), tstr(tagRelease, "9.el9"),
		ti32(tagEpoch, 0), tstr(tagArch, "x86_64"),
		ti32(tagFileSizes, 4096, 10, 7, 8),
		ti16(tagFileModes, 0o40755, 0o100644, 0o100644, 0o120777),
		ti32(tagFileMtimes, 1, 2, 3, 4),
		tstrs(tagFileDigests, "", sha, strings.ToUpper(sha), ""),
		tstrs(tagFileLinkTos, "", "", "", "bash"),
		ti32(tagFileFlags, 0, 0, FileConfig|FileNoReplace, 0),
		tstrs(tagFileUserName, "root", "root", "root", "root"),
		tstrs(tagFileGroupName, "root", "root", "wheel", "root"),
		tstr(tagSourceRPM, "bash-5.1.8-9.el9.src.rpm"),
		ti32(tagDirIndexes, 0, 1, 2, 1),
		tstrs(tagBasenames, "bash", "bash", "bashrc", "sh"),
		tstrs(tagDirNames, "/usr/share/doc/", "/usr/bin/", "/etc/"),
		ti32(tagFileDigestAlg, DigestSHA256),
	}
}

func pkgHeader() Header {
	return Header{
		Name: "bash", Version: "5.1.8", Release: "9.el9", Arch: "x86_64", HasEpoch: true,
		SourceRPM: "bash-5.1.8-9.el9.src.rpm", DigestAlgo: DigestSHA256,
		Files: []File{
			{Path: "/usr/share/doc/bash", Mode: 0o40755, Size: 4096, User: "root", Group: "root", Mtime: 1},
			{Path: "/usr/bin/bash", Digest: sha, Mode: 0o100644, Size: 10, User: "root", Group: "root", Mtime: 2},
			{Path: "/etc/bashrc", Digest: sha, Mode: 0o100644, Size: 7, User: "root", Group: "wheel", Flags: FileConfig | FileNoReplace, Mtime: 3},
			{Path: "/usr/bin/sh", Mode: 0o120777, Size: 8, User: "root", Group: "root", Mtime: 4, Link: "bash"},
		},
	}
}

func TestParseHeader(t *testing.T) {
	without := func(ents []tent, tags ...uint32) []tent {
		var out []tent
	next:
		for _, e := range ents {
			for _, t := range tags {
				if e.tag == t {
					continue next
				}
			}
			out = append(out, e)
		}
		return out
	}
	long := pkgHeader()
	long.Files[1].Size = 5 << 30
	noDigest := pkgHeader()
	noDigest.DigestAlgo, noDigest.HasEpoch = DigestMD5, false
	old := Header{Name: "bash", Version: "5.1.8", Release: "9.el9", DigestAlgo: DigestMD5,
		Files: []File{{Path: "/bin/bash"}, {Path: "/bin/sh"}}}
	renamed := pkgHeader()
	renamed.Name = "bash-renamed"
	gpg := Header{Name: "gpg-pubkey", Version: "fd431d51", Release: "4ae0493b", DigestAlgo: DigestMD5}

	tests := []struct {
		name string
		blob []byte
		want Header
	}{
		{"region", buildHeader(true, pkgEntries(), nil), pkgHeader()},
		{"with the package file's magic", append(append([]byte{}, headerMagic...), buildHeader(true, pkgEntries(), nil)...), pkgHeader()},
		{"long file sizes win", buildHeader(true, append(pkgEntries(), ti64(tagLongFileSizes, 4096, 5<<30, 7, 8)), nil), long},
		{"no epoch, no digest algorithm: md5", buildHeader(true, without(pkgEntries(), tagEpoch, tagFileDigestAlg), nil), noDigest},
		{"dribble replaces a region entry", buildHeader(true, pkgEntries(), []tent{tstr(tagName, "bash-renamed")}), renamed},
		{"legacy header without region, OLDFILENAMES", buildHeader(false, []tent{
			tstr(tagName, "bash"), tstr(tagVersion, "5.1.8"), tstr(tagRelease, "9.el9"), tstrs(tagOldFilenames, "/bin/bash", "/bin/sh"),
		}, nil), old},
		{"dribbled BASENAMES replace OLDFILENAMES", buildHeader(true, []tent{
			tstr(tagName, "bash"), tstr(tagVersion, "5.1.8"), tstr(tagRelease, "9.el9"), tstrs(tagOldFilenames, "/old/a", "/old/b"),
		}, []tent{ti32(tagDirIndexes, 0, 0), tstrs(tagBasenames, "bash", "sh"), tstrs(tagDirNames, "/bin/")}), old},
		{"gpg-pubkey: no arch, no files", buildHeader(true, []tent{
			tstr(tagName, "gpg-pubkey"), tstr(tagVersion, "fd431d51"), tstr(tagRelease, "4ae0493b"),
		}, nil), gpg},
		{"I18N string for a string tag", buildHeader(true, []tent{
			{tagName, typeI18NString, []byte("gpg-pubkey\x00"), 1}, tstr(tagVersion, "fd431d51"), tstr(tagRelease, "4ae0493b"),
		}, nil), gpg},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.blob)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// patch returns a copy of b with v written big-endian at off.
func patch(b []byte, off int, v uint32) []byte {
	c := bytes.Clone(b)
	binary.BigEndian.PutUint32(c[off:], v)
	return c
}

func TestParseHeaderMalformed(t *testing.T) {
	good := buildHeader(true, pkgEntries(), nil)
	il := int(binary.BigEndian.Uint32(good))
	dataStart := 8 + il*entrySize
	entryField := func(i, field int) int { return 8 + i*entrySize + 4*field } // field: 0 tag, 1 type, 2 offset, 3 count
	trailerOff := dataStart + int(binary.BigEndian.Uint32(good[entryField(0, 2):]))
	replace := func(ents []tent, e tent) []tent {
		out := []tent{}
		for _, x := range ents {
			if x.tag == e.tag {
				x = e
			}
			out = append(out, x)
		}
		return out
	}
	negSize := func(n int) uint32 { return uint32(-int32(n)) }
	tests := []struct {
		name, blob, want string
	}{
		{"empty", "", "too short"},
		{"truncated", string(good[:len(good)-1]), "make"},
		{"trailing bytes", string(append(bytes.Clone(good), 0)), "make"},
		{"no entries", string(patch(good, 0, 0)), "entries"},
		{"too many entries", string(patch(good, 0, 1<<20)), "entries"},
		{"data length too large", string(patch(good, 4, 1<<30)), "data bytes"},
		{"offset out of range", string(patch(good, entryField(3, 2), 1<<20)), "beyond"},
		{"count too large", string(patch(good, entryField(6, 3), 1<<20)), "count"},
		{"int array past the data", string(patch(good, entryField(6, 3), uint32(len(good)-dataStart)/4)), "run past"},
		{"misaligned", string(patch(good, entryField(6, 2), binary.BigEndian.Uint32(good[entryField(6, 2):])+1)), "misaligned"},
		{"unknown type", string(patch(good, entryField(2, 1), 42)), "unknown type"},
		{"region type lies", string(patch(good, entryField(0, 1), typeInt32)), "region tag"},
		{"region trailer out of range", string(patch(good, entryField(0, 2), 1<<20)), "beyond"},
		{"region trailer of another tag", string(patch(good, trailerOff, tagHeaderImage)), "trailer"},
		{"region claims more entries than the header has", string(patch(good, trailerOff+8, negSize((il+1)*entrySize))), "region claims"},
		{"region size not whole entries", string(patch(good, trailerOff+8, negSize(entrySize+3))), "region claims"},
		{"region size positive", string(patch(good, trailerOff+8, 32)), "region claims"},
		{"signature header", string(patch(patch(good, entryField(0, 0), tagHeaderSigs), trailerOff, tagHeaderSigs)), "signature"},
		{"second region", string(patch(good, entryField(1, 0), tagHeaderImmutable)), "not a package tag"},
		{"first tag neither region nor package", string(patch(good, entryField(0, 0), 70)), "neither"},
		{"overlapping entries", string(patch(good, entryField(2, 2), 0)), "overlaps"},
		{"unterminated string", string(buildHeader(false, []tent{tstr(tagVersion, "1"), {tagName, typeString, []byte("bash"), 1}}, nil)), "past the end"},
		{"string with count 2", string(buildHeader(false, []tent{{tagName, typeString, []byte("a\x00b\x00"), 2}}, nil)), "count 2"},
		{"name of the wrong type", string(buildHeader(true, replace(pkgEntries(), ti32(tagName, 1)), nil)), "type 4, not 6"},
		{"no name", string(buildHeader(true, pkgEntries()[1:], nil)), "no tag 1000"},
		{"directory index out of range", string(buildHeader(true, replace(pkgEntries(), ti32(tagDirIndexes, 0, 1, 2, 3)), nil)), "directory 3 of 3"},
		{"fewer modes than files", string(buildHeader(true, replace(pkgEntries(), ti16(tagFileModes, 1, 2, 3)), nil)), "4 files but 3 file modes"},
		{"fewer directory indexes than basenames", string(buildHeader(true, replace(pkgEntries(), ti32(tagDirIndexes, 0, 1)), nil)), "4 basenames but 2"},
		{"digest not hex", string(buildHeader(true, replace(pkgEntries(), tstrs(tagFileDigests, "", "zz", "", "")), nil)), "not hex"},
		{"relative path", string(buildHeader(true, replace(pkgEntries(), tstrs(tagDirNames, "usr/", "/usr/bin/", "/etc/")), nil)), "relative"},
		{"epoch too large", string(buildHeader(true, replace(pkgEntries(), ti32(tagEpoch, 1<<31)), nil)), "epoch"},
		{"too many files", string(buildHeader(true, replace(pkgEntries(), tstrs(tagBasenames, make([]string, maxFiles+1)...)), nil)), "limit"},
	}
	// An entry whose data runs into the region trailer: give the last
	// region entry (DIRNAMES is not last; FILEDIGESTALGO is) a count that
	// covers the trailer.
	lastRegion := len(pkgEntries())
	tests = append(tests, struct{ name, blob, want string }{"entry overlaps the region trailer",
		string(patch(good, entryField(lastRegion, 3), 3)), "trailer"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseHeader([]byte(tt.blob))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseHeader: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestEVR(t *testing.T) {
	for _, tt := range []struct {
		h    Header
		want string
	}{
		{Header{Version: "1.2", Release: "3"}, "1.2-3"},
		{Header{Version: "1.2", Release: "3", HasEpoch: true}, "1.2-3"},
		{Header{Version: "1.2", Release: "3", HasEpoch: true, Epoch: 2}, "2:1.2-3"},
	} {
		if got := tt.h.EVR(); got != tt.want {
			t.Errorf("%+v: EVR %q, want %q", tt.h, got, tt.want)
		}
	}
}

func TestFileFlags(t *testing.T) {
	f := File{Flags: FileConfig | FileGhost}
	if !f.Config() || !f.Ghost() || (File{Flags: FileDoc}).Config() || (File{}).Ghost() {
		t.Error("Config/Ghost do not follow FILEFLAGS")
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(buildHeader(true, pkgEntries(), nil))
	f.Add(buildHeader(true, pkgEntries(), []tent{tstr(tagName, "x"), ti32(tagDirIndexes, 0, 0, 0, 0)}))
	f.Add(buildHeader(false, []tent{tstr(tagName, "a"), tstr(tagVersion, "1"), tstr(tagRelease, "1"), tstrs(tagOldFilenames, "/a")}, nil))
	f.Add(append(append([]byte{}, headerMagic...), buildHeader(true, pkgEntries(), nil)...))
	f.Fuzz(func(t *testing.T, blob []byte) {
		h, err := ParseHeader(blob)
		if err != nil {
			return
		}
		for _, fl := range h.Files {
			if !strings.HasPrefix(fl.Path, "/") || fl.Size < 0 {
				t.Fatalf("bad file %+v", fl)
			}
		}
	})
}
