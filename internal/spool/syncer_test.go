package spool

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

// big is a record that makes a group the syncer takes.
func big(tag string) []byte { return record(tag, 0, syncBehindBytes) }

// bigOptions are testOptions with segments that hold a few big records.
func bigOptions(t *testing.T) Options {
	o := testOptions(t.TempDir())
	o.SegmentBytes = 8 * syncBehindBytes
	return o
}

// appendInBackground appends data as one batch on its own goroutine and
// returns a channel that gets the result; written is closed once the
// spool has written the batch (released its frames).
func appendInBackground(s *Spool, data []byte) (result <-chan error, written <-chan struct{}) {
	res, w := make(chan error, 1), make(chan struct{})
	go func() {
		_, err := s.AppendFrames(context.Background(), framesOf(data), func(*Frames) { close(w) })
		res <- err
	}()
	return res, w
}

// TestWriterWritesWhileSyncerSyncs: with fsync batch the next group is
// written while the one before is being synced, and neither is answered
// or readable before its own fsync: readers see durable records only.
func TestWriterWritesWhileSyncerSyncs(t *testing.T) {
	s := openSpool(t, bigOptions(t), nil)
	r := mustReader(t, s, "sink")
	gate := gate(t, s)

	first, _ := appendInBackground(s, big("first"))
	<-gate.entered // the first group's fsync is under way
	second, written := appendInBackground(s, big("second"))
	select {
	case <-written:
	case <-time.After(5 * time.Second):
		t.Fatal("the second group was not written while the first was being synced")
	}
	for name, res := range map[string]<-chan error{"first": first, "second": second} {
		select {
		case err := <-res:
			t.Fatalf("the %s append returned (%v) before its fsync", name, err)
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if es, err := r.Next(ctx, 10, 0); len(es) > 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next before any fsync = %v, %v; want nothing until the records are durable", es, err)
	}
	if got := s.Stats().NextOffset; got != 1 {
		t.Fatalf("next offset %d before any fsync, want 1", got)
	}

	gate.proceed <- nil // the first group's fsync
	if err := <-first; err != nil {
		t.Fatalf("first append: %v", err)
	}
	<-gate.entered // the second group's own
	select {
	case err := <-second:
		t.Fatalf("the second append returned (%v) with the first group's fsync, before its own", err)
	default:
	}
	gate.proceed <- nil
	if err := <-second; err != nil {
		t.Fatalf("second append: %v", err)
	}
	es := readN(t, r, 2, 10, 0)
	for i, want := range [][]byte{big("first"), big("second")} {
		if es[i].Offset != Offset(i+1) || !bytes.Equal(es[i].Data, want) {
			t.Fatalf("record %d is %d %.20q..., want %d %.20q...", i, es[i].Offset, es[i].Data, i+1, want)
		}
	}
}

// TestFailedFsyncFailsTheGroupWrittenMeanwhile: when the fsync of one
// group fails, the group written while it ran fails too, without an fsync
// of its own (the page cache is not to be trusted after a failed one), and
// so does every later append, until a restart.
func TestFailedFsyncFailsTheGroupWrittenMeanwhile(t *testing.T) {
	s := openSpool(t, bigOptions(t), nil)
	gate := gate(t, s)

	first, _ := appendInBackground(s, big("first"))
	<-gate.entered
	second, written := appendInBackground(s, big("second"))
	<-written
	gate.proceed <- syscall.EIO
	for name, res := range map[string]<-chan error{"first": first, "second": second} {
		if err := <-res; err == nil || !errors.Is(err, syscall.EIO) {
			t.Fatalf("the %s append after a failed fsync: %v, want the fsync's error", name, err)
		}
	}
	select {
	case <-gate.entered:
		t.Fatal("the group written meanwhile was synced after the failed fsync")
	default:
	}
	gate.held.Store(false)
	if _, err := s.Append(context.Background(), [][]byte{[]byte("third")}); err == nil || !errors.Is(err, syscall.EIO) {
		t.Fatalf("an append after the failed fsync: %v, want the fsync's error", err)
	}
	if got := s.Stats().NextOffset; got != 1 {
		t.Fatalf("next offset %d, want 1: no record of a failed group is readable", got)
	}
}

// TestRollWaitsForTheSyncer: a group that starts the next segment waits
// until the groups written into the segment before are durable, so that
// a sealed segment is whole on disk before the next one exists.
func TestRollWaitsForTheSyncer(t *testing.T) {
	o := bigOptions(t)
	o.SegmentBytes = 3 * syncBehindBytes
	s := openSpool(t, o, nil)
	gate := gate(t, s)

	first, _ := appendInBackground(s, record("a", 0, 2*syncBehindBytes))
	<-gate.entered
	second, _ := appendInBackground(s, big("b")) // does not fit beside the first
	time.Sleep(50 * time.Millisecond)
	if got := segmentFiles(t, o.Dir); len(got) != 1 {
		t.Fatalf("segments %v while the first group's fsync runs, want the one being synced only", got)
	}
	gate.held.Store(false)
	gate.proceed <- nil
	for name, res := range map[string]<-chan error{"first": first, "second": second} {
		if err := <-res; err != nil {
			t.Fatalf("the %s append: %v", name, err)
		}
	}
	if got := segmentFiles(t, o.Dir); len(got) != 2 {
		t.Fatalf("segments %v, want two", got)
	}
	es := readN(t, mustReader(t, s, "sink"), 2, 10, 0)
	if es[0].Offset != 1 || es[1].Offset != 2 {
		t.Fatalf("offsets %d, %d; want 1, 2", es[0].Offset, es[1].Offset)
	}
}

// TestSmallGroupSyncedByTheWriter: a group under syncBehindBytes is synced
// by the writer itself, so the next group waits for that fsync before it
// is written: no hand-off between goroutines for single-event requests.
// A big group written meanwhile is answered after the small one.
func TestSmallGroupSyncedByTheWriter(t *testing.T) {
	s := openSpool(t, bigOptions(t), nil)
	gate := gate(t, s)

	small, _ := appendInBackground(s, []byte("small"))
	<-gate.entered
	second, written := appendInBackground(s, big("second"))
	select {
	case <-written:
		t.Fatal("the next group was written while the writer synced a small one")
	case <-time.After(50 * time.Millisecond):
	}
	gate.held.Store(false)
	gate.proceed <- nil
	if err := <-small; err != nil {
		t.Fatalf("small append: %v", err)
	}
	if err := <-second; err != nil {
		t.Fatalf("second append: %v", err)
	}
	es := readN(t, mustReader(t, s, "sink"), 2, 10, 0)
	if string(es[0].Data) != "small" || es[1].Offset != 2 {
		t.Fatalf("records %q (offset %d), %d; want small at 1, the big one at 2", es[0].Data, es[0].Offset, es[1].Offset)
	}
}

// TestSmallGroupAfterBigOnesAnsweredInOrder: a small group the writer
// syncs itself waits for the big groups the syncer holds, so appends are
// answered, and their records readable, in the order written.
func TestSmallGroupAfterBigOnesAnsweredInOrder(t *testing.T) {
	s := openSpool(t, bigOptions(t), nil)
	gate := gate(t, s)

	first, _ := appendInBackground(s, big("first"))
	<-gate.entered // the syncer holds the big group
	small, written := appendInBackground(s, []byte("small"))
	<-written // written by the writer, which now waits for the syncer
	select {
	case err := <-small:
		t.Fatalf("the small append returned (%v) before the big group before it was durable", err)
	case <-time.After(50 * time.Millisecond):
	}
	gate.held.Store(false)
	gate.proceed <- nil
	for name, res := range map[string]<-chan error{"first": first, "small": small} {
		if err := <-res; err != nil {
			t.Fatalf("the %s append: %v", name, err)
		}
	}
	if got := s.Stats().NextOffset; got != 3 {
		t.Fatalf("next offset %d, want 3", got)
	}
}
