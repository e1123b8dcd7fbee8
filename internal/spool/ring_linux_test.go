package spool

import (
	"log/slog"
	"testing"

	"github.com/accord-events/accord/internal/testenv"
)

// ringSpool opens a spool with fsync batch and 1 MiB segments, skipping
// (failing on CI, whose kernel gives one) where the kernel gives no ring.
func ringSpool(t *testing.T, dir string) *Spool {
	t.Helper()
	o := testOptions(dir)
	o.SegmentBytes = 1 << 20
	s := openSpool(t, o, slog.New(slog.DiscardHandler))
	if s.ring == nil {
		testenv.Missing(t, "no io_uring here")
	}
	return s
}

// Every group commit is flushed through the ring, a single small record's
// as a hundred records', and both are read back after a restart.
func TestGroupCommitsAreFlushedThroughTheRing(t *testing.T) {
	dir := t.TempDir()
	s := ringSpool(t, dir)
	var want [][]byte
	big := largeBatch()
	mustAppend(t, s, big...)
	want = append(want, big...)
	assertFlushes(t, s, 1, 1)
	small := record("small", 0, 100)
	mustAppend(t, s, small)
	want = append(want, small)
	assertFlushes(t, s, 2, 2)
	closeAndAssertRecords(t, s, dir, want)
}

// A ring that fails leaves the spool flushing with the system call: the
// append is acknowledged and its records are there after a restart.
func TestFailedRingFallsBackToTheSystemCall(t *testing.T) {
	dir := t.TempDir()
	s := ringSpool(t, dir)
	if err := s.ring.Close(); err != nil { // every later Fdatasync fails with ErrRing
		t.Fatal(err)
	}
	big := largeBatch()
	mustAppend(t, s, big...)
	assertFlushes(t, s, 1, 1) // tried through the ring, then made as a system call
	closeAndAssertRecords(t, s, dir, big)
}
