package rpmstep

import (
	"strings"
	"testing"
)

func TestParseRepoAuth(t *testing.T) {
	a, err := ParseRepoAuth([]byte("machine nexus.example:8443/repository login ci password s3cr3t\nmachine https://pulp.example\n  login u password p\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Credentials) != 2 || a.Credentials[0].Login != "ci" || a.Credentials[1].Machine != "https://pulp.example" {
		t.Errorf("%+v", a)
	}
	for _, bad := range []string{"login u password p", "machine x login u", "machine x login u password p extra y", "machine", "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n"} {
		if _, err := ParseRepoAuth([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		} else if strings.Contains(err.Error(), "password p") {
			t.Errorf("%q: the error quotes the secret: %v", bad, err)
		}
	}
	if a, err := ParseRepoAuth([]byte("-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n")); err != nil || !a.ClientCert {
		t.Errorf("client certificate: %+v %v", a, err)
	}
}

func TestPrepareRepo(t *testing.T) {
	auth := RepoAuth{Credentials: []Credential{
		{Machine: "nexus.example:8443/repository/el9", Login: "ci", Password: "pw"},
		{Machine: "http://127.0.0.1:8092", Login: "copa", Password: "x y"},
	}}
	repo := "[baseos]\nname=BaseOS\nbaseurl=https://nexus.example:8443/repository/el9/baseos\ngpgcheck=1\n\n" +
		"[other]\nbaseurl=https://other.example/repo\n  https://nexus.example:8443/repository/el9/mirror\n\n" +
		"[own]\nbaseurl=https://nexus.example:8443/repository/el9/x\nusername=mine\npassword=mine\nsslcacert=/etc/pki/mine.pem\n\n" +
		"[local]\nbaseurl=http://127.0.0.1:8092/\n\n[public]\nbaseurl=https://nexus.example/repository/el9\n"
	got, n := prepareRepo([]byte(repo), "dnf", auth, "", "/tmp/copa-work/ca.pem")
	want := "[baseos]\nname=BaseOS\nbaseurl=https://nexus.example:8443/repository/el9/baseos\ngpgcheck=1\n\nusername=ci\npassword=pw\nsslcacert=/tmp/copa-work/ca.pem\n" +
		"[other]\nbaseurl=https://other.example/repo\n  https://nexus.example:8443/repository/el9/mirror\n\nusername=ci\npassword=pw\nsslcacert=/tmp/copa-work/ca.pem\n" +
		"[own]\nbaseurl=https://nexus.example:8443/repository/el9/x\nusername=mine\npassword=mine\nsslcacert=/etc/pki/mine.pem\n\n" +
		"[local]\nbaseurl=http://127.0.0.1:8092/\n\nusername=copa\npassword=x y\n" +
		"[public]\nbaseurl=https://nexus.example/repository/el9\nsslcacert=/tmp/copa-work/ca.pem\n"
	if string(got) != want || n != 3 {
		t.Errorf("dnf: %d repositories\n%s\nwant\n%s", n, got, want)
	}

	z, n := prepareRepo([]byte("[local]\nname=x\nbaseurl=http://127.0.0.1:8092/suse\n"), "zypper", auth, "", "")
	if string(z) != "[local]\nname=x\nbaseurl=http://copa:x%20y@127.0.0.1:8092/suse\n" || n != 1 {
		t.Errorf("zypper: %d\n%s", n, z)
	}

	c, n := prepareRepo([]byte("[a]\nbaseurl=https://x/\n[b]\nbaseurl=http://y/\n"), "dnf", RepoAuth{ClientCert: true}, "/tmp/copa-secrets/repo-auth", "")
	if string(c) != "[a]\nbaseurl=https://x/\nsslclientcert=/tmp/copa-secrets/repo-auth\nsslclientkey=/tmp/copa-secrets/repo-auth\n[b]\nbaseurl=http://y/\n" || n != 1 {
		t.Errorf("client certificate: %d\n%s", n, c)
	}
}
