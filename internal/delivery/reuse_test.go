package delivery

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// copyingSink keeps nothing of what it is handed past a Write
// (sink.KeepsNoStrings): it copies each record's id and JSON, and notes
// where the batch's first envelope and first byte of JSON were.
type copyingSink struct {
	recordingSink
	mu2  sync.Mutex
	ids  []string
	json []string
	// envs and reads are the batches' first envelopes and first bytes
	// read, by address.
	envs, reads map[uintptr]bool
}

func (*copyingSink) KeepsNoStrings() {}

func (s *copyingSink) Write(ctx context.Context, batch []*event.Envelope) error {
	s.mu2.Lock()
	defer s.mu2.Unlock()
	for _, r := range batch {
		s.ids = append(s.ids, strings.Clone(r.EventID))
		s.json = append(s.json, string(r.JSON))
	}
	if s.envs == nil {
		s.envs, s.reads = map[uintptr]bool{}, map[uintptr]bool{}
	}
	s.envs[uintptr(unsafe.Pointer(batch[0]))] = true
	s.reads[uintptr(unsafe.Pointer(unsafe.SliceData(batch[0].JSON)))] = true
	return nil
}

// TestBatchMemoryReusedOnlyForSinksKeepingNothing: the memory a batch was
// read from the spool and decoded into is read into again once a sink
// that keeps nothing of it (sink.KeepsNoStrings) has written it, so a
// runner does not allocate every batch afresh; a sink that keeps what it
// is handed keeps every record intact, batch after batch.
func TestBatchMemoryReusedOnlyForSinksKeepingNothing(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	var want []*event.Envelope
	for i := range 12 {
		recs := records("b"+string(rune('a'+i)), 5)
		want = append(want, recs...)
		enc := make([][]byte, len(recs))
		for j, r := range recs {
			enc[j] = r.AppendJSON(nil)
		}
		if _, err := sp.Append(context.Background(), enc); err != nil {
			t.Fatal(err)
		}
	}
	opts := fastOptions()
	opts.BatchRecords = 5
	copying, keeping := &copyingSink{}, &recordingSink{}
	start(t, Config{Spool: sp},
		Target{Name: "copying", Records: sink.All, Sink: copying, Options: opts},
		Target{Name: "keeping", Records: sink.All, Sink: keeping, Options: opts})
	deadline := time.Now().Add(10 * time.Second)
	for {
		copying.mu2.Lock()
		n := len(copying.ids)
		copying.mu2.Unlock()
		if n == len(want) && len(keeping.ids()) == len(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sinks took %d and %d of %d records", n, len(keeping.ids()), len(want))
		}
		time.Sleep(5 * time.Millisecond)
	}

	copying.mu2.Lock()
	defer copying.mu2.Unlock()
	for i, r := range want {
		if copying.ids[i] != r.EventID || copying.json[i] != string(r.AppendJSON(nil)) {
			t.Fatalf("record %d reached the sink keeping nothing as %s %s; want %s", i, copying.ids[i], copying.json[i], r.EventID)
		}
	}
	// 12 batches: read into at most the memory of the batch written, the
	// one read ahead and one more read while the first is given back.
	if len(copying.envs) > spareBatches+1 || len(copying.reads) > spareBatches+1 {
		t.Errorf("12 batches were decoded into %d places and read into %d; want the memory of at most %d batches reused",
			len(copying.envs), len(copying.reads), spareBatches+1)
	}

	keeping.mu.Lock()
	defer keeping.mu.Unlock()
	got := make([]string, len(keeping.got))
	for i, r := range keeping.got {
		got[i] = r.EventID + " " + string(r.JSON)
	}
	for i, r := range want {
		if w := r.EventID + " " + string(r.AppendJSON(nil)); !slices.Contains(got, w) {
			t.Fatalf("the sink keeping its records no longer holds record %d as written: %s", i, w)
		}
	}
}

// A batch's memory given back keeps one read buffer, however many reads
// the batch took (a batch lingering for records at a paced rate takes
// many), and is kept for at most spareBatches batches.
func TestGiveBackKeepsOneRead(t *testing.T) {
	r := &runner{spare: make(chan *readMemory, spareBatches)}
	var taken []*readMemory
	for range spareBatches + 1 {
		m := r.takeMemory()
		for range 5 {
			m.nextRead()
		}
		taken = append(taken, m)
	}
	for _, m := range taken {
		r.giveBack(m)
	}
	if len(r.spare) != spareBatches {
		t.Fatalf("%d batches' memory kept, want %d", len(r.spare), spareBatches)
	}
	for range spareBatches {
		if m := <-r.spare; len(m.reads) != keptReads || m.used != 0 {
			t.Fatalf("a batch's memory kept %d read buffers (used %d), want %d", len(m.reads), m.used, keptReads)
		}
	}
}

// keepingStagingSink is a staging sink that says it keeps no strings: a
// staging sink keeps what it is handed until it flushes, whatever it says.
type keepingStagingSink struct{ stagingSink }

func (*keepingStagingSink) KeepsNoStrings() {}

// A staging sink's batches are never read into memory given back, even
// when the sink says it keeps no strings: it holds them until its flush
// (sink.KeepsNoStrings).
func TestNoMemoryReusedForAStagingSink(t *testing.T) {
	sp := testSpool(t, t.TempDir(), 1<<30)
	svc := start(t, Config{Spool: sp},
		Target{Name: "staging", Records: sink.All, Sink: &keepingStagingSink{stagingSink{age: time.Hour}}, Options: fastOptions()},
		Target{Name: "copying", Records: sink.All, Sink: &copyingSink{}, Options: fastOptions()})
	for _, r := range svc.runners {
		if reuses := r.takeMemory() != nil; reuses != (r.Name == "copying") {
			t.Errorf("sink %s: batch memory reused %v", r.Name, reuses)
		}
	}
}
