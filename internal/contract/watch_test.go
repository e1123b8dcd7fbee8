package contract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/testenv"
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
			name: "edited in place",
			change: func(t *testing.T, dir string) {
				path := filepath.Join(dir, "com.acme", "order", "jsonschema", "1-0-0")
				if err := os.WriteFile(path, []byte(testSchema("order", "1-0-0", "sku")), 0o644); err != nil {
					t.Fatal(err)
				}
			},
			want:  cart + " " + v100,
			check: func(r *Set) bool { return validates(r, v100, `{"sku":"a"}`) && !validates(r, v100, `{"id":"a"}`) },
		},
		{
			name: "removed directory",
			change: func(t *testing.T, dir string) {
				if err := os.RemoveAll(filepath.Join(dir, "com.acme", "cart")); err != nil {
					t.Fatal(err)
				}
			},
			want: v100,
		},
		{
			name: "directory moved in",
			change: func(t *testing.T, dir string) {
				// Written under a hidden name, then moved into place whole.
				staged := filepath.Join(dir, ".staging")
				writeContract(t, staged, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
				if err := os.Rename(filepath.Join(staged, "com.acme", "order", "jsonschema", "1-0-1"), filepath.Join(staged, "com.acme", "order", "1-0-1")); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Join(dir, "com.acme", "order")); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(staged, "com.acme", "order"), filepath.Join(dir, "com.acme", "order")); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(filepath.Join(dir, "com.acme", "order", "1-0-1"), filepath.Join(dir, "com.acme", "order", "jsonschema", "1-0-1")); err != nil {
					t.Fatal(err)
				}
			},
			want: cart + " " + v101,
		},
		{
			name: "directory moved within the tree, then a file added",
			change: func(t *testing.T, dir string) {
				// The moved directory's watches go with it; a file added
				// under it afterwards must still be seen.
				if err := os.Rename(filepath.Join(dir, "com.acme"), filepath.Join(dir, "com.acme.old")); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
				if err := os.Rename(filepath.Join(dir, "com.acme.old"), filepath.Join(dir, "com.acme")); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
				writeContract(t, dir, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
			},
			want: cart + " " + v100 + " " + v101,
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
	for _, mode := range watchModes {
		for _, tc := range tests {
			t.Run(mode.name+"/"+tc.name, func(t *testing.T) {
				dir := t.TempDir()
				writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
				writeContract(t, dir, "cart", "1-0-0", testSchema("cart", "1-0-0", "id"))
				logs := &check.Buffer{}
				reg := NewSet(nil)
				w := newWatcher(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.NewTextHandler(logs, nil)), mode.notify)
				defer w.Close()
				if got := keys(reg); got != cart+" "+v100 {
					t.Fatalf("initial load: %s", got)
				}
				mode.check(t, w)
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
}

// watchModes are the two ways the watcher learns of changes: polling, and
// notifications where the system has them (the test's directory must be
// on a filesystem they are trusted for, else the test says so).
var watchModes = []struct {
	name   string
	notify bool
	check  func(*testing.T, *Watcher)
}{
	{name: "poll", check: func(t *testing.T, w *Watcher) {
		if w.currentNotify() != nil {
			t.Fatal("polling watcher watches notifications")
		}
	}},
	{name: "notify", notify: true, check: func(t *testing.T, w *Watcher) {
		if !notifySupported {
			testenv.Missing(t, "no notifications on this system")
		}
		<-w.watched
		if w.currentNotify() == nil {
			testenv.Missing(t, "the test's directory is not on a filesystem notifications are used for")
		}
	}},
}

// orderRefsAddressDoc is contract com.acme/order 1-0-0, whose required
// member address is contract com.acme/address 1-0-0, by $ref.
// addressStreetDoc is contract com.acme/address 1-0-0 whose street is
// at most maxLength characters.
func addressStreetDoc(maxLength int) string {
	return fmt.Sprintf(`{
	"$schema": %q,
	"self": {"vendor": "com.acme", "name": "address", "format": "jsonschema", "version": "1-0-0"},
	"type": "object",
	"properties": {"street": {"type": "string", "maxLength": %d}}
}`, IgluMetaSchemaURI, maxLength)
}

func orderRefsAddressDoc() string {
	return fmt.Sprintf(`{
	"$schema": %q,
	"self": {"vendor": "com.acme", "name": "order", "format": "jsonschema", "version": "1-0-0"},
	"type": "object",
	"properties": {"address": {"$ref": "iglu:com.acme/address/jsonschema/1-0-0"}},
	"required": ["address"]
}`, IgluMetaSchemaURI)
}

// A contract that $refs another is compiled against the other's document,
// so a change to the other (or its arrival) recompiles it too, however the
// watcher learns of the change.
func TestWatcherRecompilesDependents(t *testing.T) {
	const order = "iglu:com.acme/order/jsonschema/1-0-0"
	orderDoc := orderRefsAddressDoc()
	// A chain: address refers to street, so order depends on both.
	addressDoc := func(required string) string {
		return fmt.Sprintf(`{
	"$schema": %q,
	"self": {"vendor": "com.acme", "name": "address", "format": "jsonschema", "version": "1-0-0"},
	"type": "object",
	"properties": {"street": {"$ref": "iglu:com.acme/street/jsonschema/1-0-0"}, "city": {"type": "string"}},
	"required": [%q]
}`, IgluMetaSchemaURI, required)
	}
	streetDoc := func(maxLength int) string {
		return fmt.Sprintf(`{
	"$schema": %q,
	"self": {"vendor": "com.acme", "name": "street", "format": "jsonschema", "version": "1-0-0"},
	"type": "string",
	"maxLength": %d
}`, IgluMetaSchemaURI, maxLength)
	}
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			writeContract(t, dir, "order", "1-0-0", orderDoc)
			reg := NewSet(nil)
			w := newWatcher(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.DiscardHandler), mode.notify)
			defer w.Close()
			if reg.Len() != 0 {
				t.Fatalf("order loaded without the contract it refers to: %s", keys(reg))
			}
			mode.check(t, w)

			// The contracts it refers to arrive: order now compiles.
			writeContract(t, dir, "street", "1-0-0", streetDoc(3))
			writeContract(t, dir, "address", "1-0-0", addressDoc("street"))
			check.Eventually(t, 5*time.Second, "order loads once address and street exist", func() bool {
				return validates(reg, order, `{"address":{"street":"abc"}}`) && !validates(reg, order, `{"address":{"city":"x"}}`)
			})

			// The contract it refers to changes: order follows.
			time.Sleep(20 * time.Millisecond)
			writeContract(t, dir, "address", "1-0-0", addressDoc("city"))
			check.Eventually(t, 5*time.Second, "order follows address's edit", func() bool {
				return validates(reg, order, `{"address":{"city":"x"}}`) && !validates(reg, order, `{"address":{"street":"abc"}}`)
			})

			// One the other refers to changes: order follows too.
			time.Sleep(20 * time.Millisecond)
			writeContract(t, dir, "street", "1-0-0", streetDoc(10))
			check.Eventually(t, 5*time.Second, "order follows street's edit through address", func() bool {
				return validates(reg, order, `{"address":{"city":"x","street":"abcdefgh"}}`)
			})

			// It goes away: address and order keep the versions they
			// compiled to and say why they are not reloaded.
			time.Sleep(20 * time.Millisecond)
			if err := os.RemoveAll(filepath.Join(dir, "com.acme", "street")); err != nil {
				t.Fatal(err)
			}
			check.Eventually(t, 5*time.Second, "address and order reported failing, their last versions kept", func() bool {
				rep, err := w.report()
				return err == nil && len(rep.Failed) == 2 && rep.Failed[0].Kept == "iglu:com.acme/address/jsonschema/1-0-0" && rep.Failed[1].Kept == order &&
					validates(reg, order, `{"address":{"city":"x","street":"abcdefgh"}}`)
			})
		})
	}
}

// The first load lists the tree without watching it; the watches are added
// once Watch is called (NewWatcher calls it at once; accord serve once
// everything else has started), in the background, and the tree walked
// again. A change made
// between the two is served once the watches are in place, with no event
// and no poll to announce it (the interval is an hour), even an edit that
// keeps the file's size and modification time; and when nothing changed,
// that walk replaces nothing.
func TestWatcherSeesChangesBeforeItWatches(t *testing.T) {
	if !notifySupported {
		testenv.Missing(t, "no notifications on this system")
	}
	const (
		order    = "iglu:com.acme/order/jsonschema/1-0-0"
		order101 = "iglu:com.acme/order/jsonschema/1-0-1"
		cart     = "iglu:com.acme/cart/jsonschema/1-0-0"
		refund   = "iglu:com.acme/refund/jsonschema/1-0-0"
	)
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		want   string
		check  func(r *Set) bool
		// reloads is how many reloads replaced the contracts, the first
		// load's included.
		reloads uint64
		// compiled is how many files were compiled once watched: each
		// file's change time is recent (Chtimes sets it), so each is
		// read again, and only one that holds something else than the
		// load compiled is compiled again.
		compiled uint64
	}{
		{name: "nothing", change: func(*testing.T, string) {}, want: cart + " " + order, reloads: 1},
		{
			name: "file added",
			change: func(t *testing.T, dir string) {
				writeContract(t, dir, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
			},
			want:     cart + " " + order + " " + order101,
			reloads:  2,
			compiled: 1,
		},
		{
			name: "directory added",
			change: func(t *testing.T, dir string) {
				writeContract(t, dir, "refund", "1-0-0", testSchema("refund", "1-0-0", "id"))
			},
			want:     cart + " " + order + " " + refund,
			reloads:  2,
			compiled: 1,
		},
		{
			name: "file removed",
			change: func(t *testing.T, dir string) {
				if err := os.Remove(filepath.Join(dir, "com.acme", "cart", "jsonschema", "1-0-0")); err != nil {
					t.Fatal(err)
				}
			},
			want:    order,
			reloads: 2,
		},
		{
			name: "edited in place, same size and modification time (an hour ago)",
			change: func(t *testing.T, dir string) {
				path := filepath.Join(dir, "com.acme", "order", "jsonschema", "1-0-0")
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				body := testSchema("order", "1-0-0", "sk")
				if int64(len(body)) != info.Size() {
					t.Fatalf("the edit is %d bytes, the file %d", len(body), info.Size())
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(path, info.ModTime(), info.ModTime()); err != nil {
					t.Fatal(err)
				}
			},
			want:     cart + " " + order,
			check:    func(r *Set) bool { return validates(r, order, `{"sk":"a"}`) && !validates(r, order, `{"id":"a"}`) },
			reloads:  2,
			compiled: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Written an hour ago, as far as their modification times say.
			hourAgo := time.Now().Add(-time.Hour)
			setModTime(t, hourAgo,
				writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id")),
				writeContract(t, dir, "cart", "1-0-0", testSchema("cart", "1-0-0", "id")))
			reg := NewSet(nil)
			var loaded string
			w := newWatcherPaused(context.Background(), dir, reg, time.Hour, slog.New(slog.DiscardHandler), true)
			defer w.Close()
			loaded = keys(reg)
			compiledAtLoad := w.compiled.Load()
			tc.change(t, dir)
			w.Watch()
			<-w.watched
			if w.currentNotify() == nil {
				testenv.Missing(t, "the test's directory is not on a filesystem notifications are used for")
			}
			if loaded != cart+" "+order {
				t.Fatalf("first load: %s", loaded)
			}
			if got := keys(reg); got != tc.want {
				t.Errorf("once watched, the registry holds %s, want %s", got, tc.want)
			}
			if tc.check != nil && !tc.check(reg) {
				t.Error("the contract served is not the edited one")
			}
			if got := w.Reloads(); got != tc.reloads {
				t.Errorf("%d reloads, want %d", got, tc.reloads)
			}
			if got := w.compiled.Load() - compiledAtLoad; got != tc.compiled {
				t.Errorf("%d files compiled once watched, want %d", got, tc.compiled)
			}
		})
	}
}

// A contract that $refs another is compiled against the other's file as
// its compile read it. When either is edited between the first load and
// the watches (keeping its size and modification time), the walk once
// watched compiles each contract whose own text, or whose referred-to
// text, is not what its last compile read, once, and the edit is served
// with one reload; when nothing is edited, nothing is compiled and
// nothing reloaded, unless the load's compile of the referring contract
// read another text of the referred-to one than the file holds.
func TestWatcherRecheckCompilesDependents(t *testing.T) {
	if !notifySupported {
		testenv.Missing(t, "no notifications on this system")
	}
	const order = "iglu:com.acme/order/jsonschema/1-0-0"
	// orderDoc requires required; its address is address 1-0-0, by $ref.
	orderDoc := func(required string) string {
		return strings.Replace(orderRefsAddressDoc(), `"required": ["address"]`, fmt.Sprintf(`"required": [%q]`, required), 1)
	}
	// sixLetters needs required address and a maxLength of 6 or more;
	// sixLettersSKU, a maxLength of 6 or more whichever is required.
	const (
		sixLetters    = `{"address":{"street":"abcdef"}}`
		sixLettersSKU = `{"address":{"street":"abcdef"},"skuskus":"x"}`
	)
	for _, tc := range []struct {
		name string
		// maxLength is address's once watched (3 at load), required
		// order's (address at load, or another name as long).
		maxLength int
		required  string
		// orderOld: order's last change is long before the load, so
		// it is not read again for its own sake.
		orderOld bool
		// raced: order's compile at load read an address other than
		// the one address's own compile read (address was written in
		// between), which the files do not show.
		raced bool
		// compiled is how many files were compiled once watched, and
		// reloads how many reloads replaced the contracts.
		compiled, reloads uint64
	}{
		{name: "nothing edited", maxLength: 3, required: "address", compiled: 0, reloads: 1},
		{name: "referred-to contract edited", maxLength: 7, required: "address", compiled: 2, reloads: 2},
		{name: "referring contract edited", maxLength: 3, required: "skuskus", compiled: 1, reloads: 2},
		{name: "both edited", maxLength: 7, required: "skuskus", compiled: 2, reloads: 2},
		{name: "referring contract old, nothing edited", maxLength: 3, required: "address", orderOld: true, compiled: 0, reloads: 1},
		{name: "referring contract old, referred-to edited", maxLength: 7, required: "address", orderOld: true, compiled: 2, reloads: 2},
		{name: "load raced an edit of the referred-to contract", maxLength: 3, required: "address", raced: true, compiled: 1, reloads: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			hourAgo := time.Now().Add(-time.Hour)
			address := writeContract(t, dir, "address", "1-0-0", addressStreetDoc(3))
			orderPath := writeContract(t, dir, "order", "1-0-0", orderDoc("address"))
			setModTime(t, hourAgo, address, orderPath)
			reg := NewSet(nil)
			w := newWatcherPaused(context.Background(), dir, reg, time.Hour, slog.New(slog.DiscardHandler), true)
			defer w.Close()
			if reg.Len() != 2 || !validates(reg, order, `{"address":{"street":"abc"}}`) || validates(reg, order, sixLetters) {
				t.Fatalf("first load: %s, or order does not take a three-letter street only", keys(reg))
			}
			if tc.orderOld {
				// Files changed before now are not read again for
				// their own sake; the filesystem's clock may lag.
				w.mu.Lock()
				w.recheckSince = time.Now()
				w.mu.Unlock()
				time.Sleep(50 * time.Millisecond)
			}
			if tc.raced {
				w.mu.Lock()
				f := w.files[orderPath]
				if len(f.refs) != 1 || !f.refs[0].found {
					t.Fatalf("order's compile looked up %+v, want address found", f.refs)
				}
				f.refs = []refRead{{key: f.refs[0].key, found: true}}
				w.files[orderPath] = f
				w.mu.Unlock()
			}
			compiledAtLoad := w.compiled.Load()
			// In place, the same size and modification time.
			edit := func(path, body string) {
				t.Helper()
				info, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if info.Size() != int64(len(body)) {
					t.Fatalf("the edit of %s is %d bytes, the file %d", path, len(body), info.Size())
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
				setModTime(t, hourAgo, path)
			}
			edit(address, addressStreetDoc(tc.maxLength))
			if !tc.orderOld {
				edit(orderPath, orderDoc(tc.required))
			}
			w.Watch()
			<-w.watched
			if w.currentNotify() == nil {
				testenv.Missing(t, "the test's directory is not on a filesystem notifications are used for")
			}
			long := tc.maxLength >= 6
			if got, want := validates(reg, order, sixLetters), long && tc.required == "address"; got != want {
				t.Errorf("once watched, order accepts %s: %v, want %v (address's maxLength %d, order requires %s)", sixLetters, got, want, tc.maxLength, tc.required)
			}
			if got := validates(reg, order, sixLettersSKU); got != long {
				t.Errorf("once watched, order accepts %s: %v, want %v (address's maxLength %d)", sixLettersSKU, got, long, tc.maxLength)
			}
			if got := validates(reg, "iglu:com.acme/address/jsonschema/1-0-0", `{"street":"abcdef"}`); got != long {
				t.Errorf("once watched, address accepts a six-letter street: %v, want %v", got, long)
			}
			if got := w.compiled.Load() - compiledAtLoad; got != tc.compiled {
				t.Errorf("%d files compiled once watched, want %d", got, tc.compiled)
			}
			if got := w.Reloads(); got != tc.reloads {
				t.Errorf("%d reloads, want %d", got, tc.reloads)
			}
		})
	}
}

// A reload compiles a contract that $refs another again when the other
// holds something else than its compile read, not when only the other's
// modification time changed.
func TestWatcherDependentsFollowContent(t *testing.T) {
	const order = "iglu:com.acme/order/jsonschema/1-0-0"
	dir := t.TempDir()
	address := writeContract(t, dir, "address", "1-0-0", addressStreetDoc(3))
	writeContract(t, dir, "order", "1-0-0", orderRefsAddressDoc())
	reg := NewSet(nil)
	// Never told to watch: the test reloads it itself, polling.
	w := newWatcherPaused(context.Background(), dir, reg, time.Hour, slog.New(slog.DiscardHandler), false)
	defer w.Close()
	if _, err := w.reload(false, nil, false); err != nil && !errors.Is(err, errUnchanged) {
		t.Fatal(err) // the first walk, which rechecks what the load read
	}
	for i, step := range []struct {
		name      string
		maxLength int
		// compiled is how many files the reload compiled.
		compiled uint64
	}{
		{name: "address's modification time changed", maxLength: 3, compiled: 1},
		{name: "address edited", maxLength: 7, compiled: 2},
	} {
		compiled := w.compiled.Load()
		if err := os.WriteFile(address, []byte(addressStreetDoc(step.maxLength)), 0o644); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Duration(i+1) * time.Minute)
		if err := os.Chtimes(address, later, later); err != nil {
			t.Fatal(err)
		}
		if _, err := w.reload(false, nil, false); err != nil {
			t.Fatalf("%s: reload: %v", step.name, err)
		}
		if got := w.compiled.Load() - compiled; got != step.compiled {
			t.Errorf("%s: %d files compiled, want %d", step.name, got, step.compiled)
		}
		if got, want := validates(reg, order, `{"address":{"street":"abcdef"}}`), step.maxLength >= 6; got != want {
			t.Errorf("%s: order accepts a six-letter street: %v, want %v", step.name, got, want)
		}
	}
}

// A file that failed to compile at the first load, and was changed shortly
// before it, is read again once watched like any other recent file: it is
// compiled again only if it holds something else than the load read, and
// whether compiled again or not, what the reload reports of it is what its
// content gives.
func TestWatcherRecheckSkipsUnchangedFailure(t *testing.T) {
	if !notifySupported {
		testenv.Missing(t, "no notifications on this system")
	}
	const order = "iglu:com.acme/order/jsonschema/1-0-0"
	good := testSchema("order", "1-0-0", "id")
	// broken is good without its closing brace: the same size, and
	// refused as JSON.
	broken := strings.TrimSuffix(good, "}") + " "
	// alsoBroken is refused for another reason.
	alsoBroken := "[" + strings.Repeat(" ", len(good)-2) + "]"
	for _, tc := range []struct {
		name string
		// edit is what the file holds once watched (broken at load).
		edit string
		// compiled is how many files were compiled once watched, and
		// reloads how many reloads replaced the contracts.
		compiled, reloads uint64
		// failed is a fragment of the file's error once watched; "" when
		// it compiles.
		failed string
	}{
		{name: "unchanged", edit: broken, compiled: 0, reloads: 1, failed: "unexpected end of JSON input"},
		{name: "broken another way", edit: alsoBroken, compiled: 1, reloads: 2, failed: "not a JSON object"},
		{name: "fixed", edit: good, compiled: 1, reloads: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.edit) != len(broken) {
				t.Fatalf("the edit is %d bytes, the broken file %d", len(tc.edit), len(broken))
			}
			dir := t.TempDir()
			hourAgo := time.Now().Add(-time.Hour)
			path := writeContract(t, dir, "order", "1-0-0", broken)
			cart := writeContract(t, dir, "cart", "1-0-0", testSchema("cart", "1-0-0", "id"))
			setModTime(t, hourAgo, path, cart)
			reg := NewSet(nil)
			w := newWatcherPaused(context.Background(), dir, reg, time.Hour, slog.New(slog.DiscardHandler), true)
			defer w.Close()
			rep, err := w.report()
			if err != nil || len(rep.Failed) != 1 || rep.Failed[0].File != path || !strings.Contains(rep.Failed[0].Error, "unexpected end of JSON input") {
				t.Fatalf("first load: %+v, %v; want %s failing", rep, err, path)
			}
			compiledAtLoad := w.compiled.Load()
			// In place, the same size and modification time.
			if err := os.WriteFile(path, []byte(tc.edit), 0o644); err != nil {
				t.Fatal(err)
			}
			setModTime(t, hourAgo, path)
			w.Watch()
			<-w.watched
			if w.currentNotify() == nil {
				testenv.Missing(t, "the test's directory is not on a filesystem notifications are used for")
			}
			rep, err = w.report()
			if err != nil {
				t.Fatal(err)
			}
			if tc.failed == "" {
				if len(rep.Failed) != 0 || !validates(reg, order, `{"id":"a"}`) {
					t.Errorf("once watched: %+v, order served %v; want it fixed and served", rep, validates(reg, order, `{"id":"a"}`))
				}
			} else if len(rep.Failed) != 1 || rep.Failed[0].File != path || !strings.Contains(rep.Failed[0].Error, tc.failed) || reg.Len() != 1 {
				t.Errorf("once watched: %+v, %d served; want %s failing with %q and cart served", rep, reg.Len(), path, tc.failed)
			}
			if got := w.compiled.Load() - compiledAtLoad; got != tc.compiled {
				t.Errorf("%d files compiled once watched, want %d", got, tc.compiled)
			}
			if got := w.Reloads(); got != tc.reloads {
				t.Errorf("%d reloads, want %d", got, tc.reloads)
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
	// Once there, it is watched like any other: a removal and a new
	// version are seen.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 5*time.Second, "the removed directory's contract is gone", func() bool { return reg.Len() == 0 })
	writeContract(t, dir, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
	check.Eventually(t, 5*time.Second, "the directory made again is loaded", func() bool { return keys(reg) == "iglu:com.acme/order/jsonschema/1-0-1" })
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

// A contracts directory that is a symbolic link (swapped by a deploy to a
// new release's directory, say) is polled: notifications would follow the
// directory it named when the watch began.
func TestWatcherPollsSymlinkedDir(t *testing.T) {
	base := t.TempDir()
	release1, release2 := filepath.Join(base, "r1"), filepath.Join(base, "r2")
	writeContract(t, release1, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
	writeContract(t, release2, "order", "1-0-1", testSchema("order", "1-0-1", "id"))
	dir := filepath.Join(base, "contracts")
	if err := os.Symlink(release1, dir); err != nil {
		t.Fatal(err)
	}
	reg := NewSet(nil)
	w := NewWatcher(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.DiscardHandler))
	defer w.Close()
	if got := keys(reg); got != "iglu:com.acme/order/jsonschema/1-0-0" {
		t.Fatalf("initial load: %s", got)
	}
	<-w.watched
	if w.currentNotify() != nil {
		t.Fatal("a symbolically linked directory is watched by notification")
	}
	tmp := filepath.Join(base, ".contracts.tmp")
	if err := os.Symlink(release2, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 5*time.Second, "the new release's contracts are served", func() bool { return keys(reg) == "iglu:com.acme/order/jsonschema/1-0-1" })
}

// Watching "." names files as a walk of "." does ("com.acme/...", no "./"),
// and sees changes in either mode.
func TestWatcherDotDir(t *testing.T) {
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
			writeContract(t, dir, "cart", "1-0-0", `{"self": `)
			t.Chdir(dir)
			reg := NewSet(nil)
			w := newWatcher(context.Background(), ".", reg, 10*time.Millisecond, slog.New(slog.DiscardHandler), mode.notify)
			defer w.Close()
			mode.check(t, w)
			rep, err := w.report()
			if err != nil || len(rep.Failed) != 1 || rep.Failed[0].File != filepath.Join("com.acme", "cart", "jsonschema", "1-0-0") {
				t.Fatalf("report %+v, %v: want com.acme/cart/jsonschema/1-0-0 failing", rep, err)
			}
			time.Sleep(20 * time.Millisecond)
			writeContract(t, ".", "order", "1-0-1", testSchema("order", "1-0-1", "id"))
			check.Eventually(t, 5*time.Second, "the new version is loaded", func() bool {
				return keys(reg) == "iglu:com.acme/order/jsonschema/1-0-0 iglu:com.acme/order/jsonschema/1-0-1"
			})
			// A change the root's own watch reports ("./com.acme").
			if err := os.RemoveAll("com.acme"); err != nil {
				t.Fatal(err)
			}
			check.Eventually(t, 5*time.Second, "the removed vendor's contracts are gone", func() bool { return reg.Len() == 0 })
		})
	}
}

// LoadWatcher loads the contracts and leaves the directory alone until
// Watch: a contract added in between is served once watched (or polled),
// not before; and Close stops a watcher that never watched.
func TestLoadWatcherWatchesOnceToldTo(t *testing.T) {
	const (
		order = "iglu:com.acme/order/jsonschema/1-0-0"
		cart  = "iglu:com.acme/cart/jsonschema/1-0-0"
	)
	for _, mode := range []struct {
		name   string
		notify bool
	}{{"poll", false}, {"notify", true}} {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			writeContract(t, dir, "order", "1-0-0", testSchema("order", "1-0-0", "id"))
			reg := NewSet(nil)
			w := newWatcherPaused(context.Background(), dir, reg, 10*time.Millisecond, slog.New(slog.DiscardHandler), mode.notify)
			defer w.Close()
			writeContract(t, dir, "cart", "1-0-0", testSchema("cart", "1-0-0", "id"))
			time.Sleep(100 * time.Millisecond) // ten intervals
			if got := keys(reg); got != order {
				t.Fatalf("before Watch, the registry holds %s, want %s", got, order)
			}
			w.Watch()
			w.Watch() // again: nothing more
			deadline := time.Now().Add(10 * time.Second)
			for keys(reg) != cart+" "+order {
				if time.Now().After(deadline) {
					t.Fatalf("once watched, the registry holds %s, want %s", keys(reg), cart+" "+order)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	t.Run("closed without watching", func(t *testing.T) {
		w := LoadWatcher(context.Background(), t.TempDir(), NewSet(nil), 10*time.Millisecond, slog.New(slog.DiscardHandler))
		w.Close()
		<-w.watched
	})
}

// setModTime sets the access and modification times of the files at
// paths to at, as if they were last written then.
func setModTime(t testing.TB, at time.Time, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
}
