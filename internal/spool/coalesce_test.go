package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommitWritesSmallAppendsTogether: a group commit of several small
// AppendFrames (single-event requests) and Appends writes them with one
// write, a batch over coalesceFrames from its own buffer, and the segment
// holds exactly what appending the same batches one at a time leaves.
func TestCommitWritesSmallAppendsTogether(t *testing.T) {
	type batch struct {
		frames  bool
		records [][]byte
	}
	big := record("big", 0, coalesceFrames+1)
	batches := []batch{
		{true, [][]byte{record("a", 0, 900)}},
		{true, [][]byte{record("b", 0, 1100)}},
		{false, [][]byte{record("c", 0, 40), record("c", 1, 50)}},
		{true, [][]byte{record("d", 0, 700), record("d", 1, 800)}},
		{true, [][]byte{big}},
		{true, [][]byte{record("e", 0, 1000)}},
	}
	o := testOptions("")
	o.SegmentBytes = 1 << 20

	// One at a time: the segment to compare with.
	o.Dir = t.TempDir()
	one := openSpool(t, o, nil)
	for _, b := range batches {
		if _, err := appendEither(one, b.frames, b.records); err != nil {
			t.Fatal(err)
		}
	}
	if err := one.Close(); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(o.Dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}

	// All in one group, committed as the writer commits a group it
	// gathered (the writer is idle: nothing else appends).
	o.Dir = t.TempDir()
	s := openSpool(t, o, nil)
	var group []*appendReq
	for _, b := range batches {
		r := &appendReq{done: make(chan struct{})}
		if b.frames {
			r.frames = new(Frames)
			for _, rec := range b.records {
				r.frames.End(append(r.frames.Begin(), rec...))
			}
			r.bytes = int64(r.frames.Size())
		} else {
			r.records = b.records
			for _, rec := range b.records {
				r.bytes += frameSize(len(rec))
			}
		}
		group = append(group, r)
	}
	s.commit(group)
	next, bigOffset := uint64(1), uint64(0)
	for i, r := range group {
		if r.err != nil || r.first != next {
			t.Fatalf("append %d: first %d, %v; want %d, nil", i, r.first, r.err, next)
		}
		if bytes.Equal(batches[i].records[0], big) {
			bigOffset = next
		}
		next += uint64(len(batches[i].records))
	}
	// The four small batches, the big one, the last small one.
	if got := s.writes.Load(); got != 3 {
		t.Errorf("the group took %d writes, want 3", got)
	}
	// A later append follows on (the writer sees what commit left).
	if off, err := appendEither(s, true, [][]byte{record("f", 0, 10)}); err != nil || off != next {
		t.Fatalf("append after the group: %d, %v; want %d", off, err, next)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(o.Dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
		t.Fatalf("the group's segment (%d bytes) does not start with the one-at-a-time segment (%d bytes)", len(got), len(want))
	}
	// And it reads back whole after a restart.
	s = openSpool(t, o, nil)
	entries := readN(t, mustReader(t, s, "check"), int(next), 1000, 1<<30)
	if e := entries[bigOffset-1]; e.Offset != bigOffset || !bytes.Equal(e.Data, big) {
		t.Errorf("record %d is not the big one", bigOffset)
	}
}
