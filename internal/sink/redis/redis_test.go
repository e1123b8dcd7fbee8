package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
		{"password in url", func(o *Options) { o.URL = "redis://bob:hunter2@cache:6379/1" }, "", ""},
		{"bad scheme keeps the password out", func(o *Options) { o.URL = "http://bob:hunter2@cache:6379/0" }, "url: ", "hunter2"},
		{"bad database keeps the password out", func(o *Options) { o.URL = "redis://bob:hunter2@cache:6379/x" }, "url: ", "hunter2"},
		{"no stream", func(o *Options) { o.Stream = "" }, "stream: must not be empty", ""},
		{"long stream", func(o *Options) { o.FailedStream = strings.Repeat("a", 513) }, "failed_stream: is longer than 512", ""},
		{"same streams", func(o *Options) { o.FailedStream = o.Stream }, `failed_stream: "accord:good" is stream too`, ""},
		{"negative max_len", func(o *Options) { o.MaxLen = -1 }, "max_len: -1 must be", ""},
		{"short timeout", func(o *Options) { o.Timeout = time.Millisecond }, "timeout: 1ms must be", ""},
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

func TestContractStream(t *testing.T) {
	if got := ContractStream("accord:good", "com.acme", "checkout", "2-1-0"); got != "accord:good:com.acme:checkout:v2" {
		t.Errorf("ContractStream = %q", got)
	}
	a := ContractStream("p", strings.Repeat("v", 600), "a", "1-0-0")
	b := ContractStream("p", strings.Repeat("v", 600), "b", "1-0-0")
	if len(a) != maxStreamLen || len(b) != maxStreamLen || a == b {
		t.Errorf("long keys: %d and %d bytes, equal %v; want %d bytes each, different", len(a), len(b), a == b, maxStreamLen)
	}
}

// connected returns a connected sink, closed when the test ends.
func connected(t *testing.T, opts *Options) *Sink {
	t.Helper()
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// One refused XADD in a pipeline fails the Write with that record's kind
// (permanent: the key holds a string), and every other record of the batch
// is stored; each contract's records go to its stream, trimmed.
func TestStreamsPerContractAndOneRefusedRecord(t *testing.T) {
	opts, client := testStreams(t)
	opts.StreamPerContract = true
	s := connected(t, opts)
	recs := sinktest.Records("pc", 6) // records 2 and 5 failed
	recs[1].Vendor, recs[1].Name, recs[1].Version = "com.other", "signup", "3-0-1"
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	checkout := ContractStream(opts.Stream, "com.acme", "checkout", "1-0-0")
	signup := ContractStream(opts.Stream, "com.other", "signup", "3-0-1")
	ids := func(stream string) (out []string) {
		for _, r := range readStream(t, client, stream) {
			out = append(out, r.EventID)
		}
		return out
	}
	for stream, want := range map[string]string{checkout: "pc-000 pc-003 pc-004", signup: "pc-001", opts.FailedStream: "pc-002 pc-005"} {
		if got := strings.Join(ids(stream), " "); got != want {
			t.Errorf("stream %s holds %q, want %q", stream, got, want)
		}
	}

	blocked := ContractStream(opts.Stream, "com.blocked", "x", "1-0-0")
	if err := client.Set(context.Background(), blocked, "not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	recs = sinktest.Records("rf", 3)
	recs[1].Vendor, recs[1].Name = "com.blocked", "x"
	err := s.Write(context.Background(), recs)
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) || !strings.Contains(err.Error(), "1 of 3 records refused") || !strings.Contains(err.Error(), "WRONGTYPE") {
		t.Fatalf("Write with one record to a string key = %v, want a *sink.PermanentError naming 1 of 3 and WRONGTYPE", err)
	}
	if got := strings.Join(ids(checkout), " "); !strings.HasSuffix(got, "rf-000") {
		t.Errorf("the record beside the refused one was not stored: %s holds %q", checkout, got)
	}
	if got := strings.Join(ids(opts.FailedStream), " "); !strings.HasSuffix(got, "rf-002") {
		t.Errorf("the failed record beside the refused one was not stored: %q", got)
	}
}

// MAXLEN ~ N keeps a stream near N entries: never fewer, and past it by
// at most what Redis leaves in a partly filled node (100 entries by
// default, stream-node-max-entries).
func TestMaxLenTrims(t *testing.T) {
	opts, client := testStreams(t)
	opts.MaxLen = 200
	s := connected(t, opts)
	for b := range 20 {
		recs := sinktest.Records(fmt.Sprintf("ml%02d", b), 100)
		for _, r := range recs {
			r.Valid, r.Failure = true, nil
		}
		if err := s.Write(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	n, err := client.XLen(context.Background(), opts.Stream).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n < 200 || n > 200+100 {
		t.Errorf("stream holds %d entries after 2000 added with max_len 200; want 200 to 300", n)
	}
}

func TestServerDownIsTransient(t *testing.T) {
	opts, _ := testStreams(t)
	proxy := check.NewProxy(t, testServerAddr())
	opts.URL = "redis://" + proxy.Addr + "/0"
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err == nil || !strings.Contains(err.Error(), proxy.Addr) {
		t.Fatalf("Connect to a server that is down = %v, want an error naming %s", err, proxy.Addr)
	}
	proxy.Up(t)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	proxy.Down()
	err = s.Write(context.Background(), sinktest.Records("down", 3))
	var permanent *sink.PermanentError
	if err == nil || errors.As(err, &permanent) {
		t.Fatalf("Write with the server down = %v, want a transient error", err)
	}
}

// A password in the URL is never printed, not even when the server
// refuses it.
func TestRefusedPasswordIsRedacted(t *testing.T) {
	opts, _ := testStreams(t)
	opts.URL = "redis://nobody:hunter2@" + testServerAddr() + "/0"
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Connect(context.Background())
	if err == nil {
		t.Fatal("Connect with an unknown user succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Connect prints the password: %v", err)
	}
}

// The server goes away and comes back (the proxy between sink and server
// closes every connection and refuses new ones for a while) while writers
// keep writing, retrying each failed batch whole as delivery does (go-redis
// resends a pipeline cut by the network itself first, so most outages end
// inside one Write): every
// record is in the stream afterwards; duplicates (a batch the server
// stored but whose replies were cut) are counted.
func TestServerGoesAwayAndComesBack(t *testing.T) {
	opts, client := testStreams(t)
	opts.MaxLen = 0
	opts.Timeout = time.Second
	proxy := check.NewProxy(t, testServerAddr())
	proxy.Up(t)
	opts.URL = "redis://" + proxy.Addr + "/0"
	s := connected(t, opts)

	const writers, batches, perBatch = 4, 100, 50
	var acked atomic.Int64 // batches
	var wg sync.WaitGroup
	retries := make([]int, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				recs := sinktest.Records(fmt.Sprintf("w%d-b%03d", w, b), perBatch)
				for _, r := range recs {
					r.Valid, r.Failure = true, nil
				}
				for attempt := 0; ; attempt++ {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := s.Write(ctx, recs)
					cancel()
					if err == nil {
						acked.Add(1)
						break
					}
					retries[w]++
					if attempt > 100 {
						t.Errorf("writer %d batch %d still failing: %v", w, b, err)
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		})
	}
	for round := range 3 {
		check.Eventually(t, 20*time.Second, "batches acknowledged", func() bool { return acked.Load() >= int64((round+1)*writers*batches/5) })
		proxy.Down()
		time.Sleep(500 * time.Millisecond) // the server away: writes fail and are retried
		proxy.Up(t)
	}
	afterReturn := acked.Load()
	wg.Wait()
	if afterReturn == writers*batches {
		t.Error("every batch was acknowledged before the server came back; the test proves nothing about its return")
	}
	if t.Failed() {
		return
	}
	got := readStream(t, client, opts.Stream)
	seen := map[string]int{}
	for _, r := range got {
		seen[r.EventID]++
	}
	for w := range writers {
		for b := range batches {
			for i := range perBatch {
				if id := fmt.Sprintf("w%d-b%03d-%03d", w, b, i); seen[id] == 0 {
					t.Errorf("record %s was acknowledged but is not in the stream", id)
				}
			}
		}
	}
	if len(seen) != writers*batches*perBatch {
		t.Errorf("stored %d distinct records of %d written", len(seen), writers*batches*perBatch)
	}
	t.Logf("%d entries stored (%d duplicates of retried writes), writes retried %v", len(got), len(got)-len(seen), retries)
}

// reply is an error reply as go-redis hands it over.
type reply string

func (r reply) Error() string { return string(r) }
func (reply) RedisError()     {}

func TestErrorReplyClasses(t *testing.T) {
	for _, tc := range []struct {
		err       error
		permanent bool
	}{
		{reply("WRONGTYPE Operation against a key holding the wrong kind of value"), true},
		{reply("ERR syntax error"), true},
		{reply("OOM command not allowed when used memory > 'maxmemory'."), false},
		{reply("LOADING Redis is loading the dataset in memory"), false},
		{reply("READONLY You can't write against a read only replica."), false},
		{reply("BUSY Redis is busy running a script."), false},
		{reply("MOVED 3999 127.0.0.1:6381"), false},
		{fmt.Errorf("dial tcp 127.0.0.1:1: connect: connection refused"), false},
		{context.DeadlineExceeded, false},
	} {
		if got := isPermanent(tc.err); got != tc.permanent {
			t.Errorf("isPermanent(%q) = %v, want %v", tc.err, got, tc.permanent)
		}
	}
}
