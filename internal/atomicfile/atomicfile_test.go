package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(string, []byte, fs.FileMode) error
	}{
		{"durable", Write},
		{"no sync", WriteNoSync},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cursor")
			if err := tc.write(path, []byte("old"), 0o600); err != nil {
				t.Fatalf("first write: %v", err)
			}
			if err := tc.write(path, []byte("new"), 0o644); err != nil {
				t.Fatalf("second write: %v", err)
			}
			got, err := os.ReadFile(path)
			if err != nil || string(got) != "new" {
				t.Fatalf("file holds %q, %v; want new", got, err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", fi.Mode().Perm())
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 {
				t.Errorf("directory holds %d entries, want only the file: %v", len(entries), entries)
			}
		})
	}
}

// A reader never sees a partial file: while one goroutine replaces the file
// over and over, every read returns one whole version.
func TestReadersSeeWholeVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "doc")
	a, b := strings.Repeat("a", 64<<10), strings.Repeat("b", 64<<10)
	if err := WriteNoSync(path, []byte(a), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			v := a
			if i%2 == 1 {
				v = b
			}
			if err := WriteNoSync(path, []byte(v), 0o644); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 200 {
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(got); s != a && s != b {
			t.Fatalf("read a mix of versions (%d bytes)", len(got))
		}
	}
	wg.Wait()
}

func TestWriteLeavesNoTempOnFailure(t *testing.T) {
	dir := t.TempDir()
	// A directory where the file should be: the rename fails.
	path := filepath.Join(dir, "taken")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("data"), 0o644); err == nil {
		t.Fatal("Write over a non-empty directory succeeded")
	}
	temps, err := filepath.Glob(filepath.Join(dir, "*"+TempSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if len(temps) != 0 {
		t.Errorf("a failed write left %v behind", temps)
	}
}

func TestWriteInMissingDirectory(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "absent", "file"), []byte("x"), 0o644)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Write into a missing directory: %v, want fs.ErrNotExist", err)
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatalf("SyncDir: %v", err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SyncDir of a missing directory: %v, want fs.ErrNotExist", err)
	}
}
