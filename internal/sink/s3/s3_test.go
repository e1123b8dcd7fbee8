package s3

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/spool"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Options)
		wants []string
	}{
		{"defaults", func(*Options) {}, nil},
		{"endpoint not a URL", func(o *Options) { o.Endpoint = "s3.amazonaws.com" }, []string{"endpoint:", "http(s) URL"}},
		{"endpoint with credentials", func(o *Options) { o.Endpoint = "https://AKID:topsecret@s3.example" }, []string{"endpoint:", "carries credentials"}},
		{"endpoint with a path", func(o *Options) { o.Endpoint = "https://s3.example/bucket" }, []string{"endpoint:", "path"}},
		{"bucket", func(o *Options) { o.Bucket = "Bad_Bucket" }, []string{"bucket:", "not a bucket name"}},
		{"prefix escapes", func(o *Options) { o.Prefix = "a/../b/" }, []string{"prefix:", "'..'"}},
		{"prefix absolute", func(o *Options) { o.Prefix = "/abs/" }, []string{"prefix:", "starts with '/'"}},
		{"half credentials", func(o *Options) { o.AccessKeyID = "AKID" }, []string{"access_key_id:", "both"}},
		{"format", func(o *Options) { o.Format = "csv" }, []string{"format:", "parquet or ndjson"}},
		{"file bytes", func(o *Options) { o.FileBytes = 10 }, []string{"file_bytes:"}},
		{"max age", func(o *Options) { o.MaxAge = time.Millisecond }, []string{"max_age:"}},
		{"open files", func(o *Options) { o.MaxOpenFiles = 0 }, []string{"max_open_files:"}},
		{"buffer below file", func(o *Options) { o.MaxBufferBytes = o.FileBytes - 1 }, []string{"max_buffer_bytes:"}},
		{"compression", func(o *Options) { o.Compression = "lzo" }, []string{"compression:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.edit(o)
			err := o.Validate()
			if tc.wants == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted the options")
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Errorf("error %q prints the password", err)
			}
		})
	}
}

// goodRecord is a good record of contract vendor/name at version, collected at at.
func goodRecord(id, vendor, name, version string, at time.Time, payload string) *event.Envelope {
	return &event.Envelope{EventID: id, CollectedAt: event.Time{Time: at}, Protocol: "selfdesc",
		Schema: "iglu:" + vendor + "/" + name + "/jsonschema/" + version, Vendor: vendor, Name: name, Version: version,
		Valid: true, Payload: json.RawMessage(payload)}
}

// Files are partitioned Hive-style by contract MODEL and the hour of
// collected_at; failed records go under failed/, by hour.
func TestPartitionPaths(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	s := open(t, opts, sink.Deps{})
	at := time.Date(2026, 12, 4, 22, 59, 59, 0, time.UTC)
	recs := []*event.Envelope{
		goodRecord("a", "com.acme", "checkout", "1-0-0", at, `{}`),
		goodRecord("b", "com.acme", "checkout", "1-0-2", at, `{}`),
		goodRecord("c", "com.acme", "checkout", "2-0-0", at, `{}`),
		goodRecord("d", "com.acme", "checkout", "1-0-0", at.Add(time.Second), `{}`),
		{EventID: "e", CollectedAt: event.Time{Time: at}, Valid: false, Failure: event.NewFailure(event.SchemaNotFound, "no such schema")},
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	p := regexp.QuoteMeta(opts.Prefix)
	want := []string{
		p + `failed/date=2026-12-04/hour=22/part-\d{8}T\d{6}Z-[0-9a-f]{8}-\d+\.ndjson\.gz`,
		p + `good/vendor=com\.acme/name=checkout/model=1/date=2026-12-04/hour=22/part-[^/]+\.ndjson\.gz`,
		p + `good/vendor=com\.acme/name=checkout/model=1/date=2026-12-04/hour=23/part-[^/]+\.ndjson\.gz`,
		p + `good/vendor=com\.acme/name=checkout/model=2/date=2026-12-04/hour=22/part-[^/]+\.ndjson\.gz`,
	}
	objs := fake.objects(t, opts.Prefix)
	if len(objs) != len(want) {
		t.Fatalf("objects %v; want %d", objs, len(want))
	}
	for i, o := range objs {
		if !regexp.MustCompile("^" + want[i] + "$").MatchString(o.Key) {
			t.Errorf("object %s does not match %s", o.Key, want[i])
		}
	}
	if got := fake.ndjson(t, objs[1].Key); len(got) != 2 || got[0].EventID != "a" || got[1].EventID != "b" {
		t.Errorf("model 1 hour 22 holds %v; want a and b (1-0-0 and 1-0-2 share a MODEL)", got)
	}
}

// Names that would leave their segment or the prefix are escaped.
func TestHostileNamesStayInTheirPartition(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	s := open(t, opts, sink.Deps{})
	at := time.Date(2026, 12, 4, 1, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 5000)
	recs := []*event.Envelope{
		goodRecord("dots", "..", "..", "1-0-0", at, `{}`),
		goodRecord("slash", "../../etc", "a/b", "1-0-0", at, `{}`),
		goodRecord("equals", "v=1", "name=x/model=9", "1-0-0", at, `{}`),
		goodRecord("control", "a\nb\x00c", "%2e%2e", "1-0-0", at, `{}`),
		goodRecord("empty", "", "", "", at, `{}`),
		goodRecord("long", long, long, "1-0-0", at, `{}`),
	}
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	segment := regexp.MustCompile(`^(vendor|name|model)=[A-Za-z0-9._%-]{1,128}$`)
	seen := map[string]bool{}
	for _, o := range fake.objects(t, "") {
		if !strings.HasPrefix(o.Key, opts.Prefix+"good/") {
			t.Errorf("object %s is outside %sgood/", o.Key, opts.Prefix)
			continue
		}
		if len(o.Key) > 1024 {
			t.Errorf("key of %d bytes is past S3's 1024", len(o.Key))
		}
		parts := strings.Split(strings.TrimPrefix(o.Key, opts.Prefix+"good/"), "/")
		if len(parts) != 6 {
			t.Errorf("object %s has %d segments below good/; want 6", o.Key, len(parts))
			continue
		}
		for _, p := range parts[:3] {
			if !segment.MatchString(p) {
				t.Errorf("segment %q of %s is not an escaped key=value", p, o.Key)
			}
		}
		for _, r := range fake.ndjson(t, o.Key) {
			seen[r.EventID] = true
		}
	}
	for _, r := range recs {
		if !seen[r.EventID] {
			t.Errorf("record %s not stored", r.EventID)
		}
	}
	for in, want := range map[string]string{"..": "..", "a/b": "a%2Fb", "v=1": "v%3D1", "": "__HIVE_DEFAULT_PARTITION__", "a\nb": "a%0Ab", "é": "%C3%A9"} {
		if got := partitionValue(in); got != want {
			t.Errorf("partitionValue(%q) = %q; want %q", in, got, want)
		}
	}
}

// Files roll by size: none passes file_bytes, a larger record is alone,
// and every record is in exactly one object.
func TestRollsBySize(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	opts.FileBytes = 4 << 10
	opts.MaxBufferBytes = 1 << 20
	s := open(t, opts, sink.Deps{})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var recs []*event.Envelope
	for i := range 100 {
		recs = append(recs, goodRecord(fmt.Sprintf("r%03d", i), "com.acme", "checkout", "1-0-0", at, fmt.Sprintf(`{"n":%d,"pad":%q}`, i, strings.Repeat("p", 100))))
	}
	big := goodRecord("big", "com.acme", "checkout", "1-0-0", at, fmt.Sprintf(`{"pad":%q}`, strings.Repeat("b", 10<<10)))
	recs = append(recs[:50:50], append([]*event.Envelope{big}, recs[50:]...)...)
	for i := 0; i < len(recs); i += 10 {
		if err := s.Write(context.Background(), recs[i:min(i+10, len(recs))]); err != nil {
			t.Fatal(err)
		}
	}
	rolled := len(fake.objects(t, opts.Prefix))
	if rolled < 3 {
		t.Errorf("%d objects uploaded by size before any flush; want several", rolled)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, o := range fake.objects(t, opts.Prefix) {
		got := fake.ndjson(t, o.Key)
		var size int64
		for _, r := range got {
			count[r.EventID]++
			size += int64(len(r.AppendJSON(nil))) + 1
		}
		if size > opts.FileBytes && len(got) > 1 {
			t.Errorf("object %s holds %d bytes of records in %d records; file_bytes is %d", o.Key, size, len(got), opts.FileBytes)
		}
		if count["big"] == 1 && len(got) != 1 && containsID(got, "big") {
			t.Errorf("the record larger than file_bytes shares %s with %d others", o.Key, len(got)-1)
		}
	}
	for _, r := range recs {
		if count[r.EventID] != 1 {
			t.Errorf("record %s stored %d times; want once", r.EventID, count[r.EventID])
		}
	}
}

func containsID(recs []*event.Envelope, id string) bool {
	for _, r := range recs {
		if r.EventID == id {
			return true
		}
	}
	return false
}

// Files roll by age on the sink's clock, and Staged counts a Write stored
// only once each of its records is in an uploaded object.
func TestRollsByAgeAndStagesUntilUploaded(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	opts.MaxAge = time.Minute
	s := open(t, opts, sink.Deps{})
	clk := newClock()
	s.SetClock(clk.Now)
	at := clk.Now()
	if !s.Due().IsZero() {
		t.Fatalf("Due = %v with nothing held; want zero", s.Due())
	}
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("a1", "com.acme", "a", "1-0-0", at, `{}`)}); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Second)
	if err := s.Write(context.Background(), []*event.Envelope{goodRecord("b1", "com.acme", "b", "1-0-0", at, `{}`), goodRecord("a2", "com.acme", "a", "1-0-0", at, `{}`)}); err != nil {
		t.Fatal(err)
	}
	if taken, stored := s.Staged(); taken != 2 || stored != 0 {
		t.Fatalf("Staged = %d, %d before any upload; want 2, 0", taken, stored)
	}
	if want := at.Add(time.Minute); !s.Due().Equal(want) {
		t.Errorf("Due = %v; want %v (the oldest file's first record plus max_age)", s.Due(), want)
	}
	if err := s.Flush(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.objects(t, opts.Prefix)); n != 0 {
		t.Fatalf("%d objects before max_age; want 0", n)
	}
	clk.Add(30 * time.Second) // file a is a minute old, b half a minute
	if err := s.Flush(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	objs := fake.objects(t, opts.Prefix)
	if len(objs) != 1 || !strings.Contains(objs[0].Key, "name=a/") {
		t.Fatalf("objects after a minute: %v; want file a only", objs)
	}
	// Write 2 also put b1 in file b, not yet uploaded: only write 1 is stored.
	if taken, stored := s.Staged(); taken != 2 || stored != 1 {
		t.Errorf("Staged = %d, %d with file b held; want 2, 1", taken, stored)
	}
	clk.Add(30 * time.Second)
	if err := s.Flush(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if taken, stored := s.Staged(); taken != 2 || stored != 2 {
		t.Errorf("Staged = %d, %d with every file uploaded; want 2, 2", taken, stored)
	}
	if !s.Due().IsZero() {
		t.Errorf("Due = %v with nothing held; want zero", s.Due())
	}
}

// A reader listing the bucket while an upload is under way never sees the
// object: it appears whole once the single PUT, or the multipart upload's
// completion, is done.
func TestNoPartialObjectIsVisible(t *testing.T) {
	for _, tc := range []struct {
		name string
		// size of incompressible payload: below and above the 5 MiB
		// part size (a single PUT, a multipart upload).
		size int
	}{
		{"single put", 256 << 10},
		{"multipart", 7 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFake(t)
			opts := fake.options(FormatNDJSON)
			opts.FileBytes = 64 << 20
			opts.MaxBufferBytes = 128 << 20
			s := open(t, opts, sink.Deps{})
			held := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			var multipart atomic.Bool
			fake.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Query().Get("uploadId") != "" {
					multipart.Store(true)
				}
				// The last request of an upload: the PUT of a single
				// object, or the POST completing a multipart one.
				last := (r.Method == http.MethodPut && r.URL.Query().Get("uploadId") == "") ||
					(r.Method == http.MethodPost && r.URL.Query().Get("uploadId") != "")
				if last && strings.Contains(r.URL.Path, opts.Prefix) {
					once.Do(func() { close(held) })
					<-release
				}
				return false
			})
			pad := make([]byte, tc.size*3/4)
			_, _ = rand.Read(pad)
			rec := goodRecord("big", "com.acme", "checkout", "1-0-0", time.Now(), fmt.Sprintf(`{"pad":%q}`, base64.StdEncoding.EncodeToString(pad)))
			if err := s.Write(context.Background(), []*event.Envelope{rec}); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.Flush(context.Background(), true) }()
			select {
			case <-held:
			case <-time.After(30 * time.Second):
				t.Fatal("the upload never reached the store")
			}
			if objs := fake.objects(t, opts.Prefix); len(objs) != 0 {
				t.Errorf("objects visible during the upload: %v", objs)
			}
			close(release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			objs := fake.objects(t, opts.Prefix)
			if len(objs) != 1 {
				t.Fatalf("objects after the upload: %v; want 1", objs)
			}
			got := fake.ndjson(t, objs[0].Key)
			if len(got) != 1 || string(got[0].Payload) != string(rec.Payload) {
				t.Errorf("the object does not hold the record whole")
			}
			if want := tc.size > partSize; multipart.Load() != want {
				t.Errorf("multipart upload used: %v; want %v", multipart.Load(), want)
			}
		})
	}
}

// A store that refuses the upload (here: access denied) fails the Flush
// with an error that names neither the secret nor the key id.
func TestCredentialsAreNeverInErrors(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	s := open(t, opts, sink.Deps{})
	fake.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPut {
			return false
		}
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		// A store echoing what it was sent, credentials included.
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>key %s secret %s refused; Authorization: %s</Message></Error>`,
			testKeyID, testSecret, r.Header.Get("Authorization"))
		return true
	})
	if err := s.Write(context.Background(), sinktest.Records("cred", 3)); err != nil {
		t.Fatal(err)
	}
	err := s.Flush(context.Background(), true)
	if err == nil {
		t.Fatal("Flush succeeded against a store refusing every PUT")
	}
	for _, secret := range []string{testSecret, testKeyID} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error prints a credential: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "upload") {
		t.Errorf("error %q does not say what failed", err)
	}
	// A wrong endpoint at connect does not print them either.
	bad := *opts
	bad.Endpoint = "http://127.0.0.1:1"
	s2, _ := New(bad, sink.Deps{})
	if err := s2.Connect(context.Background()); err == nil || strings.Contains(err.Error(), testSecret) {
		t.Errorf("Connect to nothing: %v", err)
	}
}

// Many contracts at once: open files stay within max_open_files (the
// oldest is uploaded to make room) and what the sink holds within
// max_buffer_bytes plus one batch; every record is stored once.
func TestManyContractsStayWithinTheBounds(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	opts.MaxOpenFiles = 8
	opts.FileBytes = 16 << 10
	opts.MaxBufferBytes = 64 << 10
	s := open(t, opts, sink.Deps{})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	const contracts, perContract = 200, 3
	var all []*event.Envelope
	for round := range perContract {
		var batch []*event.Envelope
		for c := range contracts {
			batch = append(batch, goodRecord(fmt.Sprintf("c%03d-%d", c, round), "com.acme", fmt.Sprintf("contract%03d", c), "1-0-0", at, `{"pad":"`+strings.Repeat("x", 200)+`"}`))
		}
		for i := 0; i < len(batch); i += 50 {
			if err := s.Write(context.Background(), batch[i:i+50]); err != nil {
				t.Fatal(err)
			}
			s.mu.Lock()
			open, held := len(s.open), s.buffered
			s.mu.Unlock()
			if open > opts.MaxOpenFiles {
				t.Fatalf("%d files open; max_open_files is %d", open, opts.MaxOpenFiles)
			}
			if held > opts.MaxBufferBytes {
				t.Fatalf("%d bytes held; max_buffer_bytes is %d", held, opts.MaxBufferBytes)
			}
		}
		all = append(all, batch...)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	good, _ := fake.stored(t, opts.Prefix)
	for _, r := range good {
		count[r.EventID]++
	}
	for _, r := range all {
		if count[r.EventID] != 1 {
			t.Errorf("record %s stored %d times", r.EventID, count[r.EventID])
		}
	}
}

// A huge record (8 MiB) is stored whole, in a file of its own.
func TestHugeRecord(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	opts.FileBytes = 1 << 20
	opts.MaxBufferBytes = 4 << 20
	s := open(t, opts, sink.Deps{})
	at := time.Now()
	huge := goodRecord("huge", "com.acme", "checkout", "1-0-0", at, fmt.Sprintf(`{"pad":%q}`, strings.Repeat("h", 8<<20)))
	small := goodRecord("small", "com.acme", "checkout", "1-0-0", at, `{}`)
	if err := s.Write(context.Background(), []*event.Envelope{small, huge, small}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	var files [][]string
	for _, o := range fake.objects(t, opts.Prefix) {
		var ids []string
		for _, r := range fake.ndjson(t, o.Key) {
			ids = append(ids, r.EventID)
			if r.EventID == "huge" && len(r.Payload) != len(huge.Payload) {
				t.Errorf("huge record stored with %d payload bytes; want %d", len(r.Payload), len(huge.Payload))
			}
		}
		files = append(files, ids)
	}
	if fmt.Sprint(files) != "[[small] [huge] [small]]" && fmt.Sprint(files) != "[[small] [small] [huge]]" && fmt.Sprint(files) != "[[huge] [small] [small]]" {
		t.Errorf("files hold %v; want the huge record alone", files)
	}
}

// The store away and back under load, through a proxy that cuts every
// connection: Writes fail while the rolled files cannot be uploaded (so
// the sink takes nothing more), and once the store is back everything
// taken is uploaded. Nothing is lost; duplicates are counted.
func TestStoreAwayThenBack(t *testing.T) {
	fake := newFake(t)
	proxy := check.NewProxy(t, strings.TrimPrefix(fake.srv.URL, "http://"))
	proxy.Up(t)
	opts := fake.options(FormatNDJSON)
	opts.Endpoint = "http://" + proxy.Addr
	opts.FileBytes = 8 << 10
	opts.Timeout = 2 * time.Second
	s := open(t, opts, sink.Deps{})

	const batches, perBatch = 300, 20
	var mu sync.Mutex
	acked := 0
	failures := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range batches {
			recs := sinktest.Records(fmt.Sprintf("b%03d", b), perBatch)
			for attempt := 0; ; attempt++ {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := s.Write(ctx, recs)
				if err == nil {
					// What the runner does when the sink says so.
					if due := s.Due(); !due.IsZero() && !due.After(time.Now()) {
						err = s.Flush(ctx, false)
						if err != nil {
							mu.Lock()
							failures++
							mu.Unlock()
						}
					}
					cancel()
					mu.Lock()
					acked++
					mu.Unlock()
					break
				}
				cancel()
				mu.Lock()
				failures++
				mu.Unlock()
				if attempt > 200 {
					t.Errorf("batch %d still failing: %v", b, err)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()
	for round := range 3 {
		check.Eventually(t, 30*time.Second, "batches taken", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return acked >= (round+1)*batches/5
		})
		proxy.Down()
		time.Sleep(300 * time.Millisecond) // the store away: uploads fail and are retried
		proxy.Up(t)
	}
	<-done
	for attempt := 0; ; attempt++ {
		err := s.Flush(context.Background(), true)
		if err == nil {
			break
		}
		if attempt > 50 {
			t.Fatalf("final flush: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if taken, stored := s.Staged(); taken != stored {
		t.Errorf("Staged = %d, %d after the final flush", taken, stored)
	}
	if failures == 0 {
		t.Error("no write or flush failed: the test proves nothing about the store going away")
	}
	good, failed := fake.stored(t, opts.Prefix)
	seen := map[string]int{}
	for _, r := range append(good, failed...) {
		seen[r.EventID]++
	}
	for b := range batches {
		for i := range perBatch {
			if id := fmt.Sprintf("b%03d-%03d", b, i); seen[id] == 0 {
				t.Errorf("record %s was taken but is not stored", id)
			}
		}
	}
	t.Logf("%d records stored, %d distinct; %d failed writes or flushes", len(good)+len(failed), len(seen), failures)
}

// The store away and back under load, through delivery as the collector
// runs the sink: records appended to a spool, the runner writing, rolling
// and flushing, the proxy cutting every connection three times. After the
// drain every record appended is in an object, and the cursor passed them
// all.
func TestStoreAwayThenBackThroughDelivery(t *testing.T) {
	fake := newFake(t)
	proxy := check.NewProxy(t, strings.TrimPrefix(fake.srv.URL, "http://"))
	proxy.Up(t)
	opts := fake.options(FormatNDJSON)
	opts.Endpoint = "http://" + proxy.Addr
	opts.FileBytes = 16 << 10
	opts.MaxAge = time.Second
	opts.Timeout = 2 * time.Second
	s, err := New(*opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	so := spool.DefaultOptions()
	so.Dir = t.TempDir()
	quiet := slog.New(slog.DiscardHandler)
	sp, err := spool.Open(so, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	do := delivery.DefaultOptions()
	do.BackoffMin, do.BackoffMax = 10*time.Millisecond, 200*time.Millisecond
	svc, err := delivery.Start(delivery.Config{Spool: sp, Logger: quiet, DeadLetterDir: t.TempDir()},
		[]delivery.Target{{Name: "lake", Records: sink.All, Sink: s, Options: do}})
	if err != nil {
		t.Fatal(err)
	}
	const requests, perRequest = 200, 25
	appended := make(chan int, 1)
	go func() {
		n := 0
		for r := range requests {
			if err := svc.Deliver(context.Background(), sinktest.Records(fmt.Sprintf("q%03d", r), perRequest)); err != nil {
				t.Errorf("Deliver: %v", err)
				break
			}
			n++
			time.Sleep(2 * time.Millisecond)
		}
		appended <- n
	}()
	sawLag := false
	for range 3 {
		time.Sleep(150 * time.Millisecond)
		proxy.Down()
		time.Sleep(400 * time.Millisecond) // the store away: uploads fail, the runner retries
		if svc.Stats().Sinks[0].LagRecords > 0 {
			sawLag = true
		}
		proxy.Up(t)
	}
	n := <-appended
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := svc.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !sawLag {
		t.Error("the sink never lagged while the store was away: the test proves nothing")
	}
	good, failed := fake.stored(t, opts.Prefix)
	seen := map[string]int{}
	for _, r := range append(good, failed...) {
		seen[r.EventID]++
	}
	for r := range n {
		for i := range perRequest {
			if id := fmt.Sprintf("q%03d-%03d", r, i); seen[id] == 0 {
				t.Errorf("record %s was appended to the spool but is in no object", id)
			}
		}
	}
	if st := svc.Stats().Sinks[0]; st.LagRecords != 0 || st.DeadLettered != 0 {
		t.Errorf("after the drain: lag %d, dead-lettered %d; want 0 and 0", st.LagRecords, st.DeadLettered)
	}
	t.Logf("%d records appended, %d stored (%d distinct), %d retries", n*perRequest, len(good)+len(failed), len(seen), svc.Stats().Sinks[0].Retried)
}

// An open NDJSON file costs its gzip compressor's state besides the
// records it holds: under 1 MiB each, as docs/sinks/s3.md says.
func TestMemoryPerOpenFile(t *testing.T) {
	fake := newFake(t)
	opts := fake.options(FormatNDJSON)
	opts.MaxOpenFiles = 64
	s := open(t, opts, sink.Deps{})
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	var batch []*event.Envelope
	for c := range opts.MaxOpenFiles {
		batch = append(batch, goodRecord(fmt.Sprintf("m%02d", c), "com.acme", fmt.Sprintf("c%02d", c), "1-0-0", at, `{}`))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	s.mu.Lock()
	open := len(s.open)
	s.mu.Unlock()
	if open != opts.MaxOpenFiles {
		t.Fatalf("%d files open; want %d", open, opts.MaxOpenFiles)
	}
	per := (int64(after.HeapInuse) - int64(before.HeapInuse)) / int64(open)
	if per > 1<<20 {
		t.Errorf("an open NDJSON file holds %d bytes; docs/sinks/s3.md says under 1 MiB", per)
	}
	t.Logf("%d bytes per open NDJSON file", per)
}
