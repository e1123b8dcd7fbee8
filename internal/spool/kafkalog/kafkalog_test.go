package kafkalog

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/spool"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testOptions(brokers []string) Options {
	o := DefaultOptions()
	o.Brokers = brokers
	o.Partitions = 4
	o.Timeout = 5 * time.Second
	o.SessionTimeout = 6 * time.Second
	return o
}

func openLog(t *testing.T, o Options) *Log {
	t.Helper()
	l, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	check.Eventually(t, 20*time.Second, "the log is ready", func() bool { return l.Ready() == nil })
	return l
}

func records(from, n int) ([][]byte, []*event.Envelope) {
	var recs [][]byte
	var envs []*event.Envelope
	for i := from; i < from+n; i++ {
		env := &event.Envelope{EventID: fmt.Sprintf("ev-%05d", i), Schema: "iglu:com.example/x/jsonschema/1-0-0"}
		env.Identity.AnonymousID = fmt.Sprintf("user-%d", i%7)
		recs = append(recs, []byte(fmt.Sprintf(`{"event_id":"ev-%05d"}`, i)))
		envs = append(envs, env)
	}
	return recs, envs
}

// Two readers of one sink share the partitions; what one committed before
// it closed is not read again by the other, and together they read every
// record appended, each at least once.
func TestAppendAndConsumerGroup(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	l := openLog(t, testOptions(cluster.ListenAddrs()))
	ctx := context.Background()
	const total = 400
	for i := 0; i < total; i += 50 {
		recs, envs := records(i, 50)
		if err := l.Append(ctx, recs, envs); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	read := func(r *Reader, n int) {
		t.Helper()
		for got := 0; got < n; {
			rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			entries, err := r.Next(rctx, 25, 1<<20)
			cancel()
			if err != nil {
				t.Fatalf("next: %v", err)
			}
			for _, e := range entries {
				seen[string(e.Data)]++
			}
			got += len(entries)
			if len(entries) > 0 {
				if err := r.Commit(entries[len(entries)-1].Offset); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	a, err := l.Reader("store")
	if err != nil {
		t.Fatal(err)
	}
	read(a, 100)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := l.Reader("store")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	check.Eventually(t, 30*time.Second, "the second reader reads the rest", func() bool {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		entries, err := b.Next(rctx, 100, 1<<20)
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		for _, e := range entries {
			seen[string(e.Data)]++
		}
		if len(entries) > 0 {
			if err := b.Commit(entries[len(entries)-1].Offset); err != nil {
				t.Fatal(err)
			}
		}
		return len(seen) == total
	})
	for rec, n := range seen {
		if n != 1 {
			t.Errorf("%s read %d times after a clean hand-over, want once", rec, n)
		}
	}
}

// A record larger than max_record_bytes, or than the topic's
// max.message.bytes, is refused at once as too large; a request past
// max_in_flight_bytes meets backpressure; with the brokers away the log is
// unready and Append fails without an acknowledgement.
func TestAppendRefusals(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	o := testOptions(cluster.ListenAddrs())
	// The topic exists with a small max.message.bytes: the log uses it as
	// it is.
	adm, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	small := "2048"
	if _, err := kadm.NewClient(adm).CreateTopic(context.Background(), 1, 1, map[string]*string{"max.message.bytes": &small}, o.Topic); err != nil {
		t.Fatal(err)
	}
	adm.Close()
	o.MaxRecordBytes = 64 << 10
	o.MaxInFlightBytes = 64 << 10
	l := openLog(t, o)
	ctx := context.Background()
	tooLarge := func(err error) bool { return errors.Is(err, spool.ErrTooLarge) }
	_, envs := records(0, 1)
	start := time.Now()
	if err := l.Append(ctx, [][]byte{make([]byte, 70<<10)}, envs); !tooLarge(err) {
		t.Errorf("a record over max_record_bytes: %v, want a too-large error", err)
	}
	pad := make([]byte, 3000)
	_, _ = rand.Read(pad)
	big := []byte(`{"pad":"` + base64.StdEncoding.EncodeToString(pad) + `"}`)
	if err := l.Append(ctx, [][]byte{big}, envs); !tooLarge(err) {
		t.Errorf("a record over the brokers' message.max.bytes: %v, want a too-large error", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the refusals took %s; they should not wait for the timeout", d)
	}

	// Backpressure: hold the bytes in flight at the bound.
	l.inFlight.Add(o.MaxInFlightBytes)
	recs, envs := records(0, 1)
	err = l.Append(ctx, recs, envs)
	if !errors.Is(err, spool.ErrFull) {
		t.Errorf("append past max_in_flight_bytes: %v, want backpressure", err)
	}
	l.inFlight.Add(-o.MaxInFlightBytes)
	if err := l.Append(ctx, recs, envs); err != nil {
		t.Fatalf("append with room again: %v", err)
	}

	// The brokers away: unready, and no acknowledgement.
	cluster.Close()
	check.Eventually(t, 30*time.Second, "the log says the brokers are away", func() bool { return l.Ready() != nil })
	if err := l.Append(ctx, recs, envs); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append with the brokers away: %v, want ErrUnavailable", err)
	}
}

// With no broker at the address at all, Open still succeeds (the
// collector starts), and the log says why it is not ready.
func TestOpenWithBrokersDown(t *testing.T) {
	o := testOptions([]string{"127.0.0.1:1"})
	l, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recs, envs := records(0, 1)
	if err := l.Append(context.Background(), recs, envs); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append: %v, want ErrUnavailable", err)
	}
	check.ErrorSays(t, l.Ready(), "127.0.0.1:1")
}

func TestValidate(t *testing.T) {
	o := DefaultOptions()
	o.Brokers = nil
	o.Topic = "bad topic"
	o.GroupPrefix = ""
	o.SessionTimeout = 500 * time.Millisecond
	o.MaxInFlightBytes = 10
	check.ErrorSays(t, o.Validate(), "brokers", "topic", "group_prefix", "session_timeout", "max_in_flight_bytes")
	if err := DefaultOptions().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// One read holds about a batch: with the sink's batch_bytes at 64 KiB and
// 16 MiB of records waiting, what the reader holds at any time (records
// polled and not handed out, plus what its client buffered from fetches)
// stays within two batches (one being handed out, the next fetched), or
// two producer batches when those are larger (the brokers never split one;
// the producer's are at most max_record_bytes),
// where the client's defaults would buffer a MiB a partition and up to
// 50 MiB a broker. Every record is still read, and a batch not committed
// is read again by the next reader (at least once).
func TestReaderHoldsAboutABatch(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	o := testOptions(cluster.ListenAddrs())
	o.MaxRecordBytes = 256 << 10
	l := openLog(t, o)
	ctx := context.Background()
	const total, size, batchBytes = 2000, 8 << 10, 64 << 10
	// Random, so snappy (the producer's) cannot shrink it: the fetches'
	// bound is in bytes on the wire.
	raw := make([]byte, (size-40)*3/4)
	_, _ = rand.Read(raw)
	pad := base64.StdEncoding.EncodeToString(raw)
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			var err error
			for i := w; i < total && err == nil; i += 8 {
				_, envs := records(i, 1)
				err = l.Append(ctx, [][]byte{fmt.Appendf(nil, `{"event_id":"ev-%05d","pad":"%s"}`, i, pad)}, envs)
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	r, err := l.Reader("store")
	if err != nil {
		t.Fatal(err)
	}
	held := func() int64 {
		r.mu.Lock()
		defer r.mu.Unlock()
		n := r.client.BufferedFetchBytes()
		for _, rec := range r.pending {
			n += int64(len(rec.Value))
		}
		return n
	}
	seen := map[string]bool{}
	var most int64
	var last []spool.Entry
	for len(seen) < total {
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		entries, err := r.Next(rctx, 10000, batchBytes)
		cancel()
		if err != nil {
			t.Fatalf("next after %d records: %v", len(seen), err)
		}
		for range 3 { // the client fetches the next batch behind Next
			most = max(most, held())
			time.Sleep(5 * time.Millisecond)
		}
		for _, e := range entries {
			seen[string(e.Data[:22])] = true
		}
		if len(seen) < total {
			if err := r.Commit(entries[len(entries)-1].Offset); err != nil {
				t.Fatal(err)
			}
		}
		last = entries
	}
	if limit := int64(2*max(batchBytes, o.MaxRecordBytes) + 2*size); most > limit {
		t.Errorf("the reader held up to %d bytes at once; want at most two batches (or producer batches) and a record or two, %d", most, limit)
	}
	// The last batch was not committed: the next reader of the group gets
	// it again, and nothing before it.
	r.Close()
	r2, err := l.Reader("store")
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	want := map[string]bool{}
	for _, e := range last {
		want[string(e.Data)] = true
	}
	for got := 0; got < len(want); {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		entries, err := r2.Next(rctx, 10000, batchBytes)
		cancel()
		if err != nil {
			t.Fatalf("the next reader: %v after %d of the %d uncommitted records", err, got, len(want))
		}
		for _, e := range entries {
			if !want[string(e.Data)] {
				t.Fatalf("the next reader got %s, a record committed before", e.Data[:22])
			}
		}
		got += len(entries)
	}
}
