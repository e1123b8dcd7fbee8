package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"
)

// TestNextIntoReusesItsBuffer: NextInto reads into the buffer it is
// given, the same memory read after read, growing it when a read needs
// more; the records it returns are those Next returns.
func TestNextIntoReusesItsBuffer(t *testing.T) {
	s, r, _ := spoolOfRecords(t, 40)
	ctx := context.Background()
	var buf ReadBuffer
	at := func(es []Entry) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(es[0].Data))) }
	var first uintptr
	next := 0
	for _, n := range []int{5, 5, 5, 20} {
		es, err := r.NextInto(ctx, n, 0, &buf)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != n {
			t.Fatalf("read %d records, want %d", len(es), n)
		}
		for _, e := range es {
			if want := record("r", next, 200); !bytes.Equal(e.Data, want) || e.Offset != uint64(next+1) {
				t.Fatalf("record at offset %d is %.12q, want offset %d, %.12q", e.Offset, e.Data, next+1, want)
			}
			next++
		}
		switch {
		case first == 0:
			first = at(es)
		case n == 5 && at(es) != first:
			t.Errorf("a read of %d records went to new memory, not the buffer given", n)
		}
	}
	if at := uintptr(unsafe.Pointer(unsafe.SliceData(buf.data))); at == first {
		t.Error("a read larger than the buffer was not given more memory")
	}

	// A record larger than a read gets a buffer of its own size, which
	// the reads after it do not keep.
	if es, err := r.NextInto(ctx, 5, 0, &buf); err != nil || len(es) != 5 {
		t.Fatalf("read %d of the last 5 records (%v)", len(es), err)
	}
	big := bytes.Repeat([]byte("b"), 3*readChunk)
	mustAppend(t, s, big, record("r", 41, 200))
	es, err := r.NextInto(ctx, 1, 0, &buf)
	if err != nil || len(es) != 1 || !bytes.Equal(es[0].Data, big) {
		t.Fatalf("read %d records (%v); want the large one", len(es), err)
	}
	if _, err := r.NextInto(ctx, 1, 0, &buf); err != nil {
		t.Fatal(err)
	}
	if cap(buf.data) > readChunk {
		t.Errorf("the buffer kept %d bytes after the large record; want at most %d", cap(buf.data), readChunk)
	}
}

// TestNextIntoSegmentCutShort: a segment shorter on disk than the spool
// knows reads as damaged into a buffer that held an earlier read, as into
// new memory, never as the earlier read's bytes.
func TestNextIntoSegmentCutShort(t *testing.T) {
	for _, used := range []bool{false, true} {
		_, r, dir := spoolOfRecords(t, 6)
		var buf ReadBuffer
		if used {
			// The buffer holds records 1 to 3, at the start of the memory
			// the next read's tail falls on.
			if _, err := r.NextInto(context.Background(), 3, 0, &buf); err != nil {
				t.Fatal(err)
			}
			r.pos, r.next, r.marks = 0, 1, nil
		}
		seg := filepath.Join(dir, segmentName(1))
		if err := os.Truncate(seg, frameSize(200)*2+10); err != nil {
			t.Fatal(err)
		}
		es, err := r.NextInto(context.Background(), 6, 0, &buf)
		if len(es) != 2 || err != nil {
			t.Fatalf("used buffer %v: read %d records (%v) before the cut; want 2", used, len(es), err)
		}
		_, err = r.NextInto(context.Background(), 6, 0, &buf)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Fatalf("used buffer %v: read past the cut gave %v; want a CorruptError", used, err)
		}
	}
}

// spoolOfRecords opens a spool in a directory of its own holding n
// records of 200 bytes, one append each, in its first segment, and a
// reader of them.
func spoolOfRecords(t *testing.T, n int) (*Spool, *Reader, string) {
	t.Helper()
	o := testOptions(t.TempDir())
	o.SegmentBytes = 1 << 20
	s := openSpool(t, o, nil)
	for i := range n {
		mustAppend(t, s, record("r", i, 200))
	}
	return s, mustReader(t, s, "sink"), o.Dir
}
