package jetstreamlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/spool"
)

// natsURL is the real NATS server with JetStream on this machine, which
// scripts/test starts when it is down.
const natsURL = "nats://127.0.0.1:4222"

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testOptions returns options on a stream of the test's own, deleted after.
func testOptions(t *testing.T) Options {
	t.Helper()
	o := DefaultOptions()
	o.URLs = []string{natsURL}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	o.Stream = "ACCORD_TEST_" + name + fmt.Sprint(time.Now().UnixNano())
	o.SubjectPrefix = "accordtest." + fmt.Sprint(time.Now().UnixNano())
	o.AckWait = 2 * time.Second
	o.Timeout = 5 * time.Second
	t.Cleanup(func() {
		nc, err := natsgo.Connect(natsURL)
		if err != nil {
			return
		}
		defer nc.Close()
		if js, err := jetstream.New(nc); err == nil {
			_ = js.DeleteStream(context.Background(), o.Stream)
		}
	})
	return o
}

func records(from, n int) ([][]byte, []*event.Envelope) {
	var recs [][]byte
	var envs []*event.Envelope
	for i := from; i < from+n; i++ {
		envs = append(envs, &event.Envelope{EventID: fmt.Sprintf("ev-%05d", i), Schema: "iglu:com.example/x/jsonschema/1-0-0"})
		recs = append(recs, []byte(fmt.Sprintf(`{"event_id":"ev-%05d"}`, i)))
	}
	return recs, envs
}

// A record appended twice (a client's resend) is stored once; a reader that
// commits part of what it read and closes leaves the rest to the next
// reader of the same sink, which reads every record not committed.
func TestAppendAndDurableConsumer(t *testing.T) {
	o := testOptions(t)
	l, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Ready(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	recs, envs := records(0, 100)
	for i := 0; i < 2; i++ {
		if err := l.Append(ctx, recs, envs); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := l.Reader("store")
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := a.Next(rctx, 40, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(got[len(got)-1].Offset); err != nil {
		t.Fatal(err)
	}
	more, err := a.Next(rctx, 10, 1<<20) // read, never committed
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	seen := map[string]int{}
	for _, e := range got {
		seen[string(e.Data)]++
	}
	b, _ := l.Reader("store")
	check.Eventually(t, 20*time.Second, "the next reader reads the rest", func() bool {
		nctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		entries, err := b.Next(nctx, 100, 1<<20)
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
		return len(seen) == 100
	})
	for rec, n := range seen {
		if n != 1 {
			t.Errorf("%s read %d times, want once (appended twice, committed once)", rec, n)
		}
	}
	if len(more) == 0 {
		t.Error("the uncommitted read was empty")
	}
}

// A record over the server's max_payload is refused at once as too large;
// past max_in_flight_bytes a request meets backpressure; with no server
// at the address, Open returns and the log is unready, naming it.
func TestAppendRefusals(t *testing.T) {
	o := testOptions(t)
	o.MaxInFlightBytes = 1 << 20
	l, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, envs := records(0, 1)
	if err := l.Append(context.Background(), [][]byte{make([]byte, 2<<20)}, envs); !errors.Is(err, spool.ErrTooLarge) {
		t.Errorf("a record over max_payload: %v, want ErrTooLarge", err)
	}
	l.inFlight.Add(o.MaxInFlightBytes)
	recs, envs := records(0, 1)
	if err := l.Append(context.Background(), recs, envs); !errors.Is(err, spool.ErrFull) {
		t.Errorf("past max_in_flight_bytes: %v, want ErrFull", err)
	}
	l.inFlight.Add(-o.MaxInFlightBytes)

	down := testOptions(t)
	down.URLs = []string{"nats://127.0.0.1:1"}
	down.Timeout = time.Second
	dl, err := Open(down, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	if err := dl.Append(context.Background(), recs, envs); !errors.Is(err, ErrUnavailable) {
		t.Errorf("append with no server: %v, want ErrUnavailable", err)
	}
	check.ErrorSays(t, dl.Ready(), "127.0.0.1:1")
}

// A pull is bounded by bytes as well as records: with large records and a
// small maxBytes, Next hands out about one max_payload's worth, not
// maxRecords of them; a single record larger than maxBytes is still handed
// out (the budget is never below max_payload), so it cannot stall a sink.
func TestNextBoundsBytes(t *testing.T) {
	o := testOptions(t)
	l, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	nc, _, err := l.conn()
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 10
	budget := int(nc.MaxPayload()) + pullSlack
	n := 2*budget/size + 4
	ctx := context.Background()
	_, envs := records(0, n)
	recs := make([][]byte, n)
	for i := range recs {
		recs[i] = []byte(fmt.Sprintf(`{"event_id":"ev-%05d","pad":"%s"}`, i, strings.Repeat("x", size)))
	}
	if err := l.Append(ctx, recs, envs); err != nil {
		t.Fatal(err)
	}
	rd, _ := l.Reader("bounded")
	defer rd.Close()
	seen := map[string]bool{}
	check.Eventually(t, 30*time.Second, "every record read in byte-bounded pulls", func() bool {
		nctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		entries, err := rd.Next(nctx, 1000, 1024) // far below one record
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		bytes := 0
		for _, e := range entries {
			bytes += len(e.Data)
			seen[string(e.Data[:len(`{"event_id":"ev-00000"`)])] = true
		}
		if bytes > budget {
			t.Fatalf("one Next returned %d records, %d bytes; want at most %d bytes (max_payload and slack)", len(entries), bytes, budget)
		}
		if len(entries) > 0 {
			if err := rd.Commit(entries[len(entries)-1].Offset); err != nil {
				t.Fatal(err)
			}
		}
		return len(seen) == n
	})
}
