package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
)

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Options)
		want   []string // substrings of the error; none for valid
	}{
		{"defaults", func(*Options) {}, nil},
		{"interval", func(o *Options) { o.Fsync = FsyncInterval }, nil},
		{"no dir", func(o *Options) { o.Dir = " " }, []string{"dir: must not be empty"}},
		{"tiny segment", func(o *Options) { o.SegmentBytes = 100 }, []string{"segment_bytes: 100 is too small"}},
		{"cap below two segments", func(o *Options) { o.MaxBytes = o.SegmentBytes }, []string{"max_bytes:", "twice segment_bytes"}},
		{"unknown fsync", func(o *Options) { o.Fsync = "always" }, []string{`fsync: "always" is not a policy; use batch, interval or never`}},
		{"interval too short", func(o *Options) { o.Fsync, o.FsyncInterval = FsyncInterval, 0 }, []string{"fsync_interval: 0s is too short"}},
		{"short interval ignored unless interval", func(o *Options) { o.FsyncInterval = 0 }, nil},
		{"several", func(o *Options) { o.Dir, o.Fsync = "", "x" }, []string{"dir:", "fsync:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.change(&o)
			err := o.Validate()
			check.ErrorSays(t, err, tc.want...)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name         string
		segmentBytes int64
		fsync        string
		batches      []int // records per Append
		recordSize   int
		maxRecords   int
		maxBytes     int
		wantSegments int // at least
	}{
		{"one segment", 64 << 20, FsyncBatch, []int{1, 2, 3, 10}, 100, 100, 0, 1},
		{"across segments", 4 << 10, FsyncBatch, []int{1, 5, 7, 1, 20, 3, 9, 1, 1, 30}, 300, 7, 0, 5},
		{"byte limit", 4 << 10, FsyncNever, []int{10, 10, 10}, 500, 100, 1200, 3},
		{"record larger than byte limit", 4 << 10, FsyncInterval, []int{3, 3}, 2000, 100, 10, 2},
		{"record larger than segment", 4 << 10, FsyncBatch, []int{1, 2, 1}, 9000, 2, 0, 3},
		{"large read", 64 << 20, FsyncNever, []int{2000, 2000}, 1000, 0, 0, 1},
		{"empty records", 4 << 10, FsyncBatch, []int{5, 1}, 0, 3, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t.TempDir())
			o.SegmentBytes, o.Fsync = tc.segmentBytes, tc.fsync
			s := openSpool(t, o, nil)
			r := mustReader(t, s, "sink")
			var want [][]byte
			next := uint64(1)
			for _, n := range tc.batches {
				var batch [][]byte
				for range n {
					var rec []byte
					if tc.recordSize > 0 {
						rec = record("r", len(want), tc.recordSize)
					}
					batch = append(batch, rec)
					want = append(want, rec)
				}
				if off := mustAppend(t, s, batch...); off != next {
					t.Fatalf("Append returned offset %d, want %d", off, next)
				}
				next += uint64(n)
			}
			ctx := context.Background()
			var got []Entry
			for len(got) < len(want) {
				es, err := r.Next(ctx, tc.maxRecords, tc.maxBytes)
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				if tc.maxRecords > 0 && len(es) > tc.maxRecords {
					t.Fatalf("Next returned %d records, limit %d", len(es), tc.maxRecords)
				}
				if tc.maxBytes > 0 && len(es) > 1 {
					n := 0
					for _, e := range es {
						n += len(e.Data)
					}
					if n > tc.maxBytes {
						t.Fatalf("Next returned %d bytes in %d records, limit %d", n, len(es), tc.maxBytes)
					}
				}
				got = append(got, es...)
			}
			for i, e := range got {
				if e.Offset != uint64(i+1) || !bytes.Equal(e.Data, want[i]) {
					t.Fatalf("record %d: offset %d, data %.30q; want offset %d, data %.30q", i, e.Offset, e.Data, i+1, want[i])
				}
			}
			if n := len(segmentFiles(t, o.Dir)); n < tc.wantSegments {
				t.Errorf("%d segments, want at least %d", n, tc.wantSegments)
			}
			if err := r.Commit(got[len(got)-1].Offset); err != nil {
				t.Fatalf("Commit: %v", err)
			}
			st := s.Stats()
			if st.NextOffset != next || st.Readers[0].LagRecords != 0 || st.Readers[0].LagBytes != 0 {
				t.Errorf("Stats after reading all: %+v", st)
			}
			if n := len(segmentFiles(t, o.Dir)); st.Segments != n || n < 1 {
				t.Errorf("Stats.Segments %d, %d files", st.Segments, n)
			}
		})
	}
}

func TestSegmentsRoll(t *testing.T) {
	o := testOptions(t.TempDir())
	s := openSpool(t, o, nil)
	for i := range 50 {
		mustAppend(t, s, record("r", i, 500))
	}
	// 516-byte frames: 7 fit in 4 KiB, so 50 records take 8 segments.
	if got := len(segmentFiles(t, o.Dir)); got != 8 {
		t.Fatalf("%d segments, want 8: %v", got, segmentFiles(t, o.Dir))
	}
	for _, name := range segmentFiles(t, o.Dir) {
		info, err := os.Stat(filepath.Join(o.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > o.SegmentBytes {
			t.Errorf("segment %s holds %d bytes, over segment_bytes %d", name, info.Size(), o.SegmentBytes)
		}
	}
	if got := segmentFiles(t, o.Dir)[1]; got != "00000000000000000008.seg" {
		t.Errorf("second segment is %s, want 00000000000000000008.seg", got)
	}
}

func TestConcurrentAppend(t *testing.T) {
	o := testOptions(t.TempDir())
	o.SegmentBytes = 64 << 10
	s := openSpool(t, o, nil)
	const writers, appends = 16, 40
	type ack struct {
		off  uint64
		recs [][]byte
	}
	acks := make(chan ack, writers*appends)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for a := range appends {
				n := 1 + (w+a)%5
				var batch [][]byte
				for i := range n {
					batch = append(batch, fmt.Appendf(nil, "w%d-a%d-r%d", w, a, i))
				}
				// Half the writers append frames, so that groups mix
				// records copied into the commit with frames written
				// from their own buffers.
				off, err := appendEither(s, w%2 == 1, batch)
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				acks <- ack{off, batch}
			}
		})
	}
	wg.Wait()
	close(acks)
	total := 0
	var all []ack
	for a := range acks {
		all = append(all, a)
		total += len(a.recs)
	}
	r := mustReader(t, s, "sink")
	got := readN(t, r, total, 100, 0)
	seen := map[string]int{}
	for i, e := range got {
		if e.Offset != uint64(i+1) {
			t.Fatalf("entry %d has offset %d", i, e.Offset)
		}
		seen[string(e.Data)]++
	}
	for _, a := range all {
		for i, rec := range a.recs {
			if e := got[a.off-1+uint64(i)]; !bytes.Equal(e.Data, rec) {
				t.Fatalf("offset %d holds %q, want %q (batch order broken)", e.Offset, e.Data, rec)
			}
			if seen[string(rec)] != 1 {
				t.Fatalf("record %q read %d times", rec, seen[string(rec)])
			}
		}
	}
	if len(seen) != total || s.Stats().Records != uint64(total) {
		t.Fatalf("%d distinct records, %d appended, stats %+v", len(seen), total, s.Stats())
	}
	if f := s.fsyncs.Load(); f >= int64(len(all)) {
		t.Logf("no group commit happened: %d fsyncs for %d appends", f, len(all))
	}
}

func TestGroupCommit(t *testing.T) {
	o := testOptions(t.TempDir())
	o.SegmentBytes = 1 << 20
	s := openSpool(t, o, nil)
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { mustAppend(t, s, record("g", i, 100)) })
	}
	wg.Wait()
	// 400 appenders racing for one writer: far fewer fsyncs than appends.
	if f := s.fsyncs.Load(); f >= n {
		t.Fatalf("%d fsyncs for %d concurrent appends: no group commit", f, n)
	} else {
		t.Logf("%d fsyncs for %d concurrent appends", f, n)
	}
}

func TestReadersAtDifferentPaces(t *testing.T) {
	o := testOptions(t.TempDir())
	s := openSpool(t, o, nil)
	const total = 600
	paces := []struct {
		name        string
		maxRecords  int
		commitEvery int
		delay       time.Duration
	}{
		{"fast", 100, 1, 0},
		{"small-batches", 3, 10, 0},
		{"slow", 50, 5, 2 * time.Millisecond},
	}
	var wg sync.WaitGroup
	results := make([][]Entry, len(paces))
	for i, p := range paces {
		r := mustReader(t, s, p.name)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			batches := 0
			for len(results[i]) < total {
				es, err := r.Next(ctx, p.maxRecords, 0)
				if err != nil {
					t.Errorf("%s: Next: %v", p.name, err)
					return
				}
				results[i] = append(results[i], es...)
				batches++
				if batches%p.commitEvery == 0 {
					if err := r.Commit(es[len(es)-1].Offset); err != nil {
						t.Errorf("%s: Commit: %v", p.name, err)
						return
					}
				}
				time.Sleep(p.delay)
			}
			if err := r.Commit(results[i][len(results[i])-1].Offset); err != nil {
				t.Errorf("%s: Commit: %v", p.name, err)
			}
		})
	}
	for i := range total {
		mustAppend(t, s, record("p", i, 200))
	}
	wg.Wait()
	for i, p := range paces {
		if len(results[i]) != total {
			t.Fatalf("%s read %d records, want %d", p.name, len(results[i]), total)
		}
		for j, e := range results[i] {
			if e.Offset != uint64(j+1) || !bytes.Equal(e.Data, record("p", j, 200)) {
				t.Fatalf("%s: record %d is offset %d %.20q", p.name, j, e.Offset, e.Data)
			}
		}
	}
	// Everyone committed everything: only the segment being written stays.
	if st := s.Stats(); st.Segments != 1 {
		t.Errorf("%d segments left after every reader committed all: %+v", st.Segments, st)
	}
}

func TestRestartResumesReaders(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		mustAppend(t, s, record("x", i, 300))
	}
	commits := map[string]uint64{"a": 30, "b": 70, "c": 0, "d": 100}
	readers := map[string]*Reader{}
	for name := range commits {
		readers[name] = mustReader(t, s, name)
	}
	for name, c := range commits {
		r := readers[name]
		readN(t, r, 85, 40, 0) // read more than is committed
		if c > 0 {
			if err := r.Commit(c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openSpool(t, o, nil)
	for name, c := range commits {
		t.Run(name, func(t *testing.T) {
			r := mustReader(t, s, name)
			if c == 100 {
				ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
				defer cancel()
				if es, err := r.Next(ctx, 10, 0); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Next on a reader that committed everything: %d records, %v", len(es), err)
				}
				return
			}
			es := readN(t, r, int(100-c), 1000, 0)
			for i, e := range es {
				want := c + 1 + uint64(i)
				if e.Offset != want || !bytes.Equal(e.Data, record("x", int(want-1), 300)) {
					t.Fatalf("record %d: offset %d, want %d", i, e.Offset, want)
				}
			}
		})
	}
	st := s.Stats()
	for _, rs := range st.Readers {
		if rs.Committed != commits[rs.Name] || rs.LagRecords != 100-commits[rs.Name] {
			t.Errorf("reader %s: %+v", rs.Name, rs)
		}
	}
	// The oldest segment is kept for c, which committed nothing.
	if st.FirstOffset != 1 {
		t.Errorf("FirstOffset %d, want 1 while reader c has committed nothing", st.FirstOffset)
	}
}

// appendEither appends records with AppendFrames when frames is set and
// with Append otherwise.
func appendEither(s *Spool, frames bool, records [][]byte) (uint64, error) {
	if !frames {
		return s.Append(context.Background(), records)
	}
	var f Frames
	for _, r := range records {
		f.End(append(f.Begin(), r...))
	}
	return s.AppendFrames(context.Background(), &f, nil)
}

// TestAppendFramesWritesWhatAppendWrites: the same batches appended as
// frames and as records leave byte-identical segments (offsets, lengths,
// the last-record flag, checksums), rolled at the same places, and a
// Frames reused for the next batch starts afresh.
func TestAppendFramesWritesWhatAppendWrites(t *testing.T) {
	var batches [][][]byte
	for b := range 30 {
		var batch [][]byte
		for i := range 1 + b%4 {
			batch = append(batch, record(fmt.Sprint("b", b), i, 30+b*7))
		}
		batches = append(batches, batch)
	}
	dirs := map[bool]string{}
	for _, frames := range []bool{false, true} {
		dir := t.TempDir()
		s := openSpool(t, testOptions(dir), nil)
		var f Frames
		next := uint64(1)
		for _, batch := range batches {
			var off uint64
			var err error
			if frames {
				f.Reset()
				for _, r := range batch {
					f.End(append(f.Begin(), r...))
				}
				for i, r := range batch {
					if !bytes.Equal(f.Record(i), r) {
						t.Fatalf("Frames.Record(%d) = %q, want %q", i, f.Record(i), r)
					}
				}
				off, err = s.AppendFrames(context.Background(), &f, nil)
			} else {
				off, err = s.Append(context.Background(), batch)
			}
			if err != nil || off != next {
				t.Fatalf("append (frames %v): offset %d, %v; want %d", frames, off, err, next)
			}
			next += uint64(len(batch))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		dirs[frames] = dir
	}
	want, got := segmentFiles(t, dirs[false]), segmentFiles(t, dirs[true])
	if len(want) < 2 || strings.Join(want, ",") != strings.Join(got, ",") {
		t.Fatalf("segments %v with Append, %v with AppendFrames; want the same, several", want, got)
	}
	for _, name := range want {
		a, errA := os.ReadFile(filepath.Join(dirs[false], name))
		b, errB := os.ReadFile(filepath.Join(dirs[true], name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Fatalf("segment %s differs between Append and AppendFrames (%v, %v)", name, errA, errB)
		}
	}
}

func TestTornTail(t *testing.T) {
	// A spool of ten single-record appends and then one three-record
	// append, closed cleanly: the template every case damages.
	src := t.TempDir()
	o := testOptions(src)
	o.SegmentBytes = 64 << 10
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		mustAppend(t, s, record("t", i, 40))
	}
	last := [][]byte{record("t", 10, 40), record("t", 11, 40), record("t", 12, 40)}
	mustAppend(t, s, last...)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	seg := segmentName(1)
	full, err := os.ReadFile(filepath.Join(src, seg))
	if err != nil {
		t.Fatal(err)
	}
	batchStart := len(full) - 3*int(frameSize(40))
	lastRecordStart := len(full) - int(frameSize(40))

	// check opens dir and checks the records left: the last append cut,
	// with a warning when wantCut > 0; wantSize is the segment's size
	// after Open.
	check := func(t *testing.T, dir string, wantCut int, wantSize int64) {
		t.Helper()
		logs := &logRecorder{}
		s, err := Open(testOptions(dir), sloggerFor(logs))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer s.Close()
		info, err := os.Stat(filepath.Join(dir, seg))
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() != wantSize {
			t.Fatalf("segment is %d bytes after Open, want %d", info.Size(), wantSize)
		}
		if _, warned := logs.find(slogLevelWarn, "cut torn tail"); warned != (wantCut > 0) {
			t.Fatalf("warned of a torn tail: %v, want %v", warned, wantCut > 0)
		}
		if wantCut > 0 {
			attrs, ok := logs.find(slogLevelWarn, "cut torn tail")
			if !ok {
				t.Fatalf("no warning about the cut tail")
			}
			if attrs["segment"].String() != seg || attrs["offset"].Int64() != int64(batchStart) || attrs["bytes_cut"].Int64() != int64(wantCut) {
				t.Fatalf("warning says %v; want segment %s, offset %d, bytes_cut %d", attrs, seg, batchStart, wantCut)
			}
		}
		if st := s.Stats(); st.Records != 10 || st.NextOffset != 11 {
			t.Fatalf("Stats after cut: %+v", st)
		}
		r := mustReader(t, s, "sink")
		for i, e := range readN(t, r, 10, 100, 0) {
			if e.Offset != uint64(i+1) || !bytes.Equal(e.Data, record("t", i, 40)) {
				t.Fatalf("record %d damaged: offset %d %q", i, e.Offset, e.Data)
			}
		}
		// Appending goes on from the cut, and reads back.
		if off := mustAppend(t, s, []byte("after")); off != 11 {
			t.Fatalf("first append after the cut got offset %d, want 11", off)
		}
		if es := readN(t, r, 1, 10, 0); string(es[0].Data) != "after" || es[0].Offset != 11 {
			t.Fatalf("read after the cut: %+v", es)
		}
	}

	t.Run("truncated", func(t *testing.T) {
		// Every cut inside the last append: its first two records are
		// intact in some cases, and still go, since the batch is
		// incomplete.
		for cut := batchStart; cut < len(full); cut++ {
			dir := copyDir(t, src)
			if err := os.Truncate(filepath.Join(dir, seg), int64(cut)); err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprint(cut), func(t *testing.T) { check(t, dir, cut-batchStart, int64(batchStart)) })
		}
	})
	t.Run("flipped", func(t *testing.T) {
		// Every byte of the last record flipped: the checksum (or the
		// length check) catches it, and the whole last append goes.
		for pos := lastRecordStart; pos < len(full); pos++ {
			dir := copyDir(t, src)
			b := bytes.Clone(full)
			b[pos] ^= 0x40
			if err := os.WriteFile(filepath.Join(dir, seg), b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Run(fmt.Sprint(pos), func(t *testing.T) { check(t, dir, len(full)-batchStart, int64(batchStart)) })
		}
	})
	t.Run("zeroed", func(t *testing.T) {
		// Zeros after the last append are space allocated ahead of
		// appends (reserve), left by a crash: never a record, not torn,
		// and written over by the next appends.
		dir := copyDir(t, src)
		b := append(bytes.Clone(full[:batchStart]), make([]byte, 4096)...)
		if err := os.WriteFile(filepath.Join(dir, seg), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if st, err := ReadStats(dir); err != nil || st.TornBytes != 0 || st.Bytes != int64(batchStart) {
			t.Fatalf("ReadStats of a segment with reserved space: %+v, %v; want %d bytes, none torn", st, err, batchStart)
		}
		check(t, dir, 0, int64(len(b)))
	})
	t.Run("torn then zeroed", func(t *testing.T) {
		// Half an append and then zeros (a crash before the fsync of a
		// write into reserved space): the whole tail is cut.
		dir := copyDir(t, src)
		b := append(bytes.Clone(full[:lastRecordStart]), make([]byte, 4096)...)
		if err := os.WriteFile(filepath.Join(dir, seg), b, 0o644); err != nil {
			t.Fatal(err)
		}
		check(t, dir, len(b)-batchStart, int64(batchStart))
	})
}

func TestCorruptSealedSegment(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		mustAppend(t, s, record("c", i, 500))
	}
	s.Close()
	segs := segmentFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want several segments, have %v", segs)
	}
	// Flip a data byte of the fifth record of the first segment.
	path := filepath.Join(dir, segs[0])
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	badPos := 4 * frameSize(500)
	b[badPos+headerSize+100] ^= 1
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}

	s = openSpool(t, o, nil)
	r := mustReader(t, s, "sink")
	ctx := context.Background()
	es, err := r.Next(ctx, 100, 0)
	if err != nil || len(es) != 4 {
		t.Fatalf("Next before the damage: %d records, %v; want the 4 intact ones", len(es), err)
	}
	_, err = r.Next(ctx, 100, 0)
	var ce *CorruptError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Next at the damage: %v, want a *CorruptError", err)
	}
	if ce.Segment != segs[0] || ce.Position != badPos || ce.Offset != 5 || ce.NextSegment != 8 {
		t.Fatalf("CorruptError %+v; want segment %s, position %d, offset 5, next segment 8", ce, segs[0], badPos)
	}
	if !strings.Contains(err.Error(), segs[0]) || !strings.Contains(err.Error(), fmt.Sprint(badPos)) {
		t.Errorf("error %q does not name the segment and byte", err)
	}
	// It stays stopped rather than skip silently...
	if _, err := r.Next(ctx, 100, 0); !errors.As(err, &ce) {
		t.Fatalf("second Next at the damage: %v", err)
	}
	// ...until the sink accepts the loss of the rest of the segment.
	if err := r.Commit(ce.NextSegment - 1); err != nil {
		t.Fatalf("Commit past the damage: %v", err)
	}
	es = readN(t, r, 23, 100, 0)
	if es[0].Offset != 8 || !bytes.Equal(es[0].Data, record("c", 7, 500)) {
		t.Fatalf("first record after skipping: offset %d", es[0].Offset)
	}
}

func TestFull(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	o.MaxBytes = 16 << 10 // four segments
	s := openSpool(t, o, nil)
	r := mustReader(t, s, "sink")
	ctx := context.Background()
	var appended int
	var err error
	for {
		_, err = s.Append(ctx, [][]byte{record("f", appended, 1000), record("f", appended+1, 1000)})
		if err != nil {
			break
		}
		appended += 2
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("Append at the cap: %v, want ErrFull", err)
	}
	before := s.Stats()
	if before.Bytes > o.MaxBytes {
		t.Fatalf("spool holds %d bytes, over the cap %d", before.Bytes, o.MaxBytes)
	}
	diskBytes := func() int64 {
		var n int64
		for _, name := range segmentFiles(t, dir) {
			info, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			n += info.Size()
		}
		return n
	}
	// The segment being written may be longer than its records by the
	// space allocated ahead of them (reserve), never beyond its size.
	onDisk := diskBytes()
	if onDisk < before.Bytes || onDisk > before.Bytes+o.SegmentBytes {
		t.Fatalf("%d bytes on disk, stats say %d", onDisk, before.Bytes)
	}
	// A rejected append leaves nothing behind, on disk or in the log.
	for range 3 {
		if _, err := s.Append(ctx, [][]byte{record("f", 999, 1000), record("f", 1000, 1000)}); !errors.Is(err, ErrFull) {
			t.Fatalf("Append while full: %v", err)
		}
	}
	if after := s.Stats(); after.Bytes != before.Bytes || after.NextOffset != before.NextOffset || diskBytes() != onDisk {
		t.Fatalf("a rejected append changed the spool: %+v then %+v", before, after)
	}
	// The sink catches up: segments go and appends work again.
	es := readN(t, r, appended, 1000, 0)
	if err := r.Commit(es[len(es)-1].Offset); err != nil {
		t.Fatal(err)
	}
	off := mustAppend(t, s, []byte("room again"))
	if off != uint64(appended+1) {
		t.Fatalf("append after catching up got offset %d, want %d", off, appended+1)
	}
	if got := readN(t, r, 1, 1, 0); string(got[0].Data) != "room again" {
		t.Fatalf("read %q", got[0].Data)
	}
	// Closed, the segments are exactly their records.
	held := s.Stats().Bytes
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := diskBytes(); got != held {
		t.Fatalf("%d bytes on disk after Close, stats said %d", got, held)
	}
}

func TestTooLarge(t *testing.T) {
	o := testOptions(t.TempDir())
	o.MaxBytes = 64 << 10
	s := openSpool(t, o, nil)
	ctx := context.Background()
	if _, err := s.Append(ctx, [][]byte{make([]byte, MaxRecordBytes+1)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("record over MaxRecordBytes: %v", err)
	}
	if _, err := s.Append(ctx, [][]byte{make([]byte, 30<<10), make([]byte, 30<<10)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("batch over max_bytes less a segment: %v", err)
	}
	if st := s.Stats(); st.Bytes != 0 {
		t.Errorf("rejected appends wrote %d bytes", st.Bytes)
	}
}

func TestDiskFullIsErrFull(t *testing.T) {
	err := writeErr(&os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	if !errors.Is(err, ErrFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("ENOSPC maps to %v, want ErrFull wrapping ENOSPC", err)
	}
	if err := writeErr(syscall.EIO); errors.Is(err, ErrFull) {
		t.Fatalf("EIO maps to ErrFull")
	}
}

// fullDisk is a segment file whose writes stop half way with ENOSPC, as a
// real full disk does.
type fullDisk struct{ *os.File }

func (f fullDisk) WriteAt(b []byte, off int64) (int, error) {
	n, _ := f.File.WriteAt(b[:len(b)/2], off)
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

func TestDiskFull(t *testing.T) {
	o := testOptions(t.TempDir())
	o.SegmentBytes = 64 << 10
	s := openSpool(t, o, nil)
	mustAppend(t, s, []byte("before"))
	// Swap the writer's file between groups: the channel hand-offs order
	// this with the writer goroutine.
	done := make(chan struct{})
	s.reqs <- &appendReq{done: done}
	<-done
	real := s.w.(dataFile).File
	s.w = fullDisk{real}
	_, err := s.Append(context.Background(), [][]byte{record("d", 0, 1000), record("d", 1, 1000)})
	done = make(chan struct{})
	s.reqs <- &appendReq{done: done}
	<-done
	s.w = real
	if !errors.Is(err, ErrFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append on a full disk: %v, want ErrFull", err)
	}
	info, err := os.Stat(filepath.Join(o.Dir, segmentName(1)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() != frameSize(len("before")) {
		t.Fatalf("segment is %d bytes after a failed write, want the partial write cut back to %d", info.Size(), frameSize(6))
	}
	if off := mustAppend(t, s, []byte("after")); off != 2 {
		t.Fatalf("append after the full disk got offset %d, want 2", off)
	}
	r := mustReader(t, s, "sink")
	es := readN(t, r, 2, 10, 0)
	if string(es[0].Data) != "before" || string(es[1].Data) != "after" {
		t.Fatalf("read %q %q", es[0].Data, es[1].Data)
	}
}

func TestRetention(t *testing.T) {
	dir := t.TempDir()
	o := testOptions(dir)
	s := openSpool(t, o, nil)
	fast, slow := mustReader(t, s, "fast"), mustReader(t, s, "slow")
	for i := range 40 {
		mustAppend(t, s, record("k", i, 500))
	}
	segs := len(segmentFiles(t, dir))
	if segs < 5 {
		t.Fatalf("%d segments, want several", segs)
	}
	readN(t, fast, 40, 100, 0)
	if err := fast.Commit(40); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir)); got != segs {
		t.Fatalf("%d segments after the fast reader committed all, want all %d kept for the slow one", got, segs)
	}
	// The slow reader passes the first two segments (7 records each).
	readN(t, slow, 15, 100, 0)
	if err := slow.Commit(14); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir)); got != segs-2 {
		t.Fatalf("%d segments after the slow reader passed two, want %d", got, segs-2)
	}
	if st := s.Stats(); st.FirstOffset != 15 {
		t.Fatalf("FirstOffset %d, want 15", st.FirstOffset)
	}
	// Committing up to the last record of a segment is not yet passing
	// the next one.
	if err := slow.Commit(15); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir)); got != segs-2 {
		t.Fatalf("%d segments, want %d", got, segs-2)
	}
	// A removed sink no longer holds segments; an open one cannot be
	// removed.
	if err := s.RemoveReader("slow"); !errors.Is(err, ErrReaderOpen) {
		t.Fatalf("RemoveReader of an open reader: %v", err)
	}
	slow.Close()
	if err := s.RemoveReader("slow"); err != nil {
		t.Fatal(err)
	}
	if got := len(segmentFiles(t, dir)); got != 1 {
		t.Fatalf("%d segments after removing the slow reader, want only the last", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "slow.cursor")); !os.IsNotExist(err) {
		t.Fatalf("cursor file of a removed reader: %v", err)
	}
	// A new reader starts at the oldest record held.
	late := mustReader(t, s, "late")
	es := readN(t, late, 1, 1, 0)
	if want := s.Stats().FirstOffset; es[0].Offset != want {
		t.Fatalf("new reader starts at %d, want %d", es[0].Offset, want)
	}
}

func TestReaderRegisteredAcrossRestart(t *testing.T) {
	// A reader registered but never committed keeps its segments even
	// when it is not opened after a restart.
	dir := t.TempDir()
	o := testOptions(dir)
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustReader(t, s, "idle")
	mustReader(t, s, "active")
	for i := range 30 {
		mustAppend(t, s, record("z", i, 500))
	}
	s.Close()
	s = openSpool(t, o, nil)
	a := mustReader(t, s, "active")
	readN(t, a, 30, 100, 0)
	if err := a.Commit(30); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.FirstOffset != 1 {
		t.Fatalf("segments deleted while the idle reader needs them: %+v", st)
	}
}

func TestReaderNames(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	for _, name := range []string{"store", "my sink/../x", "ünïcode", ".hidden", "a.cursor"} {
		r := mustReader(t, s, name)
		mustAppend(t, s, []byte(name))
		es := readN(t, r, 1, 100, 0)
		if err := r.Commit(es[len(es)-1].Offset); err != nil {
			t.Fatalf("%q: Commit: %v", name, err)
		}
		if _, err := s.Reader(name); !errors.Is(err, ErrReaderOpen) {
			t.Fatalf("%q opened twice: %v", name, err)
		}
		r.Close()
	}
	if _, err := s.Reader(""); err == nil {
		t.Fatal("empty reader name accepted")
	}
	if _, err := s.Reader(strings.Repeat("x", 65)); err == nil {
		t.Fatal("overlong reader name accepted")
	}
	files, _ := filepath.Glob(filepath.Join(s.opts.Dir, "*"+cursorSuffix))
	if len(files) != 5 {
		t.Fatalf("cursor files %v", files)
	}
	st := s.Stats()
	if len(st.Readers) != 5 {
		t.Fatalf("readers %+v", st.Readers)
	}
}

func TestNextWaits(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	r := mustReader(t, s, "sink")
	got := make(chan []Entry)
	go func() {
		es, err := r.Next(context.Background(), 10, 0)
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		got <- es
	}()
	select {
	case es := <-got:
		t.Fatalf("Next returned %v before anything was appended", es)
	case <-time.After(50 * time.Millisecond):
	}
	mustAppend(t, s, []byte("hello"))
	select {
	case es := <-got:
		if len(es) != 1 || string(es[0].Data) != "hello" {
			t.Fatalf("Next returned %v", es)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next did not wake on append")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := r.Next(ctx, 10, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with nothing to read: %v", err)
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(testOptions(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustReader(t, s, "sink")
	blocked := make(chan error)
	go func() {
		_, err := r.Next(context.Background(), 1, 0)
		blocked <- err
	}()
	time.Sleep(10 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-blocked; !errors.Is(err, ErrClosed) {
		t.Fatalf("blocked Next after Close: %v", err)
	}
	if _, err := s.Append(context.Background(), [][]byte{[]byte("x")}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close: %v", err)
	}
	if err := r.Commit(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	s := openSpool(t, testOptions(dir), nil)
	if _, err := Open(testOptions(dir), nil); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("second Open: %v, want ErrLocked naming the dir", err)
	}
	if _, err := ReadStats(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("ReadStats of an open spool: %v", err)
	}
	s.Close()
	s2, err := Open(testOptions(dir), nil)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}

func TestReadStats(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(testOptions(dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := mustReader(t, s, "a"), mustReader(t, s, "b")
	for i := range 50 {
		mustAppend(t, s, record("s", i, 300))
	}
	readN(t, a, 50, 100, 0)
	readN(t, b, 20, 100, 0)
	if err := a.Commit(50); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(17); err != nil {
		t.Fatal(err)
	}
	live := s.Stats()
	s.Close()
	// The first segment's file became the spare, which Close removes.
	if writesOverSpare && live.SpareBytes != 12*frameSize(300) {
		t.Fatalf("spare %d bytes, want the first segment's %d", live.SpareBytes, 12*frameSize(300))
	}
	live.SpareBytes = 0
	disk, err := ReadStats(dir)
	if err != nil {
		t.Fatal(err)
	}
	disk.MaxBytes = live.MaxBytes
	if fmt.Sprint(live) != fmt.Sprint(disk) {
		t.Fatalf("Stats %+v\nReadStats %+v", live, disk)
	}
	if live.Readers[0].LagRecords != 0 || live.Readers[1].LagRecords != 33 || live.Readers[1].LagBytes != 33*frameSize(300) {
		t.Fatalf("reader lag %+v, want a: 0; b: 33 records of %d bytes", live.Readers, frameSize(300))
	}
	// 316-byte frames, 12 to a segment: b's cursor (17) has passed the
	// first segment only.
	if live.Records != 50-12 || live.FirstOffset != 13 {
		t.Fatalf("Stats %+v: want the first segment (12 records) deleted", live)
	}
	// A torn tail is reported, not cut.
	segs := segmentFiles(t, dir)
	path := filepath.Join(dir, segs[len(segs)-1])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("torn"))
	f.Close()
	disk, err = ReadStats(dir)
	if err != nil {
		t.Fatal(err)
	}
	if disk.TornBytes != 4 || disk.Records != live.Records {
		t.Fatalf("ReadStats with a torn tail: %+v", disk)
	}
	if info, _ := os.Stat(path); info.Size() != live.Bytes-int64(0)-sizeOthers(t, dir, segs)+4 {
		t.Fatalf("ReadStats changed the segment")
	}
}

// sizeOthers sums the sizes of every segment but the last.
func sizeOthers(t *testing.T, dir string, segs []string) int64 {
	var n int64
	for _, s := range segs[:len(segs)-1] {
		info, err := os.Stat(filepath.Join(dir, s))
		if err != nil {
			t.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

func TestCursorPastEnd(t *testing.T) {
	// Records appended without fsync are lost in a machine crash while
	// the cursor that passed them survived: the reader is pulled back so
	// new records are not skipped.
	dir := t.TempDir()
	o := testOptions(dir)
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustReader(t, s, "sink")
	for i := range 5 {
		mustAppend(t, s, record("e", i, 100))
	}
	readN(t, r, 5, 10, 0)
	if err := r.Commit(5); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Truncate(filepath.Join(dir, segmentName(1)), 3*frameSize(100)); err != nil {
		t.Fatal(err)
	}
	logs := &logRecorder{}
	s = openSpool(t, o, sloggerFor(logs))
	if _, ok := logs.find(slogLevelWarn, "past the last record"); !ok {
		t.Error("no warning about the cursor past the end")
	}
	r = mustReader(t, s, "sink")
	off := mustAppend(t, s, []byte("new"))
	es := readN(t, r, 1, 10, 0)
	if es[0].Offset != off || string(es[0].Data) != "new" {
		t.Fatalf("read %d %q, want the new record %d", es[0].Offset, es[0].Data, off)
	}
}

func TestCursorHintChecked(t *testing.T) {
	// A cursor file whose byte position is wrong (edited by hand, or
	// from an older layout) is placed by scanning, not trusted.
	dir := t.TempDir()
	o := testOptions(dir)
	s, err := Open(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := mustReader(t, s, "sink")
	for i := range 5 {
		mustAppend(t, s, record("h", i, 100))
	}
	readN(t, r, 3, 10, 0)
	if err := r.Commit(3); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := writeCursor(dir, cursorFile{Reader: "sink", Committed: 3, Segment: 1, Position: 7}, false); err != nil {
		t.Fatal(err)
	}
	s = openSpool(t, o, nil)
	r = mustReader(t, s, "sink")
	es := readN(t, r, 2, 10, 0)
	if es[0].Offset != 4 || !bytes.Equal(es[0].Data, record("h", 3, 100)) {
		t.Fatalf("read offset %d after a bad hint, want 4", es[0].Offset)
	}
	if st := s.Stats(); st.Readers[0].LagBytes != 2*frameSize(100) {
		t.Fatalf("lag %+v", st.Readers[0])
	}
}

func TestCommitAhead(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	r := mustReader(t, s, "sink")
	for i := range 30 {
		mustAppend(t, s, record("a", i, 500))
	}
	if err := r.Commit(31); err == nil {
		t.Fatal("Commit past the last record accepted")
	}
	if err := r.Commit(20); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(10); err != nil {
		t.Fatalf("Commit below the committed offset: %v", err)
	}
	es := readN(t, r, 10, 100, 0)
	if es[0].Offset != 21 {
		t.Fatalf("read from %d after committing 20, want 21", es[0].Offset)
	}
}

func TestFsyncInterval(t *testing.T) {
	o := testOptions(t.TempDir())
	o.Fsync, o.FsyncInterval = FsyncInterval, 5*time.Millisecond
	s := openSpool(t, o, nil)
	mustAppend(t, s, []byte("x"))
	if f := s.fsyncs.Load(); f != 0 {
		t.Fatalf("%d fsyncs right after an append with fsync interval", f)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.fsyncs.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no fsync within 5s with fsync_interval 5ms")
		}
		time.Sleep(time.Millisecond)
	}
	// Nothing new written: the ticker does not fsync again.
	n := s.fsyncs.Load()
	time.Sleep(30 * time.Millisecond)
	if s.fsyncs.Load() != n {
		t.Fatalf("fsyncs went on with nothing written")
	}
}

func TestAppendContext(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, [][]byte{[]byte("x")}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context: %v", err)
	}
	if off, err := s.Append(context.Background(), nil); off != 0 || err != nil {
		t.Fatalf("empty Append: %d, %v", off, err)
	}
	if st := s.Stats(); st.Records != 0 {
		t.Fatalf("Stats %+v", st)
	}
}

// A reader can commit what it delivered while another goroutine waits in
// Next for more: delivery reads ahead that way.
func TestCommitWhileNextWaits(t *testing.T) {
	s := openSpool(t, testOptions(t.TempDir()), nil)
	off := mustAppend(t, s, record("a", 0, 10))
	r := mustReader(t, s, "sink")
	if got, err := r.Next(context.Background(), 10, 0); err != nil || len(got) != 1 {
		t.Fatalf("Next: %v, %d entries", err, len(got))
	}
	waiting := make(chan []Entry)
	go func() {
		got, err := r.Next(context.Background(), 10, 0)
		if err != nil {
			t.Errorf("waiting Next: %v", err)
		}
		waiting <- got
	}()
	time.Sleep(20 * time.Millisecond) // let it wait
	committed := make(chan error)
	go func() { committed <- r.Commit(off) }()
	select {
	case err := <-committed:
		if err != nil {
			t.Fatalf("Commit: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Commit blocked while Next waited for records")
	}
	next := mustAppend(t, s, record("a", 1, 10))
	if got := <-waiting; len(got) != 1 || got[0].Offset != next {
		t.Fatalf("waiting Next returned %+v; want the record at %d", got, next)
	}
}

// TestReadSizedByRecords checks that a read for a few records reads about
// what they take, once the reader has seen their size, rather than a whole
// 1 MiB chunk that the entries would keep alive; and that records of that
// size still come maxRecords at a time.
func TestReadSizedByRecords(t *testing.T) {
	o := testOptions(t.TempDir())
	o.SegmentBytes = 64 << 20
	s := openSpool(t, o, nil)
	var recs [][]byte
	for i := range 5000 {
		recs = append(recs, record("r", i, 1000))
	}
	mustAppend(t, s, recs...)
	r := mustReader(t, s, "sink")
	ctx := context.Background()
	frame := frameSize(1000)
	for i := range 4 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		es, err := r.Next(ctx, 100, 4<<20)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 100 {
			t.Fatalf("read %d: %d records, want 100", i, len(es))
		}
		for j, e := range es {
			if want := record("r", i*100+j, 1000); string(e.Data) != string(want) {
				t.Fatalf("read %d, record %d: %.20q, want %.20q", i, j, e.Data, want)
			}
		}
		// The first read does not know the records' size yet; the next
		// ones allocate about what 100 records take (the buffer with a
		// quarter to spare, the entries), not 1 MiB.
		if alloc := after.TotalAlloc - before.TotalAlloc; i > 0 && alloc > uint64(2*100*frame) {
			t.Fatalf("read %d of 100 records of %d bytes allocated %d bytes", i, frame, alloc)
		}
	}
}
