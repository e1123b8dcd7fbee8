package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/accord-events/accord/internal/iouring"
)

// A kernel that refuses io_uring: the spool says so once at info and
// flushes every group with the system call.
func TestRefusedRingIsLoggedAndFlushesWithTheSystemCall(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.SegmentBytes = 1 << 20
	o.openRing = func(func(error)) (*iouring.Ring, error) {
		return nil, fmt.Errorf("io_uring_setup: %w", errors.New("operation not permitted"))
	}
	rec := &logRecorder{}
	s := openSpool(t, o, slog.New(rec))
	attrs, ok := rec.find(slog.LevelInfo, "io_uring unavailable")
	if !ok || attrs["reason"].String() != "io_uring_setup: operation not permitted" {
		t.Fatalf("no info line saying why there is no io_uring (found %v, %v)", ok, attrs)
	}
	big := largeBatch()
	mustAppend(t, s, big...)
	assertFlushes(t, s, 0, 1)
	closeAndAssertRecords(t, s, dir, big)
}

// Elsewhere than Linux there is no ring to speak of: nothing is logged.
// When a ring fails while running, the spool says so at warn.
func TestRingLogLines(t *testing.T) {
	var onFail func(error)
	o := testOptions(t.TempDir())
	o.openRing = func(f func(error)) (*iouring.Ring, error) {
		onFail = f
		return nil, fmt.Errorf("io_uring: %w", errors.ErrUnsupported)
	}
	rec := &logRecorder{}
	openSpool(t, o, slog.New(rec))
	if _, ok := rec.find(slog.LevelInfo, "io_uring"); ok {
		t.Fatal("logged the absence of io_uring where the system has none")
	}
	onFail(errors.New("io_uring_enter: bad file descriptor"))
	attrs, ok := rec.find(slog.LevelWarn, "io_uring failed")
	if !ok || attrs["error"].String() != "io_uring_enter: bad file descriptor" {
		t.Fatalf("no warning when the ring failed (found %v, %v)", ok, attrs)
	}
}

// assertFlushes checks how many group commits were flushed, and how many
// of them through the ring.
func assertFlushes(t *testing.T, s *Spool, ring, all int64) {
	t.Helper()
	if r, f := s.ringSyncs.Load(), s.fsyncs.Load(); r != ring || f != all {
		t.Fatalf("%d flushes through the ring of %d, want %d of %d", r, f, ring, all)
	}
}

// closeAndAssertRecords closes s, reopens the spool in dir and reads
// exactly want from it.
func closeAndAssertRecords(t *testing.T, s *Spool, dir string, want [][]byte) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	o := testOptions(dir)
	o.SegmentBytes = 1 << 20
	again := openSpool(t, o, nil)
	got := readN(t, mustReader(t, again, "check"), len(want), 1000, 1<<30)
	for i := range want {
		if string(got[i].Data) != string(want[i]) {
			t.Fatalf("record %d: %.40q, want %.40q", i, got[i].Data, want[i])
		}
	}
}

// largeBatch is 100 records of 1 KiB: a group commit as a 100-event
// request makes.
func largeBatch() [][]byte {
	b := make([][]byte, 100)
	for i := range b {
		b[i] = record("big", i, 1024)
	}
	return b
}
