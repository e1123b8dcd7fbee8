package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/sink"
)

func record(id string, valid bool) *event.Envelope {
	at := time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)
	r := &event.Envelope{
		EventID:     id,
		RequestID:   "req-1",
		CollectedAt: event.Time{Time: at},
		EventTime:   event.Time{Time: at.Add(-time.Second)},
		Protocol:    "selfdesc",
		Schema:      "iglu:com.acme/checkout_completed/jsonschema/1-0-0",
		Vendor:      "com.acme",
		Name:        "checkout_completed",
		Version:     "1-0-0",
		Namespace:   "web",
		Valid:       valid,
		Payload:     json.RawMessage("{\n \"sku\": \"SKU-1\", \"price\": 9.5\n}"),
		Source:      event.Source{IP: "203.0.113.1", UserAgent: "curl/8.0"},
		Collector:   event.Collector{Name: "accord", Version: "0.1.0"},
		Fingerprint: "abc",
	}
	if !valid {
		r.Failure = event.NewFailure(event.PayloadFormatViolation, "body is not JSON")
		r.SetRaw([]byte("not json\n{"))
	}
	return r
}

func batch(prefix string, n int, valid bool) []*event.Envelope {
	out := make([]*event.Envelope, n)
	for i := range out {
		out[i] = record(fmt.Sprintf("%s-%03d", prefix, i), valid)
	}
	return out
}

// readLines checks that path holds whole lines, each an envelope, and
// returns their event ids.
func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end with a newline", path)
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		eventtest.CheckJSON(t, sc.Bytes())
		var env event.Envelope
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatalf("%s: line is not JSON: %v", path, err)
		}
		ids = append(ids, env.EventID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

var rotatedName = regexp.MustCompile(`^(good|failed)-\d{8}T\d{6}\.\d{9}Z\.ndjson$`)

// allFiles returns the rotated files for the kind (good or failed), oldest
// first, and then the current one when it exists.
func allFiles(t *testing.T, dir, kind string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var rotated []string
	current := ""
	for _, e := range entries {
		name := e.Name()
		switch {
		case name == kind+".ndjson":
			current = filepath.Join(dir, name)
		case strings.HasPrefix(name, kind+"-"):
			if !rotatedName.MatchString(name) {
				t.Errorf("rotated file %q is not named <name>-<UTC time>.ndjson", name)
			}
			rotated = append(rotated, filepath.Join(dir, name))
		case strings.HasPrefix(name, "good") || strings.HasPrefix(name, "failed"):
		default:
			t.Errorf("unexpected file %s", name)
		}
	}
	sort.Strings(rotated)
	if current != "" {
		rotated = append(rotated, current)
	}
	return rotated
}

func testOptions(dir string) Options {
	opts := *NewOptions()
	opts.GoodPath = filepath.Join(dir, "good.ndjson")
	opts.FailedPath = filepath.Join(dir, "failed.ndjson")
	return opts
}

func TestReopenAppendsAndEndsPartialLine(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	whole := append(record("old", true).AppendJSON(nil), '\n')
	if err := os.WriteFile(opts.GoodPath, append(whole, `{"event_id":"torn`...), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{record("new", true)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(opts.GoodPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || lines[1] != `{"event_id":"torn` {
		t.Fatalf("file holds %q, want the old line, the torn fragment on its own line, and the new line", lines)
	}
	var env event.Envelope
	if err := json.Unmarshal([]byte(lines[2]), &env); err != nil || env.EventID != "new" {
		t.Fatalf("new line %q: %v", lines[2], err)
	}
}

func TestRotationBySize(t *testing.T) {
	lineLen := int64(len(record("x0-000", true).AppendJSON(nil)) + 1) // every id here is as long
	tests := []struct {
		name     string
		maxBytes int64
		batches  []int // records per batch
		wantMax  int64 // no file larger than this
		files    int   // files in all, rotated and current
	}{
		{"three lines per file", 3 * lineLen, []int{1, 2, 5, 7, 1, 3}, 3 * lineLen, 7},
		{"room for one and a half lines", lineLen * 3 / 2, []int{4, 1, 2}, lineLen, 7},
		{"a line larger than max_bytes stays whole", lineLen / 2, []int{3, 2}, lineLen, 5},
		{"exactly full file", 4 * lineLen, []int{4, 4, 1}, 4 * lineLen, 3},
		{"never", 0, []int{10, 10}, 20 * lineLen, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := testOptions(dir)
			opts.MaxBytes = tc.maxBytes
			opts.Fsync = true
			s, err := Open(opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i, n := range tc.batches {
				b := batch(fmt.Sprintf("x%d", i), n, true)
				for _, r := range b {
					want = append(want, r.EventID)
				}
				if err := s.Write(context.Background(), b); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			var got []string
			files := allFiles(t, dir, "good")
			for _, f := range files {
				info, err := os.Stat(f)
				if err != nil {
					t.Fatal(err)
				}
				if info.Size() > tc.wantMax {
					t.Errorf("%s is %d bytes, more than %d", f, info.Size(), tc.wantMax)
				}
				ids := readLines(t, f)
				if len(ids) == 0 {
					t.Errorf("%s is empty", f)
				}
				got = append(got, ids...)
			}
			// Every line exactly once, and in order across the files.
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("files hold\n%v\nwant\n%v", got, want)
			}
			if len(files) != tc.files {
				t.Errorf("%d files, want %d: %v", len(files), tc.files, files)
			}
		})
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRotationByAgeOnWrite(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MaxAge = time.Hour
	c := &clock{now: time.Date(2024, 3, 9, 10, 0, 0, 0, time.UTC)}
	s, err := open(opts, nil, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	write := func(b []*event.Envelope) {
		t.Helper()
		if err := s.Write(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}
	c.Advance(10 * time.Minute) // an empty file does not age
	write(batch("a", 2, true))  // the file's first line: 10:10
	c.Advance(59 * time.Minute)
	write(batch("b", 2, true)) // 11:09, not yet an hour
	c.Advance(time.Minute)
	write(append(batch("c", 2, true), record("f", false))) // 11:10: rotate good first

	files := allFiles(t, dir, "good")
	if len(files) != 2 {
		t.Fatalf("good files = %v, want one rotated and the current one", files)
	}
	if want := filepath.Join(dir, "good-20240309T111000.000000000Z.ndjson"); files[0] != want {
		t.Errorf("rotated file is %s, want %s", files[0], want)
	}
	if got := strings.Join(readLines(t, files[0]), ","); got != "a-000,a-001,b-000,b-001" {
		t.Errorf("rotated file holds %s", got)
	}
	if got := strings.Join(readLines(t, files[1]), ","); got != "c-000,c-001" {
		t.Errorf("current file holds %s", got)
	}
	// The failed file started at 11:10 and is not rotated with the good one.
	if files := allFiles(t, dir, "failed"); len(files) != 1 {
		t.Errorf("failed files = %v, want just the current one", files)
	}
}

func TestRotationByAgeWithoutWrites(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MaxAge = 100 * time.Millisecond // below minMaxAge, which only Validate enforces
	s, err := open(opts, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.Write(context.Background(), append(batch("a", 3, true), batch("f", 1, false)...)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		good, failed := allFiles(t, dir, "good"), allFiles(t, dir, "failed")
		if len(good) == 1 && len(failed) == 1 && good[0] != opts.GoodPath && failed[0] != opts.FailedPath {
			if got := strings.Join(readLines(t, good[0]), ","); got != "a-000,a-001,a-002" {
				t.Errorf("rotated good file holds %s", got)
			}
			if got := strings.Join(readLines(t, failed[0]), ","); got != "f-000" {
				t.Errorf("rotated failed file holds %s", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("files not rotated by age: good %v, failed %v", good, failed)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Writing after the rotation starts a new file.
	if err := s.Write(context.Background(), batch("b", 1, true)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(readLines(t, opts.GoodPath), ","); got != "b-000" {
		t.Errorf("new good file holds %s", got)
	}
}

func TestConcurrentWritersWithRotation(t *testing.T) {
	dir := t.TempDir()
	opts := testOptions(dir)
	opts.MaxBytes = 8 << 10
	opts.MaxAge = 50 * time.Millisecond
	s, err := open(opts, nil, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	const writers, batches, perBatch = 6, 25, 9
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				recs := make([]*event.Envelope, perBatch)
				for i := range recs {
					recs[i] = record(fmt.Sprintf("w%d-b%d-%d", w, b, i), i%3 != 0)
				}
				if err := s.Write(context.Background(), recs); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, kind := range []string{"good", "failed"} {
		files := allFiles(t, dir, kind)
		if len(files) < 3 {
			t.Errorf("%d %s files, want several rotations", len(files), kind)
		}
		for _, f := range files {
			for _, id := range readLines(t, f) {
				seen[id]++
			}
		}
	}
	for w := 0; w < writers; w++ {
		for b := 0; b < batches; b++ {
			for i := 0; i < perBatch; i++ {
				id := fmt.Sprintf("w%d-b%d-%d", w, b, i)
				if seen[id] != 1 {
					t.Errorf("%s written %d times, want 1", id, seen[id])
				}
			}
		}
	}
	if len(seen) != writers*batches*perBatch {
		t.Errorf("%d distinct records, want %d", len(seen), writers*batches*perBatch)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want []string
	}{
		{"defaults", func(*Options) {}, nil},
		{"rotation off", func(o *Options) { o.MaxBytes, o.MaxAge = 0, 0 }, nil},
		{"hourly", func(o *Options) { o.MaxAge = time.Hour }, nil},
		{"empty good path", func(o *Options) { o.GoodPath = "" }, []string{"good_path: must not be empty", "accord-data/good.ndjson"}},
		{"empty failed path", func(o *Options) { o.FailedPath = "" }, []string{"failed_path: must not be empty"}},
		{"same file", func(o *Options) { o.FailedPath = "accord-data/../accord-data/good.ndjson" }, []string{"failed_path:", "also good_path"}},
		{"negative size", func(o *Options) { o.MaxBytes = -1 }, []string{"max_bytes: -1 is negative", "0 to never rotate"}},
		{"negative age", func(o *Options) { o.MaxAge = -time.Hour }, []string{"max_age: -1h0m0s is negative"}},
		{"age without unit", func(o *Options) { o.MaxAge = 3600 }, []string{"max_age: 3.6µs is shorter than 1s", "such as 1h"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.edit(o)
			err := o.Validate()
			check.ErrorSays(t, err, tc.want...)
		})
	}
}

func TestType(t *testing.T) {
	typ := Type()
	if typ.Name != "file" || typ.Doc == "" {
		t.Fatalf("Type = %q, %q", typ.Name, typ.Doc)
	}
	opts, ok := typ.NewOptions().(*Options)
	if !ok {
		t.Fatalf("NewOptions returned %T", typ.NewOptions())
	}
	want := Options{GoodPath: "accord-data/good.ndjson", FailedPath: "accord-data/failed.ndjson", MaxBytes: 100 << 20}
	if *opts != want {
		t.Errorf("defaults = %+v, want %+v", *opts, want)
	}
	dir := t.TempDir()
	opts.GoodPath = filepath.Join(dir, "good.ndjson")
	opts.FailedPath = filepath.Join(dir, "failed.ndjson")
	s, err := typ.New(opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(opts.GoodPath); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("New created %s (stat: %v)", opts.GoodPath, err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{record("g", true)}); err == nil {
		t.Error("Write before Connect succeeded")
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []*event.Envelope{record("g", true)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := readLines(t, opts.GoodPath); len(got) != 1 {
		t.Errorf("good file holds %v", got)
	}
}
