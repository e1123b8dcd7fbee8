package jetstreamlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// natsServer runs a nats-server of the test's own (the machine's binary,
// the same real server as on 127.0.0.1:4222) with JetStream and the
// given max_payload, and returns its URL and a function that lowers its
// max_payload by a configuration reload, as an operator would. The
// shared server's configuration is not the test's to change.
func natsServer(t *testing.T, maxPayload int) (url string, reload func(maxPayload int)) {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		t.Fatalf("nats-server is not installed: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "nats.conf")
	write := func(maxPayload int) {
		c := fmt.Sprintf("listen: %s\nmax_payload: %d\njetstream { store_dir: %q }\n", addr, maxPayload, filepath.Join(dir, "js"))
		if err := os.WriteFile(conf, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(maxPayload)
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url = "nats://" + addr
	connectMax := func() int64 {
		nc, err := natsgo.Connect(url)
		if err != nil {
			return 0
		}
		defer nc.Close()
		return nc.MaxPayload()
	}
	check.Eventually(t, 20*time.Second, "the test's nats-server answers", func() bool { return connectMax() == int64(maxPayload) })
	return url, func(maxPayload int) {
		write(maxPayload)
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		check.Eventually(t, 20*time.Second, "max_payload reloaded", func() bool { return connectMax() == int64(maxPayload) })
	}
}

// A record larger than any pull's budget (stored before the server's
// max_payload was lowered) does not stall a sink: the reader hands it out
// alone, and then the records after it. Before, the server refused every
// pull with 409 Message Size Exceeds MaxBytes, which the client reports
// as no messages, and Next waited for ever.
func TestRecordOverPullBudgetDoesNotStall(t *testing.T) {
	url, reload := natsServer(t, 1<<20)
	o := testOptions(t)
	o.URLs = []string{url}
	l, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Ready(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := []byte(`{"event_id":"ev-big","pad":"` + strings.Repeat("x", 700<<10) + `"}`)
	_, envs := records(0, 1)
	envs[0].EventID = "ev-big"
	if err := l.Append(ctx, [][]byte{big}, envs); err != nil {
		t.Fatal(err)
	}
	recs, envs := records(1, 3)
	if err := l.Append(ctx, recs, envs); err != nil {
		t.Fatal(err)
	}
	l.Close()
	// max_payload lowered to 128 KiB: a pull's budget is now 192 KiB, and
	// the 700 KiB record is over it. A loader starting now reads the log.
	reload(128 << 10)
	l2, err := Open(o, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	rd, _ := l2.Reader("store")
	defer rd.Close()
	var got []string
	for len(got) < 4 {
		nctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		entries, err := rd.Next(nctx, 100, 64<<10)
		cancel()
		if err != nil {
			t.Fatalf("Next after %v: %v; want the large record handed out, then the rest", got, err)
		}
		for _, e := range entries {
			got = append(got, string(e.Data[:min(len(e.Data), 20)]))
		}
		if err := rd.Commit(entries[len(entries)-1].Offset); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{`{"event_id":"ev-big"`, `{"event_id":"ev-0000`, `{"event_id":"ev-0000`, `{"event_id":"ev-0000`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("read %q; want %q", got, want)
	}
}
