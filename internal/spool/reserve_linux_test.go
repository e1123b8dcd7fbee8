package spool

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// fileSize is the size of a spool's segment file on disk.
func fileSize(t *testing.T, dir, name string) int64 {
	t.Helper()
	info, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return info.Size()
}

// TestReservedSpace: with fsync batch the segment being written is
// allocated ahead of its appends, reserveBytes at a time and never past
// segment_bytes; what lies past the records reads as zeros, is not counted
// as held, and is cut when the segment is sealed and when the spool
// closes, so a segment at rest is exactly its records and reopens with no
// torn tail. The other policies allocate nothing ahead.
func TestReservedSpace(t *testing.T) {
	rec := record("r", 0, 1000)
	recBytes := frameSize(len(rec))
	// oneRecord opens a spool of 64 MiB segments with fsync policy and
	// appends rec.
	oneRecord := func(t *testing.T, policy string) (*Spool, Options) {
		o := testOptions(t.TempDir())
		o.SegmentBytes, o.Fsync = 64<<20, policy
		s := openSpool(t, o, nil)
		mustAppend(t, s, rec)
		return s, o
	}

	t.Run("ahead by reserveBytes", func(t *testing.T) {
		s, o := oneRecord(t, FsyncBatch)
		dir := o.Dir
		if got := fileSize(t, dir, segmentName(1)); got != reserveBytes {
			t.Fatalf("segment is %d bytes after one append, want %d allocated ahead", got, reserveBytes)
		}
		if st := s.Stats(); st.Bytes != recBytes {
			t.Fatalf("Stats.Bytes %d, want the record's %d", st.Bytes, recBytes)
		}
		b, err := os.ReadFile(filepath.Join(dir, segmentName(1)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b[recBytes:], make([]byte, len(b)-int(recBytes))) {
			t.Fatal("reserved space is not zeros")
		}
	})

	t.Run("cut when sealed and when closed", func(t *testing.T) {
		dir := t.TempDir()
		o := testOptions(dir)
		o.SegmentBytes = 16 << 10
		logs := &logRecorder{}
		s, err := Open(o, sloggerFor(logs))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for len(segmentFiles(t, dir)) < 3 {
			mustAppend(t, s, record("r", n, 1000))
			n++
		}
		segs := segmentFiles(t, dir)
		for _, name := range segs[:2] {
			// Sealed: exactly its records (16 of 1,016 bytes).
			if got := fileSize(t, dir, name); got != 16*recBytes {
				t.Fatalf("sealed segment %s is %d bytes, want its records' %d", name, got, 16*recBytes)
			}
		}
		if got := fileSize(t, dir, segs[2]); got != o.SegmentBytes {
			t.Fatalf("segment being written is %d bytes, want %d (allocated up to segment_bytes)", got, o.SegmentBytes)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var onDisk int64
		for _, name := range segs {
			onDisk += fileSize(t, dir, name)
		}
		if onDisk != int64(n)*recBytes {
			t.Fatalf("closed spool has %d bytes on disk, want its records' %d", onDisk, int64(n)*recBytes)
		}
		s = openSpool(t, o, sloggerFor(logs))
		if _, warned := logs.find(slogLevelWarn, "cut torn tail"); warned {
			t.Fatal("reopening a closed spool cut a torn tail")
		}
		r := mustReader(t, s, "sink")
		for i, e := range readN(t, r, n, n, 0) {
			if !bytes.Equal(e.Data, record("r", i, 1000)) {
				t.Fatalf("record %d read back as %.20q", i, e.Data)
			}
		}
	})

	for _, policy := range []string{FsyncInterval, FsyncNever} {
		t.Run("none with fsync "+policy, func(t *testing.T) {
			_, o := oneRecord(t, policy)
			if got := fileSize(t, o.Dir, segmentName(1)); got != recBytes {
				t.Fatalf("segment is %d bytes, want its record's %d", got, recBytes)
			}
		})
	}

	t.Run("left by a crash", func(t *testing.T) {
		// The spool's files as a crash leaves them (copied while open):
		// reopened with fsync batch the reserved space is kept and
		// written over; with another policy it is cut at once.
		_, o := oneRecord(t, FsyncBatch)
		dir := o.Dir
		for _, policy := range []string{FsyncBatch, FsyncInterval, FsyncNever} {
			crashed := copyDir(t, dir)
			o := o
			o.Dir, o.Fsync = crashed, policy
			logs := &logRecorder{}
			again := openSpool(t, o, sloggerFor(logs))
			want := recBytes
			if policy == FsyncBatch {
				want = reserveBytes
			}
			if got := fileSize(t, crashed, segmentName(1)); got != want {
				t.Errorf("fsync %s: segment is %d bytes after Open, want %d", policy, got, want)
			}
			if _, warned := logs.find(slogLevelWarn, "cut torn tail"); warned {
				t.Errorf("fsync %s: reserved space reported as a torn tail", policy)
			}
			mustAppend(t, again, record("r", 1, 1000))
			es := readN(t, mustReader(t, again, "sink"), 2, 2, 0)
			if !bytes.Equal(es[0].Data, rec) || !bytes.Equal(es[1].Data, record("r", 1, 1000)) {
				t.Errorf("fsync %s: read back %.20q, %.20q", policy, es[0].Data, es[1].Data)
			}
		}
	})
}

// refusingAllocator is a segment file whose file system cannot allocate
// ahead, or, with partly set, runs out of space near the end, having
// extended the file by most of what was asked (as ext4 does).
type refusingAllocator struct {
	dataFile
	calls  *int
	partly bool
}

func (f refusingAllocator) Allocate(off, n int64) error {
	*f.calls++
	if f.partly {
		if err := f.dataFile.Allocate(off, n-64); err != nil {
			return err
		}
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return &os.PathError{Op: "fallocate", Path: f.Name(), Err: syscall.EOPNOTSUPP}
}

// refusingSpool opens a spool of segments of segmentBytes whose writer is
// a refusingAllocator; calls counts what it is asked.
func refusingSpool(t *testing.T, segmentBytes int64, partly bool) (s *Spool, dir string, calls *int) {
	dir = t.TempDir()
	o := testOptions(dir)
	o.SegmentBytes = segmentBytes
	s = openSpool(t, o, nil)
	calls = new(int)
	refuseAllocation(s, calls, partly)
	return s, dir, calls
}

// refuseAllocation gives s's writer a refusingAllocator.
func refuseAllocation(s *Spool, calls *int, partly bool) {
	swapFile(s, func(f *os.File) segmentFile {
		return refusingAllocator{dataFile: newDataFile(f), calls: calls, partly: partly}
	})
}

// TestReserveRefused: a file system that cannot allocate ahead is asked
// once a segment, and appends go on as they would without it.
func TestReserveRefused(t *testing.T) {
	s, dir, calls := refusingSpool(t, 64<<20, false)
	for i := range 5 {
		if off := mustAppend(t, s, record("n", i, 1000)); off != uint64(i+1) {
			t.Fatalf("append %d got offset %d", i, off)
		}
	}
	if *calls != 1 {
		t.Fatalf("asked to allocate %d times, want once", *calls)
	}
	if got, want := fileSize(t, dir, segmentName(1)), 5*frameSize(1000); got != want {
		t.Fatalf("segment is %d bytes, want its records' %d", got, want)
	}
	r := mustReader(t, s, "sink")
	if es := readN(t, r, 5, 5, 0); !bytes.Equal(es[4].Data, record("n", 4, 1000)) {
		t.Fatalf("last record read back as %.20q", es[4].Data)
	}
	if s.broken != nil {
		t.Fatalf("spool broken: %v", s.broken)
	}
}

// TestReservePartlyRefused: space a refused allocation left behind is cut
// when the segment is sealed, as reserved space is: a sealed segment's
// size is where recovery reads its records end.
func TestReservePartlyRefused(t *testing.T) {
	s, dir, calls := refusingSpool(t, 16<<10, true)
	n := 0
	for len(segmentFiles(t, dir)) < 2 {
		mustAppend(t, s, record("p", n, 1000))
		n++
	}
	if *calls != 1 {
		t.Fatalf("asked to allocate %d times, want once", *calls)
	}
	first := segmentFiles(t, dir)[0]
	if got, want := fileSize(t, dir, first), int64(n-1)*frameSize(1000); got != want {
		t.Fatalf("sealed segment is %d bytes, want its records' %d", got, want)
	}
	// The new segment is refused likewise, and cut at Close.
	refuseAllocation(s, calls, true)
	mustAppend(t, s, record("p", n, 1000))
	n++
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// It holds the record that started it and the one after.
	if got, want := fileSize(t, dir, segmentFiles(t, dir)[1]), 2*frameSize(1000); got != want {
		t.Fatalf("closed segment is %d bytes, want its records' %d", got, want)
	}
	s = openSpool(t, s.opts, nil)
	r := mustReader(t, s, "sink")
	if es := readN(t, r, n, n, 0); !bytes.Equal(es[n-1].Data, record("p", n-1, 1000)) {
		t.Fatalf("last record read back as %.20q", es[n-1].Data)
	}
}

// syncWatcher is a segment file that notes, at each fsync, its size on
// disk and whether the segment after it exists yet.
type syncWatcher struct {
	dataFile
	dir, next string
	seen      *[]syncSeen
}

type syncSeen struct {
	size       int64
	nextExists bool
}

func (f syncWatcher) Sync() error {
	err := f.dataFile.Sync()
	info, serr := f.Stat()
	if serr != nil {
		return serr
	}
	_, nerr := os.Stat(filepath.Join(f.dir, f.next))
	*f.seen = append(*f.seen, syncSeen{size: info.Size(), nextExists: nerr == nil})
	return err
}

// TestSealedBeforeTheNextSegment: when a segment is sealed, its cut to its
// records is made durable before the next segment is created, so that no
// crash finds a next segment beside a sealed one still holding space
// allocated ahead (whose zeros a reader would take for damage).
func TestSealedBeforeTheNextSegment(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.SegmentBytes = 16 << 10
	s := openSpool(t, o, nil)
	var seen []syncSeen
	// 16 records of 1,016 bytes fill the first segment; the 17th starts
	// the one based at offset 17.
	swapFile(s, func(f *os.File) segmentFile {
		return syncWatcher{dataFile: newDataFile(f), dir: dir, next: segmentName(17), seen: &seen}
	})
	for i := range 17 {
		mustAppend(t, s, record("s", i, 1000))
	}
	if len(segmentFiles(t, dir)) != 2 {
		t.Fatalf("segments %v, want two", segmentFiles(t, dir))
	}
	last := seen[len(seen)-1]
	if last.nextExists || last.size != 16*frameSize(1000) {
		t.Fatalf("the sealed segment's last fsync found it %d bytes (want %d) and the next segment existing: %v",
			last.size, 16*frameSize(1000), last.nextExists)
	}
}
