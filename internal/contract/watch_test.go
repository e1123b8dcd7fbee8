package contract

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
)

// testSchema is a contract vendor/name/version whose data must be an object
// with the required property required.
func testSchema(name, version, required string) string {
	return fmt.Sprintf(`{
	"$schema": %q,
	"self": {"vendor": "com.acme", "name": %q, "format": "jsonschema", "version": %q},
	"type": "object",
	"properties": {%q: {"type": "string"}},
	"required": [%q]
}`, IgluMetaSchemaURI, name, version, required, required)
}

func writeContract(t *testing.T, dir, name, version, body string) string {
	t.Helper()
	path := filepath.Join(dir, "com.acme", name, "jsonschema", version)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Written beside it under a hidden name (the watcher skips those) and
	// renamed into place, as an editor or a deploy would: a poll must never
	// catch the file half-written, which would fire Changed on a reload
	// that does not hold it yet.
	tmp := filepath.Join(filepath.Dir(path), "."+version+".tmp")
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func keys(r *Set) string {
	var out []string
	for _, c := range r.Contracts() {
		out = append(out, c.URI)
	}
	return strings.Join(out, " ")
}

func validates(r *Set, key, data string) bool {
	c, err := r.Resolve(key)
	if err != nil {
		return false
	}
	msgs, err := c.ValidateJSON([]byte(data), "/data")
	return err == nil && len(msgs) == 0
}

func TestWatcherReloadsChanges(t *testing.T) {
	const (
		v100 = "iglu:com.acme/order/jsonschema/1-0-0"
		v101 = "iglu:com.acme/order/jsonschema/1-0-1"
		cart = "iglu:com.acme/cart/jsonschema/1-0-0"
	)
	tests := []struct {
		name string
		// change edits the tree, which starts with order 1-0-0 (requiring
		// "id") and cart 1-0-0.
		change func(t *testing.T, dir string)
		// want is the registry's keys once the change is seen.
		want string
		// check holds after the change.
		check func(r *Set) bool
		// log is a fragment the watcher must have logged.
		log string
	}{
		{
			name: "added version",
			change: func(t *testing.T, dir string) {
				writeContract(t, dir, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
			},
			want: cart + " " + v100 + " " + v101,
		},
		{
			name: "edited contract",
			change: func(t *testing.T, dir string) {
				writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "sku"))
			},
			want:  cart + " " + v100,
			check: func(r *Set) bool { return validates(r, v100, `{"sku":"a"}`) && !validates(r, v100, `{"id":"a"}`) },
		},
		{
			name: "removed contract",
			change: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "com.acme", "cart", "jsonschema", "1-0-0")); err != nil {
					t.Fatal(err)
				}
			},
			want: v100,
		},
		{
			name:   "broken edit keeps the earlier version",
			change: func(t *testing.T, dir string) { writeContract(t, dir, "order", "1-0-0", `{"self": `) },
			want:   cart + " " + v100,
			check:  func(r *Set) bool { return validates(r, v100, `{"id":"a"}`) && !validates(r, v100, `{}`) },
			log:    "contract not reloaded; still serving its earlier version",
		},
		{
			name: "broken new file is left out and the rest load",
			change: func(t *testing.T, dir string) {
				writeContract(t, dir, "refund", "1-0-0", `{"type": "object"}`)
				writeContract(t, dir, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
			},
			want: cart + " " + v100 + " " + v101,
			log:  `msg="contract not loaded"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
			writeContract(t, dir, "cart", "1-0-0", testSchema("cart", "1-0-0", "id"))
			logs := &check.Buffer{}
			reg := NewSet(nil)
			w := NewWatcher(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.NewTextHandler(logs, nil)))
			defer w.Close()
			if got := keys(reg); got != cart+" "+v100 {
				t.Fatalf("initial load: %s", got)
			}
			// Let a poll see the first state, and make sure the change gets
			// a new modification time even on coarse-grained filesystems.
			time.Sleep(20 * time.Millisecond)
			tc.change(t, dir)
			// The change is seen when the keys are right and, for changes
			// that keep the keys, the contracts validate as they should.
			check.Eventually(t, 5*time.Second, "the registry holds "+tc.want+" and validates as expected", func() bool {
				return keys(reg) == tc.want && (tc.check == nil || tc.check(reg))
			})
			if tc.log != "" {
				check.Eventually(t, 5*time.Second, "the watcher logs "+tc.log, func() bool { return strings.Contains(logs.String(), tc.log) })
			}
		})
	}
}

func TestWatcherFixedFileIsReloaded(t *testing.T) {
	dir := t.TempDir()
	path := writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
	reg := NewSet(nil)
	w := NewWatcher(context.Background(), dir, reg, 0, slog.New(slog.DiscardHandler))
	defer w.Close()

	if err := os.WriteFile(path, []byte(`not json`), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := w.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != 1 || len(rep.Failed) != 1 || rep.Failed[0].Kept != "iglu:com.acme/order/jsonschema/1-0-0" || rep.Failed[0].File != path {
		t.Fatalf("broken file: report %+v, want 1 loaded and the file failed with 1-0-0 kept", rep)
	}
	if err := os.WriteFile(path, []byte(testSchema("order", "1-0-0", "sku")), 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err = w.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Loaded != 1 || len(rep.Failed) != 0 {
		t.Fatalf("fixed file: report %+v, want 1 loaded and none failed", rep)
	}
	if !validates(reg, "iglu:com.acme/order/jsonschema/1-0-0", `{"sku":"a"}`) {
		t.Error("the fixed contract is not the one served")
	}
}

func TestWatcherMissingDirIsPickedUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "contracts")
	reg := NewSet(nil)
	w := NewWatcher(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	defer w.Close()
	if reg.Len() != 0 {
		t.Fatalf("registry holds %d contracts before the directory exists", reg.Len())
	}
	writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
	check.Eventually(t, 5*time.Second, "the new directory's contract is loaded", func() bool { return reg.Len() == 1 })
}

func TestWatcherCloseStopsPolling(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := NewWatcher(ctx, t.TempDir(), NewSet(nil), 10*time.Millisecond, slog.New(slog.DiscardHandler))
	cancel()
	done := make(chan struct{})
	go func() { w.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return after the context ended")
	}
}

// Changed fires when the watcher swaps in an edit, and not before: a sink
// that derives tables from contracts waits on it.
func TestChangedFiresOnReload(t *testing.T) {
	dir := t.TempDir()
	writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
	reg := NewSet(nil)
	w := NewWatcher(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	defer w.Close()
	changed := reg.Changed()
	if _, err := reg.Resolve("iglu:com.acme/order/jsonschema/1-0-0"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changed:
		t.Fatal("Changed fired with nothing changed")
	case <-time.After(50 * time.Millisecond):
	}
	writeContract(t, dir, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("Changed did not fire after a contract was added")
	}
	if _, err := reg.Resolve("iglu:com.acme/order/jsonschema/1-0-1"); err != nil {
		t.Errorf("after Changed fired: %v", err)
	}
	if next := reg.Changed(); next == changed {
		t.Error("Changed returned the closed channel again")
	}
}
