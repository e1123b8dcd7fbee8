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

func TestWriteSplitsGoodAndFailed(t *testing.T) {
	batch := []*event.Envelope{record("g1", true), record("f1", false), record("g2", true)}
	tests := []struct {
		name       string
		separate   bool
		wantGood   []string
		wantFailed []string
	}{
		{"one stream keeps batch order", false, []string{"g1", "f1", "g2"}, nil},
		{"failed to their own stream", true, []string{"g1", "g2"}, []string{"f1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var good, failed syncBuffer
			s := New(&good, &good)
			if tc.separate {
				s = New(&good, &failed)
			}
			if err := s.Write(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := lines(t, good.buf.Bytes()); strings.Join(got, ",") != strings.Join(tc.wantGood, ",") {
				t.Errorf("good stream has %v, want %v", got, tc.wantGood)
			}
			if got := lines(t, failed.buf.Bytes()); strings.Join(got, ",") != strings.Join(tc.wantFailed, ",") {
				t.Errorf("failed stream has %v, want %v", got, tc.wantFailed)
			}
			if good.writes != 1 {
				t.Errorf("batch took %d writes to the good stream, want 1", good.writes)
			}
			var env event.Envelope
			first, _, _ := bytes.Cut(good.buf.Bytes(), []byte("\n"))
			if err := json.Unmarshal(first, &env); err != nil {
				t.Fatal(err)
			}
			if string(env.Payload) != `{"sku":"SKU-1","note":"line\nbreak"}` {
				t.Errorf("payload = %s", env.Payload)
			}
			if err := s.Write(context.Background(), batch); err == nil {
				t.Error("Write after Close succeeded")
			}
		})
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
