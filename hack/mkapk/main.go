// Command mkapk writes signed apk v2 packages and their repository index
// from a JSON spec, without abuild, for the Alpine side of the test harness.
// No Alpine mirror is reachable from the harness, so its test packages are
// made here and installed with a static apk-tools (hack/harness/apk-tools.sh).
//
//	mkapk -genkey DIR [-keyname copa-test.rsa]
//	    writes DIR/NAME (RSA private key, PEM) and DIR/NAME.pub (public key,
//	    PEM), the file to put into /etc/apk/keys under that very name.
//	mkapk -spec SPEC.json -key DIR/NAME -out REPO/ARCH [-epoch SECONDS] [-keyname NAME] [-arch ARCH]
//	    writes REPO/ARCH/<name>-<version>.apk for each package and
//	    REPO/ARCH/APKINDEX.tar.gz, all signed with the key; apk's repository
//	    URL is then REPO.
//
// The output is byte-reproducible: every mtime is -epoch (or the package's
// "epoch" in the spec), owners are root, the gzip headers hold no name or
// time, and RSA PKCS#1 v1.5 signatures are deterministic, so the same spec
// and key give the same bytes.
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// defaultEpoch is 2025-01-01 00:00:00 UTC, the harness's build time of old
// package versions (as for the RPM test packages).
const defaultEpoch = 1735689600

func main() {
	genkey := flag.String("genkey", "", "write a new RSA key pair into `DIR` and exit")
	keyName := flag.String("keyname", "", "the private key's file `name` (default copa-test.rsa with -genkey, "+
		"the -key file's name otherwise); signatures name NAME.pub, the public key's name in /etc/apk/keys")
	bits := flag.Int("bits", 2048, "RSA key size for -genkey")
	specFile := flag.String("spec", "", "the repository's JSON spec `file`")
	keyFile := flag.String("key", "", "the RSA private key `file` (PEM) to sign with")
	out := flag.String("out", "", "the repository's architecture `dir` (REPO/ARCH)")
	epoch := flag.Int64("epoch", defaultEpoch, "every mtime and build date, in Unix `seconds`, unless a package sets its own epoch")
	arch := flag.String("arch", "", "build for this apk `architecture` instead of the spec's (the test packages hold no machine code)")
	flag.Parse()
	if flag.NArg() > 0 {
		fatal(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}

	if *genkey != "" {
		name := *keyName
		if name == "" {
			name = "copa-test.rsa"
		}
		if err := genKey(*genkey, name, *bits); err != nil {
			fatal(err)
		}
		return
	}
	if *specFile == "" || *keyFile == "" || *out == "" {
		fatal(errors.New("need -genkey DIR, or -spec, -key and -out"))
	}
	name := *keyName
	if name == "" {
		name = filepath.Base(*keyFile)
	}
	if err := build(*specFile, *keyFile, name, *out, *arch, time.Unix(*epoch, 0).UTC()); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mkapk:", err)
	os.Exit(1)
}

// genKey writes the key pair. The public key is SubjectPublicKeyInfo PEM,
// the form apk reads (PEM_read_bio_PUBKEY) and openssl rsa -pubout writes.
func genKey(dir, name string, bits int) error {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return err
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	privFile := filepath.Join(dir, name)
	// Replacing a key would silently orphan every repository signed with it.
	if _, err := os.Stat(privFile); err == nil {
		return fmt.Errorf("%s exists", privFile)
	}
	if err := writeFile(privFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv}), 0o600); err != nil {
		return err
	}
	if err := writeFile(privFile+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return err
	}
	fmt.Println(privFile)
	fmt.Println(privFile + ".pub")
	return nil
}

// loadKey reads a PEM RSA private key, PKCS#8 (openssl 3's genrsa, and
// -genkey) or PKCS#1 (older openssl, abuild-keygen).
func loadKey(file string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", file)
	}
	switch blk.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s: not an RSA key", file)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("%s: PEM block %q is not a private key", file, blk.Type)
}

// build writes the packages and the index of one spec into out.
func build(specFile, keyFile, keyName, out, arch string, mtime time.Time) error {
	spec, err := loadSpec(specFile)
	if err != nil {
		return err
	}
	if arch != "" {
		spec.Arch = arch
	}
	key, err := loadKey(keyFile)
	if err != nil {
		return err
	}
	if filepath.Base(filepath.Clean(out)) != spec.Arch {
		// apk fetches REPO/<its arch>/APKINDEX.tar.gz, so any other directory
		// name only works as a repository for another architecture.
		fmt.Fprintf(os.Stderr, "mkapk: warning: %s is not named after the arch %s\n", out, spec.Arch)
	}
	files, err := buildRepo(spec, &signer{key: key, keyName: keyName + ".pub"}, mtime)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(out, f.name)
		if err := writeFile(dst, f.data, 0o644); err != nil {
			return err
		}
		fmt.Println(dst)
	}
	return nil
}

// repoFile is one file of the repository directory.
type repoFile struct {
	name string
	data []byte
}

// buildRepo makes every package and then the index, index last.
func buildRepo(spec *Spec, sg *signer, mtime time.Time) ([]repoFile, error) {
	var pkgs []*built
	var files []repoFile
	for i := range spec.Packages {
		p := &spec.Packages[i]
		bp, err := buildPackage(p, spec.Arch, sg, mtime)
		if err != nil {
			return nil, fmt.Errorf("%s-%s: %w", p.Name, p.Version, err)
		}
		pkgs = append(pkgs, bp)
		files = append(files, repoFile{p.fileName(), bp.apk})
	}
	index, err := buildIndex(spec, pkgs, sg, mtime)
	if err != nil {
		return nil, err
	}
	return append(files, repoFile{"APKINDEX.tar.gz", index}), nil
}

// writeFile replaces file atomically, so a repository being served never
// shows a half-written package or index.
func writeFile(file string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}
