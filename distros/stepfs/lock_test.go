package stepfs

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestLockWaitsForTheOtherHolder: two opens of one lock file, as two
// steps' shells make them; the second waits, says so, and gets the lock
// once the first descriptor is closed.
func TestLockWaitsForTheOtherHolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "lock")
	first, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := Lock(int(first.Fd()), func() { t.Error("the first holder waited") }); err != nil {
		t.Fatal(err)
	}
	second, err := os.OpenFile(p, os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	waited := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- Lock(int(second.Fd()), func() { close(waited) })
	}()
	select {
	case <-waited:
	case err := <-done:
		t.Fatalf("the second holder got the lock while the first held it (err %v)", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the second holder neither waited nor got the lock")
	}
	first.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestLockRefusesStandardDescriptors(t *testing.T) {
	for _, a := range []string{"0", "2", "x", "-1"} {
		if err := runLock([]string{a}); err == nil {
			t.Errorf("lock %s: no error", a)
		}
	}
}
