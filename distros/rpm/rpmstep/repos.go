package rpmstep

import (
	"bufio"
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Credential is one "machine HOST[:PORT][/PATH] login USER password
// PASS" entry of the repo-auth secret (the form of apt_auth.conf(5),
// shared with apt-auth).
type Credential struct {
	Machine, Login, Password string
}

// RepoAuth is what the repo-auth secret holds: credentials per machine,
// or a client certificate with its key in one PEM file.
type RepoAuth struct {
	Credentials []Credential
	// ClientCert is set when the secret is a PEM file holding a
	// certificate and a private key: every https repository gets it.
	ClientCert bool
}

// ParseRepoAuth reads the repo-auth secret. Errors never quote it.
func ParseRepoAuth(dt []byte) (RepoAuth, error) {
	if bytes.Contains(dt, []byte("-----BEGIN CERTIFICATE-----")) {
		if !bytes.Contains(dt, []byte("PRIVATE KEY-----")) {
			return RepoAuth{}, fmt.Errorf("the repo-auth secret holds a certificate but no private key: give both in one PEM file")
		}
		return RepoAuth{ClientCert: true}, nil
	}
	var a RepoAuth
	words := strings.Fields(string(dt))
	for i := 0; i < len(words); {
		if words[i] != "machine" || i+1 >= len(words) {
			return RepoAuth{}, fmt.Errorf("the repo-auth secret: word %d is not \"machine HOST\" (want lines of \"machine HOST[:PORT][/PATH] login USER password PASSWORD\")", i+1)
		}
		c := Credential{Machine: words[i+1]}
		i += 2
		for i+1 < len(words) && words[i] != "machine" {
			switch words[i] {
			case "login":
				c.Login = words[i+1]
			case "password":
				c.Password = words[i+1]
			default:
				return RepoAuth{}, fmt.Errorf("the repo-auth secret: unknown keyword at word %d after machine %s (want login and password)", i+1, c.Machine)
			}
			i += 2
		}
		if i < len(words) && words[i] != "machine" {
			return RepoAuth{}, fmt.Errorf("the repo-auth secret: machine %s ends without a value", c.Machine)
		}
		if c.Login == "" || c.Password == "" {
			return RepoAuth{}, fmt.Errorf("the repo-auth secret: machine %s needs a login and a password", c.Machine)
		}
		a.Credentials = append(a.Credentials, c)
	}
	return a, nil
}

// match returns the credential for a repository URL: the machine's host
// (and port and path prefix, when it names them; and scheme, when it
// starts with one) is the URL's.
func (a RepoAuth) match(raw string) (Credential, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return Credential{}, false
	}
	for _, c := range a.Credentials {
		m := c.Machine
		scheme := ""
		if s, rest, ok := strings.Cut(m, "://"); ok {
			scheme, m = s, rest
		}
		host, p, _ := strings.Cut(m, "/")
		if scheme != "" && scheme != u.Scheme {
			continue
		}
		if !strings.Contains(host, ":") {
			if host != u.Hostname() {
				continue
			}
		} else if host != u.Host && host != u.Hostname()+":"+defaultPort(u) {
			continue
		}
		if p != "" && !strings.HasPrefix(strings.TrimPrefix(u.Path, "/"), strings.TrimSuffix(p, "/")) {
			continue
		}
		return c, true
	}
	return Credential{}, false
}

func defaultPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// PrepareRepos rewrites the repository files in dir, copies on the step's
// /tmp, for the secrets: dnf-style files (flavour "dnf") get username and
// password (or sslclientcert and sslclientkey: authFile) in the sections
// whose URLs a credential matches, and sslcacert=caFile in the https ones
// that name no CA of their own; zypper's (flavour "zypper") get the
// credentials in their baseurl, as zypper takes them. It returns how many
// repositories got credentials.
func PrepareRepos(dir, flavour string, auth RepoAuth, authFile, caFile string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.repo"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		dt, err := os.ReadFile(name)
		if err != nil {
			return 0, err
		}
		out, k := prepareRepo(dt, flavour, auth, authFile, caFile)
		n += k
		if err := os.WriteFile(name, out, 0o600); err != nil {
			return 0, err
		}
	}
	return n, nil
}

func prepareRepo(dt []byte, flavour string, auth RepoAuth, authFile, caFile string) ([]byte, int) {
	var out bytes.Buffer
	type section struct {
		urls      []string
		hasCA     bool
		hasLogin  bool
		inSection bool
	}
	var cur section
	authed := 0
	flush := func() {
		if !cur.inSection || flavour != "dnf" {
			return
		}
		https := false
		var cred *Credential
		for _, u := range cur.urls {
			https = https || strings.HasPrefix(u, "https://")
			if c, ok := auth.match(u); ok && cred == nil {
				cred = &c
			}
		}
		switch {
		case auth.ClientCert && https && authFile != "":
			fmt.Fprintf(&out, "sslclientcert=%s\nsslclientkey=%s\n", authFile, authFile)
			authed++
		case cred != nil && !cur.hasLogin:
			fmt.Fprintf(&out, "username=%s\npassword=%s\n", cred.Login, cred.Password)
			authed++
		}
		if caFile != "" && https && !cur.hasCA {
			fmt.Fprintf(&out, "sslcacert=%s\n", caFile)
		}
	}
	sc := bufio.NewScanner(bytes.NewReader(dt))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	lastKey := ""
	for sc.Scan() {
		line := sc.Text()
		t := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(t, "["):
			flush()
			cur = section{inSection: true}
			lastKey = ""
		case t == "" || t[0] == '#' || t[0] == ';':
		case line[0] == ' ' || line[0] == '\t':
			if lastKey == "baseurl" || lastKey == "mirrorlist" || lastKey == "metalink" {
				cur.urls = append(cur.urls, strings.Fields(t)...)
				if flavour == "zypper" && lastKey == "baseurl" {
					line = zypperURL(line, auth, &authed)
				}
			}
		default:
			k, v, _ := strings.Cut(t, "=")
			lastKey = strings.ToLower(strings.TrimSpace(k))
			switch lastKey {
			case "baseurl", "mirrorlist", "metalink":
				cur.urls = append(cur.urls, strings.Fields(strings.ReplaceAll(v, ",", " "))...)
				if flavour == "zypper" && lastKey == "baseurl" {
					line = zypperURL(line, auth, &authed)
				}
			case "sslcacert":
				cur.hasCA = true
			case "username", "password":
				cur.hasLogin = true
			}
		}
		out.WriteString(line)
		out.WriteByte('\n')
	}
	flush()
	return out.Bytes(), authed
}

// zypperURL puts the matching credential into a baseurl line's URL.
func zypperURL(line string, auth RepoAuth, authed *int) string {
	k, v, ok := strings.Cut(line, "=")
	prefix := ""
	if !ok {
		v, k = line, ""
	} else {
		prefix = k + "="
	}
	raw := strings.TrimSpace(v)
	c, found := auth.match(raw)
	u, err := url.Parse(raw)
	if !found || err != nil || u.User != nil {
		return line
	}
	u.User = url.UserPassword(c.Login, c.Password)
	*authed++
	if prefix == "" {
		return strings.Repeat(" ", len(line)-len(strings.TrimLeft(line, " \t"))) + u.String()
	}
	return prefix + u.String()
}
