package contract

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/testenv"
)

func refDoc(name, ref string) string {
	return `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
		"self": {"vendor": "com.acme", "name": "` + name + `", "format": "jsonschema", "version": "1-0-0"},
		"type": "object", "properties": {"x": {"$ref": "` + ref + `"}}}`
}

const targetDoc = `{"$schema": "http://iglucentral.com/schemas/com.snowplowanalytics.self-desc/schema/jsonschema/1-0-0#",
	"self": {"vendor": "com.acme", "name": "target", "format": "jsonschema", "version": "1-0-0"},
	"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}`

// A contract's $ref never reads a file or the network: the schema library's
// default loader would open file:// URLs (and block forever on a FIFO).
// TestDirDocumentsStaysInTheDirectory: a $ref key whose vendor is ".."
// would name a file beside the contracts directory; it resolves to nothing.
func TestDirDocumentsStaysInTheDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "contracts")
	outside := filepath.Join(root, "secret", "jsonschema")
	for _, d := range []string{dir, outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "1-0-0"), []byte(`{"type": "string"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := DirDocuments(dir)
	for _, k := range []Key{
		{Vendor: "..", Name: "secret", Format: "jsonschema", Version: SchemaVer{1, 0, 0}},
		{Vendor: ".", Name: "..", Format: "jsonschema", Version: SchemaVer{1, 0, 0}},
	} {
		if doc, ok := docs(k); ok {
			t.Errorf("DirDocuments(%s/%s) read %q from outside the directory", k.Vendor, k.Name, doc)
		}
	}
	_, err := CompileWith([]byte(refDoc("r", "iglu:../secret/jsonschema/1-0-0")), Key{}, "test", docs)
	if !errors.Is(err, ErrRefOutsideRegistry) {
		t.Fatalf("compile with a $ref to ../secret: got %v, want ErrRefOutsideRegistry", err)
	}
}

func TestCompileRefusesRefsOutsideTheRegistry(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.json")
	if err := os.WriteFile(secret, []byte(`{"type": "string"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, ref string }{
		{"existing file", "file://" + secret},
		{"fifo", "file://" + fifo},
		{"proc", "file:///proc/self/fd/1"},
		{"http", "http://127.0.0.1:1/schema.json"},
		{"https", "https://example.com/schema.json"},
		{"iglu central, unknown", "http://iglucentral.com/schemas/com.acme/missing/jsonschema/1-0-0"},
		{"iglu key, unknown", "iglu:com.acme/missing/jsonschema/1-0-0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := CompileWith([]byte(refDoc("r", tc.ref)), Key{}, "test", func(Key) ([]byte, bool) { return nil, false })
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrRefOutsideRegistry) {
					t.Fatalf("compile with $ref %s: got %v, want an error wrapping ErrRefOutsideRegistry", tc.ref, err)
				}
				if !errors.Is(err, ErrInvalidContract) {
					t.Errorf("error %v does not wrap ErrInvalidContract", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("compile with $ref %s did not return", tc.ref)
			}
		})
	}
}

func TestCompileResolvesRefsToOtherContracts(t *testing.T) {
	dir := t.TempDir()
	writeContract(t, dir, "target", "1-0-0", targetDoc)
	for _, ref := range []string{
		"iglu:com.acme/target/jsonschema/1-0-0",
		"http://iglucentral.com/schemas/com.acme/target/jsonschema/1-0-0",
		"https://iglucentral.com/schemas/com.acme/target/jsonschema/1-0-0#",
	} {
		t.Run(ref, func(t *testing.T) {
			c, err := CompileWith([]byte(refDoc("r", ref)), Key{}, "test", DirDocuments(dir))
			if err != nil {
				t.Fatal(err)
			}
			if ms, err := c.ValidateJSON([]byte(`{"x": {"n": 1}}`), ""); err != nil || len(ms) != 0 {
				t.Errorf("valid event refused: %v %v", ms, err)
			}
			if ms, err := c.ValidateJSON([]byte(`{"x": {"n": "one"}}`), ""); err != nil || len(ms) == 0 {
				t.Errorf("event breaking the referenced contract accepted (%v)", err)
			}
		})
	}
	// Without a way to find other contracts, the ref is refused clearly.
	if _, err := Compile([]byte(refDoc("r", "iglu:com.acme/target/jsonschema/1-0-0")), Key{}, "test"); !errors.Is(err, ErrRefOutsideRegistry) {
		t.Errorf("compile without other contracts: got %v", err)
	}
}

// LoadDir resolves refs between the directory's contracts, whatever order
// it reads them in, and refuses a file $ref and a FIFO in the directory
// without blocking.
func TestLoadDirRefsAndFIFO(t *testing.T) {
	dir := t.TempDir()
	writeContract(t, dir, "aaa", "1-0-0", refDoc("aaa", "iglu:com.acme/target/jsonschema/1-0-0"))
	writeContract(t, dir, "target", "1-0-0", targetDoc)
	writeContract(t, dir, "evil", "1-0-0", refDoc("evil", "file:///etc/passwd"))
	fifoDir := filepath.Join(dir, "com.acme", "pipe", "jsonschema")
	if err := os.MkdirAll(fifoDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(fifoDir, "1-0-0"), 0o644); err != nil {
		t.Fatal(err)
	}
	type result struct {
		cs       []*Contract
		problems []*LoadError
		err      error
	}
	done := make(chan result, 1)
	go func() {
		cs, problems, err := LoadDir(dir)
		done <- result{cs, problems, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("LoadDir blocked on a FIFO")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.cs) != 2 {
		t.Errorf("loaded %d contracts, want aaa and target", len(r.cs))
	}
	got := map[string]string{}
	for _, p := range r.problems {
		got[filepath.Base(filepath.Dir(filepath.Dir(p.Path)))] = p.Error()
	}
	if !strings.Contains(got["evil"], "$ref outside the registry") {
		t.Errorf("evil: got %q", got["evil"])
	}
	if !strings.Contains(got["pipe"], "not a regular file") {
		t.Errorf("pipe: got %q", got["pipe"])
	}
}

// readContractFile without the stat before the open (a file the listing
// called regular) reads what os.ReadFile reads, gives the status os.Stat
// gives, and still refuses a FIFO, without blocking, and an oversized file.
func TestReadListedFile(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 511, 512, 4096, 70_000} {
		path := filepath.Join(dir, fmt.Sprint(size))
		want := bytes.Repeat([]byte("x"), size)
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, st, err := readContractFile(path, false)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("size %d: read %d bytes, %v", size, len(got), err)
		}
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st == nil || st.size != info.Size() || !st.modTime.Equal(info.ModTime()) {
			t.Errorf("size %d: status %+v, want size %d, mtime %v", size, st, info.Size(), info.ModTime())
		}
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxContractFile+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := readContractFile(big, false); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		testenv.Missing(t, "no FIFOs here: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := readContractFile(fifo, false); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO blocked")
	}
}
