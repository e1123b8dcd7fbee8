package spool

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// spareRecord is record i of the spare tests: 984 bytes, a 1,000-byte
// frame, so that four fill a 4 KiB segment.
func spareRecord(i int) []byte { return record("spare", i, 984) }

// inode returns the inode number of dir/name.
func inode(t *testing.T, dir, name string) uint64 {
	t.Helper()
	info, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return info.Sys().(*syscall.Stat_t).Ino
}

// spareSize returns the size of the spare file, or -1 when there is none.
func spareSize(t *testing.T, dir string) int64 {
	t.Helper()
	info, err := os.Stat(filepath.Join(dir, spareName))
	if errors.Is(err, os.ErrNotExist) {
		return -1
	}
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// appendRecords appends records from..to-1 of spareRecord, one an append,
// and returns them.
func appendRecords(t *testing.T, s *Spool, from, to int) [][]byte {
	t.Helper()
	var out [][]byte
	for i := from; i < to; i++ {
		rec := spareRecord(i)
		mustAppend(t, s, rec)
		out = append(out, rec)
	}
	return out
}

// deliverAll reads every record r has not read, checks each against want
// (by offset, from 1), and commits the last.
func deliverAll(t *testing.T, s *Spool, r *Reader, want [][]byte) {
	t.Helper()
	st := s.Stats()
	lag := st.Readers[0].LagRecords
	if lag == 0 {
		return
	}
	entries := readN(t, r, int(lag), 1000, 0)
	for _, e := range entries {
		if !bytes.Equal(e.Data, want[e.Offset-1]) {
			t.Fatalf("record %d: %.30q, want %.30q", e.Offset, e.Data, want[e.Offset-1])
		}
	}
	if err := r.Commit(entries[len(entries)-1].Offset); err != nil {
		t.Fatal(err)
	}
}

// withSpare opens a spool of 4 KiB segments in a new directory, appends
// records 1-5 (segment 1 full, segment 5 begun) and delivers them, so that
// segment 1's file, 4000 bytes, is the spare. It returns the spool, its
// options, its reader and the records.
func withSpare(t *testing.T) (*Spool, Options, *Reader, [][]byte) {
	t.Helper()
	o := testOptions(t.TempDir())
	o.MaxBytes = 64 << 10
	s := openSpool(t, o, nil)
	r := mustReader(t, s, "r")
	want := appendRecords(t, s, 1, 6)
	deliverAll(t, s, r, want)
	if size := spareSize(t, o.Dir); size != 4000 {
		t.Fatalf("spare file %d bytes, want segment 1's 4000", size)
	}
	return s, o, r, want
}

// TestSpareWrittenOver: a delivered segment's file is kept as the spare,
// the next segment is written over it (the same inode), what is read back
// is what was appended, and a sealed segment written over is cut to its
// records.
func TestSpareWrittenOver(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.MaxBytes = 64 << 10
	s := openSpool(t, o, nil)
	r := mustReader(t, s, "r")

	want := appendRecords(t, s, 1, 6) // segment 1 holds 1-4, segment 5 holds 5
	if got := segmentFiles(t, dir); len(got) != 2 {
		t.Fatalf("segments %v, want two", got)
	}
	first := segmentFiles(t, dir)[0]
	ino := inode(t, dir, first)
	if size := spareSize(t, dir); size != -1 {
		t.Fatalf("a spare (%d bytes) before any segment was delivered", size)
	}
	deliverAll(t, s, r, want)
	if size := spareSize(t, dir); size != 4000 {
		t.Fatalf("spare file %d bytes, want the delivered segment's 4000", size)
	}
	if got := inode(t, dir, spareName); got != ino {
		t.Fatalf("spare is inode %d, want the delivered segment's %d", got, ino)
	}
	if st := s.Stats(); st.SpareBytes != 4000 || st.Bytes != 1000 || st.Segments != 1 {
		t.Fatalf("stats %+v, want 1000 bytes in one segment and a 4000-byte spare", st)
	}

	// Segment 5 fills with 6-8; 9 starts segment 9, written over the spare.
	want = append(want, appendRecords(t, s, 6, 10)...)
	segs := segmentFiles(t, dir)
	if len(segs) != 2 || segs[1] != segmentName(9) {
		t.Fatalf("segments %v, want segment 9 after segment 5", segs)
	}
	if got := inode(t, dir, segs[1]); got != ino {
		t.Fatalf("segment 9 is inode %d, want the spare's %d", got, ino)
	}
	if size := spareSize(t, dir); size != -1 {
		t.Fatalf("spare file still there (%d bytes) after the segment took it", size)
	}
	if st := s.Stats(); st.SpareBytes != 0 {
		t.Fatalf("stats say a %d-byte spare after the segment took it", st.SpareBytes)
	}
	// The file keeps its old bytes past the record, ahead of the appends.
	if got := fileSize(t, dir, segs[1]); got != 4000 {
		t.Fatalf("segment 9 is %d bytes on disk, want the spare's 4000", got)
	}

	// Fill segment 9 to the spare's size, the last end marker past it,
	// then seal it: sealed, it is its records.
	want = append(want, appendRecords(t, s, 10, 13)...) // 9-12: 4000 bytes
	mustAppend(t, s, bytes.Repeat([]byte{'x'}, 2000))   // 13: starts segment 13
	want = append(want, bytes.Repeat([]byte{'x'}, 2000))
	if got := fileSize(t, dir, segmentName(9)); got != 4000 {
		t.Fatalf("sealed segment 9 is %d bytes, want its records' 4000", got)
	}
	deliverAll(t, s, r, want)

	// Read back from the start of what is kept, in a new process. A
	// spool left at rest keeps no spare: it holds delivered records.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if size := spareSize(t, dir); size != -1 {
		t.Fatalf("spare file (%d bytes) left after Close", size)
	}
	s2 := openWithoutWarnings(t, o)
	if st := s2.Stats(); st.SpareBytes != 0 || st.NextOffset != 14 {
		t.Fatalf("stats after reopening %+v, want next offset 14 and no spare", st)
	}
	// Segment 13 fills with 14 and 15 (4016 bytes); 16-30 go to new
	// segments 16, 20, 24 and 28.
	want = append(want, appendRecords(t, s2, 14, 31)...)
	r2 := mustReader(t, s2, "r")
	deliverAll(t, s2, r2, want) // segment 13's file is the spare now
	if size := spareSize(t, dir); size != 4016 {
		t.Fatalf("spare file %d bytes, want segment 13's 4016", size)
	}

	// A segment sealed before its spare's old bytes are all written over
	// is cut to its records too.
	want = append(want, appendRecords(t, s2, 31, 34)...) // 31 ends segment 28; 32 and 33 start segment 32
	if !s2.stale {
		t.Fatal("segment 32 is not written over the spare")
	}
	mustAppend(t, s2, bytes.Repeat([]byte{'y'}, 3500)) // 34: does not fit, starts segment 34
	want = append(want, bytes.Repeat([]byte{'y'}, 3500))
	if got := fileSize(t, dir, segmentName(32)); got != 2000 {
		t.Fatalf("sealed segment 32 is %d bytes, want its records' 2000", got)
	}
	deliverAll(t, s2, r2, want)
}

// openWithoutWarnings opens a spool as openSpool does, and fails the test
// if opening it logged a warning (a torn tail cut, a cursor pulled back).
func openWithoutWarnings(t *testing.T, o Options) *Spool {
	t.Helper()
	rec := &logRecorder{}
	s := openSpool(t, o, slog.New(rec))
	if _, ok := rec.find(slog.LevelWarn, ""); ok {
		t.Fatalf("warnings at open: %v", rec.records)
	}
	return s
}

// crashCopy returns a copy of an open spool's directory, as a kill -9 of
// its process would leave it (the copy reads the page cache).
func crashCopy(t *testing.T, s *Spool) string { return copyDir(t, s.Dir()) }

// TestSpareCrash: a crash while a segment is written over a spare leaves
// the old bytes after the records; recovery keeps every record, warns of
// nothing, and goes on writing over them. A torn write there is still
// found, and cut with its warning.
func TestSpareCrash(t *testing.T) {
	s, o, _, want := withSpare(t)
	want = append(want, appendRecords(t, s, 6, 11)...) // 9 and 10 in segment 9, over the spare
	last := segmentName(9)
	if !s.stale {
		t.Fatal("segment 9 is not written over the spare")
	}

	t.Run("clean", func(t *testing.T) {
		o := o
		o.Dir = crashCopy(t, s)
		c := openWithoutWarnings(t, o)
		if got := fileSize(t, o.Dir, last); got != 4000 {
			t.Fatalf("segment 9 is %d bytes after recovery, want 4000 (its old bytes kept to be written over)", got)
		}
		if st := c.Stats(); st.NextOffset != 11 || st.Bytes != 6000 {
			t.Fatalf("stats %+v, want next offset 11 and 6000 bytes", st)
		}
		w := append(append([][]byte(nil), want...), appendRecords(t, c, 11, 12)...)
		deliverAll(t, c, mustReader(t, c, "r"), w)
		// A second crash, after that append into the old bytes, recovers
		// as cleanly: the writer went on ending its commits with a marker.
		o2 := o
		o2.Dir = crashCopy(t, c)
		c2 := openWithoutWarnings(t, o2)
		if st := c2.Stats(); st.NextOffset != 12 {
			t.Fatalf("next offset %d after the second crash, want 12", st.NextOffset)
		}
		// 12 fills segment 9 to the spare's size, its end marker past
		// it; 13 seals it, cut to its records again.
		w = append(w, appendRecords(t, c2, 12, 14)...)
		if got := fileSize(t, o2.Dir, last); got != 4000 {
			t.Fatalf("sealed segment 9 is %d bytes, want its records' 4000", got)
		}
		deliverAll(t, c2, mustReader(t, c2, "r"), w)
	})

	t.Run("reopened with fsync interval", func(t *testing.T) {
		// interval keeps no spare, and cuts the old bytes at open as it
		// cuts space reserved ahead: silently, keeping every record.
		o := o
		o.Dir = crashCopy(t, s)
		o.Fsync = FsyncInterval
		c := openWithoutWarnings(t, o)
		if got := fileSize(t, o.Dir, last); got != 2000 {
			t.Fatalf("segment 9 is %d bytes after recovery, want its records' 2000", got)
		}
		w := append(append([][]byte(nil), want...), appendRecords(t, c, 11, 14)...)
		deliverAll(t, c, mustReader(t, c, "r"), w)
	})

	t.Run("torn", func(t *testing.T) {
		o := o
		o.Dir = crashCopy(t, s)
		// A write that began where the records end, and did not finish:
		// the end marker written over with half a frame.
		torn := appendFrame(nil, 11, spareRecord(11), true)[:600]
		f, err := os.OpenFile(filepath.Join(o.Dir, last), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt(torn, 2000); err != nil {
			t.Fatal(err)
		}
		f.Close()
		rec := &logRecorder{}
		c := openSpool(t, o, slog.New(rec))
		attrs, ok := rec.find(slog.LevelWarn, "cut torn tail")
		if !ok {
			t.Fatalf("no warning of the torn write: %v", rec.records)
		}
		if got := attrs["bytes_cut"].Int64(); got != 2000 {
			t.Fatalf("cut %d bytes, want the 2000 after the records", got)
		}
		if got := fileSize(t, o.Dir, last); got != 2000 {
			t.Fatalf("segment 9 is %d bytes after the cut, want 2000", got)
		}
		w := append(append([][]byte(nil), want...), appendRecords(t, c, 11, 14)...)
		deliverAll(t, c, mustReader(t, c, "r"), w)
	})
}

// TestSpareCrashBeforeFirstCommit: a crash after a segment took the spare
// and before any record was written to it finds the end marker written
// first, an empty segment, and no warning.
func TestSpareCrashBeforeFirstCommit(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.MaxBytes = 64 << 10
	s := openSpool(t, o, nil)
	want := appendRecords(t, s, 1, 5) // segment 1, full
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Segment 5 as takeSpare leaves it: the marker, then a delivered
	// segment's old frames (here segment 1's, offsets 1-4).
	old, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	seg := append(appendEndMarker(nil, 5), old[headerSize:]...)
	if err := os.WriteFile(filepath.Join(dir, segmentName(5)), seg, 0o644); err != nil {
		t.Fatal(err)
	}
	s2 := openWithoutWarnings(t, o)
	if st := s2.Stats(); st.NextOffset != 5 || st.Segments != 2 {
		t.Fatalf("stats %+v, want two segments and next offset 5", st)
	}
	if off := mustAppend(t, s2, spareRecord(5)); off != 5 {
		t.Fatalf("appended at %d, want 5", off)
	}
	want = append(want, spareRecord(5))
	deliverAll(t, s2, mustReader(t, s2, "r"), want)
}

// TestSpareWithinMaxBytes: the spare counts within max_bytes. It is kept
// only with a segment's room beside it and the records, when a segment is
// delivered and at open.
func TestSpareWithinMaxBytes(t *testing.T) {
	t.Run("near the cap", func(t *testing.T) {
		dir := t.TempDir()
		o := testOptions(dir)
		o.MaxBytes = 8192
		s := openSpool(t, o, nil)
		// 5000 bytes held when segment 1 is delivered: with its 4000 as
		// a spare and a 4096-byte segment, 13,096 is past the cap.
		deliverAll(t, s, mustReader(t, s, "r"), appendRecords(t, s, 1, 6))
		if size := spareSize(t, dir); size != -1 {
			t.Fatalf("spare (%d bytes) kept near the cap", size)
		}
		if got := segmentFiles(t, dir); len(got) != 1 {
			t.Fatalf("segments %v, want the delivered one removed", got)
		}
	})
	t.Run("a cap lowered since", func(t *testing.T) {
		s, o, _, _ := withSpare(t)
		o.Dir = crashCopy(t, s) // Close would remove the spare
		o.MaxBytes = 8192       // 1000 held, the 4000 spare and a segment: 9096
		s2 := openSpool(t, o, nil)
		if size := spareSize(t, o.Dir); size != -1 {
			t.Fatalf("spare (%d bytes) kept at open past the lowered cap", size)
		}
		if st := s2.Stats(); st.SpareBytes != 0 {
			t.Fatalf("stats say a %d-byte spare", st.SpareBytes)
		}
	})
}

// TestSpareOnlyWithFsyncBatch: the other policies keep no spare, and one
// found at open is removed.
func TestSpareOnlyWithFsyncBatch(t *testing.T) {
	for _, policy := range []string{FsyncInterval, FsyncNever} {
		t.Run(policy, func(t *testing.T) {
			s, o, _, want := withSpare(t)
			dir := o.Dir
			want = append(want, appendRecords(t, s, 6, 10)...) // segment 9 takes the spare
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if size := spareSize(t, dir); size != -1 {
				t.Fatalf("no spare expected after segment 9 took it; %d bytes", size)
			}
			// A spare left by a batch run, and one more delivered segment.
			if err := os.WriteFile(filepath.Join(dir, spareName), bytes.Repeat([]byte{7}, 4000), 0o644); err != nil {
				t.Fatal(err)
			}
			o.Fsync = policy
			s2 := openSpool(t, o, nil)
			if size := spareSize(t, dir); size != -1 {
				t.Fatalf("spare (%d bytes) kept at open with fsync %s", size, policy)
			}
			want = append(want, appendRecords(t, s2, 10, 20)...)
			deliverAll(t, s2, mustReader(t, s2, "r"), want)
			if size := spareSize(t, dir); size != -1 {
				t.Fatalf("spare (%d bytes) made with fsync %s", size, policy)
			}
		})
	}
}

// TestSpareGoneAtClose: a spool left at rest holds no delivered record of
// the spare's: the segment written over it is cut to its records, and a
// spare kept since is removed.
func TestSpareGoneAtClose(t *testing.T) {
	s, o, r, want := withSpare(t)
	dir := o.Dir
	want = append(want, appendRecords(t, s, 6, 10)...) // 9 starts segment 9 over the spare
	deliverAll(t, s, r, want)                          // segment 5's file is the next spare
	if !s.stale || spareSize(t, dir) != 4000 {
		t.Fatalf("want segment 9 written over a spare and another spare kept; stale %v, spare %d bytes", s.stale, spareSize(t, dir))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := fileSize(t, dir, segmentName(9)); got != 1000 {
		t.Fatalf("segment 9 is %d bytes at rest, want its record's 1000", got)
	}
	if size := spareSize(t, dir); size != -1 {
		t.Fatalf("spare file (%d bytes) left after Close", size)
	}
}

// TestSpareKeptAcrossCrash: a spare found at open after a crash is the
// spool's again: reported, written over by the next segment, and removed
// at Close.
func TestSpareKeptAcrossCrash(t *testing.T) {
	s, o, _, want := withSpare(t)
	o.Dir = crashCopy(t, s)
	c := openWithoutWarnings(t, o)
	if st := c.Stats(); st.SpareBytes != 4000 {
		t.Fatalf("stats after the crash say a %d-byte spare, want 4000", st.SpareBytes)
	}
	want = append(want, appendRecords(t, c, 6, 10)...) // 9 starts segment 9 over the spare
	if !c.stale || spareSize(t, o.Dir) != -1 {
		t.Fatalf("segment 9 did not take the spare found at open: stale %v, spare %d bytes", c.stale, spareSize(t, o.Dir))
	}
	deliverAll(t, c, mustReader(t, c, "r"), want) // segment 5's file is the next spare
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if size := spareSize(t, o.Dir); size != -1 {
		t.Fatalf("spare file (%d bytes) left after Close", size)
	}
}

// TestSpareUnusable: a spare that cannot be written over (here something
// else took its name) is logged, removed, and the segment made as a new
// file; no record is lost.
func TestSpareUnusable(t *testing.T) {
	o := testOptions(t.TempDir())
	o.MaxBytes = 64 << 10
	rec := &logRecorder{}
	s := openSpool(t, o, slog.New(rec))
	r := mustReader(t, s, "r")
	want := appendRecords(t, s, 1, 6)
	deliverAll(t, s, r, want)
	spare := filepath.Join(o.Dir, spareName)
	if err := os.Remove(spare); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(spare, 0o755); err != nil {
		t.Fatal(err)
	}
	want = append(want, appendRecords(t, s, 6, 10)...) // 9 starts segment 9
	if _, ok := rec.find(slog.LevelWarn, "cannot write the next segment over the spare file"); !ok {
		t.Fatalf("no warning of the unusable spare: %v", rec.records)
	}
	if s.stale || s.Stats().SpareBytes != 0 || spareSize(t, o.Dir) != -1 {
		t.Fatalf("after an unusable spare: stale %v, stats %+v, spare %d bytes; want a new segment file and no spare", s.stale, s.Stats(), spareSize(t, o.Dir))
	}
	deliverAll(t, s, r, want)
}
