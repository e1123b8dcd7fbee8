package nats

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		want   string // "" for valid
		never  string // what the error must not print
	}{
		{"defaults", func(*Options) {}, "", ""},
		{"no urls", func(o *Options) { o.URLs = nil }, "urls: must name at least one server", ""},
		{"not a url", func(o *Options) { o.URLs = []string{"127.0.0.1:4222"} }, "is not nats://host:port", ""},
		{"credentials in a url", func(o *Options) { o.URLs = []string{"nats://bob:hunter2@n1:4222"} }, "write them in user and password", "hunter2"},
		{"bad stream", func(o *Options) { o.Stream = "a.b" }, `stream: "a.b" must be`, ""},
		{"bad prefix", func(o *Options) { o.SubjectPrefix = "a.>" }, `subject_prefix: "a.>" may hold only`, ""},
		{"empty token", func(o *Options) { o.SubjectPrefix = "a..b" }, "empty token", ""},
		{"replicas", func(o *Options) { o.Replicas = 0 }, "replicas: 0 must be", ""},
		{"max bytes", func(o *Options) { o.MaxBytes = 0 }, "max_bytes: 0 must be", ""},
		{"window past age", func(o *Options) { o.MaxAge = time.Minute }, "duplicate_window: 2m0s must not be longer than max_age", ""},
		{"in flight", func(o *Options) { o.MaxInFlight = 0 }, "max_in_flight: 0 must be", ""},
		{"ack timeout", func(o *Options) { o.AckTimeout = time.Millisecond }, "ack_timeout", ""},
		{"password without user", func(o *Options) { o.Password = "hunter2" }, "user: must be set", "hunter2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.change(o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want it to say %q", err, tc.want)
			}
			if tc.never != "" && strings.Contains(err.Error(), tc.never) {
				t.Errorf("Validate prints %q: %v", tc.never, err)
			}
		})
	}
}

func TestContractSubject(t *testing.T) {
	for _, tc := range []struct{ vendor, name, version, want string }{
		{"com.acme", "checkout", "1-0-2", "accord.good.com_acme.checkout.v1"},
		{"com.acme", "checkout", "2-1-0", "accord.good.com_acme.checkout.v2"},
		{"com.acme", "page view/ü*>", "1-0-0", "accord.good.com_acme.page_view_____.v1"},
		{"", "x", "", "accord.good._.x.v0"},
	} {
		if got := ContractSubject("accord", tc.vendor, tc.name, tc.version); got != tc.want {
			t.Errorf("ContractSubject(%q, %q, %q) = %q, want %q", tc.vendor, tc.name, tc.version, got, tc.want)
		}
	}
	long1 := ContractSubject("accord", "com.acme", strings.Repeat("n", 300)+"a", "1-0-0")
	long2 := ContractSubject("accord", "com.acme", strings.Repeat("n", 300)+"b", "1-0-0")
	if long1 == long2 || subjectProblem(long1) != "" || len(long1) > len("accord.good.com_acme..v1")+maxTokenLen {
		t.Errorf("long names cut: %q and %q (want distinct, valid, the name %d bytes)", long1, long2, maxTokenLen)
	}
}

// FuzzContractSubject holds every contract's subject to five literal
// tokens NATS accepts (no wildcard, no empty token), whatever the
// contract's vendor, name and version hold.
func FuzzContractSubject(f *testing.F) {
	f.Add("com.acme", "checkout", "1-0-0")
	f.Add("", "", "")
	f.Add("..", "\xff/\x00*>", "-1")
	f.Add(strings.Repeat("v", 200), strings.Repeat("n", 200), "99-0-0")
	f.Fuzz(func(t *testing.T, vendor, name, version string) {
		got := ContractSubject("accord", vendor, name, version)
		if p := subjectProblem(got); p != "" {
			t.Fatalf("ContractSubject(%q, %q, %q) = %q, which %s", vendor, name, version, got, p)
		}
		if n := strings.Count(got, "."); n != 4 {
			t.Fatalf("ContractSubject(%q, %q, %q) = %q has %d tokens, want 5", vendor, name, version, got, n+1)
		}
		if again := ContractSubject("accord", vendor, name, version); again != got {
			t.Fatalf("ContractSubject is not deterministic: %q then %q", got, again)
		}
	})
}

func connected(t *testing.T, opts *Options) *Sink {
	t.Helper()
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// Each message carries the record's event id as Nats-Msg-Id, so the same
// batch written twice (a retried write) is stored once; the stream has
// the configured limits.
func TestSubjectsHeadersAndDeduplication(t *testing.T) {
	opts := testOptions(t)
	opts.MaxBytes = 64 << 20
	opts.DuplicateWindow = time.Minute
	s := connected(t, opts)
	recs := sinktest.Records("hd", 9)
	for i := 0; i < 2; i++ {
		if err := s.Write(context.Background(), recs); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	got := stored(t, opts.Stream)
	n := 0
	for subject, msgs := range got {
		for _, m := range msgs {
			n++
			env := decode(t, []*natsgo.Msg{m})[0]
			if id := m.Header.Get(natsgo.MsgIdHdr); id != env.EventID {
				t.Errorf("%s: Nats-Msg-Id %q, event_id %q", subject, id, env.EventID)
			}
			if m.Header.Get(HeaderSchema) != env.Schema || m.Header.Get(HeaderContentType) != ContentType {
				t.Errorf("%s: headers %v", subject, m.Header)
			}
			want := opts.SubjectPrefix + ".failed"
			if env.Valid {
				want = ContractSubject(opts.SubjectPrefix, env.Vendor, env.Name, env.Version)
			}
			if subject != want {
				t.Errorf("record %s on %s, want %s", env.EventID, subject, want)
			}
		}
	}
	if n != len(recs) {
		t.Errorf("stream holds %d messages after writing %d records twice, want %d", n, len(recs), len(recs))
	}
	_, js := testServer(t)
	st, err := js.Stream(context.Background(), opts.Stream)
	if err != nil {
		t.Fatal(err)
	}
	cfg := st.CachedInfo().Config
	if cfg.MaxBytes != opts.MaxBytes || cfg.MaxAge != opts.MaxAge || cfg.Duplicates != opts.DuplicateWindow || cfg.Replicas != 1 {
		t.Errorf("stream config %+v", cfg)
	}
}

// A record over the server's max_payload can never be published: the
// write fails as permanent, and nothing is sent for it.
func TestOversizedRecordIsPermanent(t *testing.T) {
	opts := testOptions(t)
	s := connected(t, opts)
	recs := sinktest.Records("big", 1)
	recs[0].Payload = []byte(`{"x":"` + strings.Repeat("a", int(s.nc.MaxPayload())) + `"}`)
	err := s.Write(context.Background(), recs)
	check.ErrorSays(t, err, "max_payload")
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) {
		t.Fatalf("Write = %v, want a permanent error", err)
	}
}

// The server goes away and comes back (a proxy between the sink and it is
// closed and reopened, connections cut) while writers keep writing with
// retries, as delivery does: afterwards the stream holds every record;
// copies of a retried record are counted, not refused.
func TestServerDownThenUpUnderLoad(t *testing.T) {
	opts := testOptions(t)
	u, err := url.Parse(testServerURL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := check.NewProxy(t, u.Host)
	proxy.Up(t)
	opts.URLs = []string{"nats://" + proxy.Addr}
	opts.AckTimeout = time.Second
	opts.MaxInFlight = 64
	s := connected(t, opts)

	const writers, batches, batchSize = 4, 40, 50
	var failures atomic.Int64
	var wg sync.WaitGroup
	want := map[string]bool{}
	var wantMu sync.Mutex
	done := make(chan struct{})
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				recs := sinktest.Records(fmt.Sprintf("fault-%d-%d", w, b), batchSize)
				wantMu.Lock()
				for _, r := range recs {
					want[r.EventID] = true
				}
				wantMu.Unlock()
				for s.Write(context.Background(), recs) != nil {
					failures.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	for i := 0; i < 3; i++ {
		time.Sleep(150 * time.Millisecond)
		proxy.Down()
		time.Sleep(300 * time.Millisecond)
		proxy.Up(t)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("writers did not finish within 60s of the server's return")
	}
	if failures.Load() == 0 {
		t.Fatal("no write failed: the server never went away under load")
	}
	good, failed := split(t, opts)
	seen := map[string]int{}
	for _, r := range append(good, failed...) {
		seen[r.EventID]++
	}
	duplicates := 0
	for id := range want {
		if seen[id] == 0 {
			t.Errorf("record %s lost", id)
		}
		if seen[id] > 1 {
			duplicates += seen[id] - 1
		}
	}
	if len(seen) != len(want) {
		t.Errorf("stream holds %d distinct records, wrote %d", len(seen), len(want))
	}
	t.Logf("%d records, %d failed writes retried, %d duplicates stored", len(want), failures.Load(), duplicates)
}

// A stream the server cannot hold as asked (three replicas on a server
// without a cluster) fails Connect with the server's answer.
func TestConnectFailsWhenTheStreamCannotBeMade(t *testing.T) {
	opts := testOptions(t)
	opts.Replicas = 3
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Connect(context.Background())
	check.ErrorSays(t, err, "ensure nats stream "+opts.Stream)
	if err := s.Write(context.Background(), sinktest.Records("nc", 1)); err == nil {
		t.Error("Write after a failed Connect succeeded")
	}
}

// A record whose JSON is a little under max_payload but whose message,
// with its headers (schema, content type, Nats-Msg-Id), is over it is
// refused as permanent too: the client refuses it with maximum payload
// exceeded, which was taken for a transient failure and retried for ever,
// stalling the sink. The records beside it in the write are published.
func TestRecordOverMaxPayloadWithHeadersIsPermanent(t *testing.T) {
	opts := testOptions(t)
	s := connected(t, opts)
	recs := sinktest.Records("edge", 3)
	base := len(recs[1].AppendJSON(nil)) - len(recs[1].Payload)
	// The sink's own estimate allows the JSON, the event_id, the schema
	// and 64 bytes: the headers' names and framing are more than that.
	fill := int(s.nc.MaxPayload()) - base - len(recs[1].EventID) - len(recs[1].Schema) - 64 - len(`{"x":""}`)
	recs[1].Payload = []byte(`{"x":"` + strings.Repeat("a", fill) + `"}`)
	err := s.Write(context.Background(), recs)
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) {
		t.Fatalf("Write = %v; want a permanent error, so the record is dead-lettered and the sink goes on", err)
	}
	check.ErrorSays(t, err, "max_payload", "1 of 3")
	n := 0
	for _, msgs := range stored(t, opts.Stream) {
		for _, env := range decode(t, msgs) {
			if env.EventID == recs[1].EventID {
				t.Errorf("the record over max_payload was published")
			}
			n++
		}
	}
	if n != 2 {
		t.Errorf("the stream holds %d records; want the 2 beside the refused one", n)
	}
}
