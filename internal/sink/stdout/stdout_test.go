package stdout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/sink"
)

func record(id string, valid bool) *event.Envelope {
	r := &event.Envelope{
		EventID:     id,
		RequestID:   "req-1",
		CollectedAt: event.Time{Time: time.Date(2024, 3, 9, 12, 30, 45, 0, time.UTC)},
		EventTime:   event.Time{Time: time.Date(2024, 3, 9, 12, 30, 44, 0, time.UTC)},
		Protocol:    "selfdesc",
		Schema:      "iglu:com.acme/checkout_completed/jsonschema/1-0-0",
		Vendor:      "com.acme",
		Name:        "checkout_completed",
		Version:     "1-0-0",
		Namespace:   "web",
		Valid:       valid,
		// A payload that spans lines must still make one line.
		Payload:     json.RawMessage("{\n  \"sku\": \"SKU-1\",\n  \"note\": \"line\\nbreak\"\n}"),
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

// syncBuffer is a bytes.Buffer that counts Write calls and may be written
// from several goroutines.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

// lines checks that every line of out is an envelope and returns their
// event ids, in order.
func lines(t *testing.T, out []byte) []string {
	t.Helper()
	if len(out) > 0 && out[len(out)-1] != '\n' {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		eventtest.CheckJSON(t, sc.Bytes())
		var env event.Envelope
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatalf("line is not JSON: %v: %s", err, sc.Bytes())
		}
		ids = append(ids, env.EventID)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// With one writer for both, good and failed records keep the batch's order,
// a batch in one Write call. (Separate streams, and the rest of what a sink
// promises, are the conformance suite's.)
func TestOneStreamKeepsBatchOrder(t *testing.T) {
	batch := []*event.Envelope{record("g1", true), record("f1", false), record("g2", true)}
	var out syncBuffer
	s := New(&out, &out)
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if got := lines(t, out.buf.Bytes()); strings.Join(got, ",") != "g1,f1,g2" {
		t.Errorf("stream has %v, want g1,f1,g2", got)
	}
	if out.writes != 1 {
		t.Errorf("batch took %d writes, want 1", out.writes)
	}
	var env event.Envelope
	first, _, _ := bytes.Cut(out.buf.Bytes(), []byte("\n"))
	if err := json.Unmarshal(first, &env); err != nil {
		t.Fatal(err)
	}
	// A payload that spans lines is written on one.
	if string(env.Payload) != `{"sku":"SKU-1","note":"line\nbreak"}` {
		t.Errorf("payload = %s", env.Payload)
	}
}

func TestConcurrentBatchesDoNotInterleave(t *testing.T) {
	var out syncBuffer
	s := New(&out, &out)
	const writers, batches, perBatch = 6, 30, 25
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := 0; b < batches; b++ {
				batch := make([]*event.Envelope, perBatch)
				for i := range batch {
					batch[i] = record(fmt.Sprintf("w%d-b%d-%03d", w, b, i), i%4 != 0)
				}
				if err := s.Write(context.Background(), batch); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ids := lines(t, out.buf.Bytes())
	if len(ids) != writers*batches*perBatch {
		t.Fatalf("got %d lines, want %d", len(ids), writers*batches*perBatch)
	}
	// Each run of perBatch lines is one whole batch, in order.
	for start := 0; start < len(ids); start += perBatch {
		prefix := ids[start][:strings.LastIndex(ids[start], "-")]
		for i := 0; i < perBatch; i++ {
			if want := fmt.Sprintf("%s-%03d", prefix, i); ids[start+i] != want {
				t.Fatalf("line %d is %s, want %s: batches interleaved", start+i, ids[start+i], want)
			}
		}
	}
}

func TestType(t *testing.T) {
	typ := Type()
	opts, ok := typ.NewOptions().(*Options)
	if !ok || opts.FailedToStderr {
		t.Fatalf("NewOptions = %#v, want *Options with failed_to_stderr false", typ.NewOptions())
	}
	if typ.Name != "stdout" || typ.Doc == "" {
		t.Errorf("Type = %q, %q", typ.Name, typ.Doc)
	}
	opts.FailedToStderr = true
	if err := opts.Validate(); err != nil {
		t.Fatal(err)
	}
	s, err := typ.New(opts, sink.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
