package spool

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/accord-events/accord/internal/atomicfile"
)

// File names in the spool directory.
const (
	lockName      = "LOCK"
	segmentSuffix = ".seg"
	cursorSuffix  = ".cursor"
	// spareName is a delivered segment's file kept for the next segment
	// to be written over (see Spool.roll). It is no segment's name, so
	// recovery and ReadStats never take it for one.
	spareName = "spare.segment"
)

// segmentName is the file name of the segment whose first record has the
// given offset: the offset in 20 decimal digits, so names sort by offset.
func segmentName(base uint64) string {
	return fmt.Sprintf("%020d%s", base, segmentSuffix)
}

// parseSegmentName returns the base offset a segment file name carries.
func parseSegmentName(name string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, segmentSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	base, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || base == 0 {
		return 0, false
	}
	return base, true
}

func leUint64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// removeTemps removes cursor files left half-written by a crash.
func removeTemps(dir string) error {
	names, err := filepath.Glob(filepath.Join(dir, "*"+atomicfile.TempSuffix))
	if err != nil {
		return fmt.Errorf("list spool temp files: %w", err)
	}
	for _, n := range names {
		if err := os.Remove(n); err != nil {
			return fmt.Errorf("remove spool temp file: %w", err)
		}
	}
	return nil
}

// tailState says what a scan of the last segment found past its last
// complete batch.
type tailState struct {
	cut     int64  // bytes past the last complete batch
	records uint64 // intact records among them (a batch cut short)
	reason  error
	// reserved is the bytes past the last complete batch when they are
	// all zeros: space the writer allocated ahead of its appends (see
	// Spool.reserve) and never wrote, or when an end marker starts them:
	// a delivered segment's old bytes in a file written over (see
	// Spool.roll). It is not a torn tail.
	reserved int64
	// reused says the reserved bytes follow an end marker: they are not
	// zeros, so the writer ends every commit with a marker of its own.
	reused bool
}

// state is a spool as found on disk.
type state struct {
	segs    []*segment // sizes with the torn tail and reserved space already left out
	next    uint64
	tail    tailState
	cursors map[string]*cursor
}

// loadState reads a spool directory without changing it: segment list and
// sizes, the clean end of the last segment, and the cursors.
func loadState(dir string) (*state, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	st := &state{cursors: map[string]*cursor{}}
	for _, e := range entries {
		name := e.Name()
		if base, ok := parseSegmentName(name); ok && e.Type().IsRegular() {
			info, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("stat spool segment %s: %w", name, err)
			}
			st.segs = append(st.segs, &segment{base: base, name: name, size: info.Size()})
			continue
		}
		if strings.HasSuffix(name, cursorSuffix) {
			c, err := readCursor(filepath.Join(dir, name))
			if err != nil {
				return nil, err
			}
			st.cursors[c.name] = c
		}
	}
	sort.Slice(st.segs, func(i, j int) bool { return st.segs[i].base < st.segs[j].base })
	if len(st.segs) == 0 {
		return st, nil
	}
	last := st.segs[len(st.segs)-1]
	f, err := os.Open(filepath.Join(dir, last.name))
	if err != nil {
		return nil, fmt.Errorf("open spool segment %s: %w", last.name, err)
	}
	defer f.Close()
	end, next, tail, err := scanTail(f, last.base, last.size)
	if err != nil {
		return nil, fmt.Errorf("scan spool segment %s: %w", last.name, err)
	}
	last.size, st.next, st.tail = end, next, tail
	return st, nil
}

// scanTail reads a last segment from the start and returns the end of its
// last complete batch, the offset after it, and what lies beyond. Records
// are kept only up to the last one that ends a batch and whose offsets
// follow on from base; everything after is a torn tail.
func scanTail(f *os.File, base uint64, size int64) (int64, uint64, tailState, error) {
	sc := newScanner(f, size)
	var (
		end    int64
		next   = base
		want   = base
		reason error
	)
	for {
		fr, err := sc.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !isFrameErr(err) {
				return 0, 0, tailState{}, err
			}
			reason = scanReason(err)
			break
		}
		if fr.offset != want {
			reason = fmt.Errorf("record has offset %d, want %d", fr.offset, want)
			break
		}
		want++
		if fr.last {
			end, next = sc.pos, want
		}
	}
	if end == size {
		return end, next, tailState{}, nil
	}
	if size-end >= headerSize {
		var b [headerSize]byte
		if _, err := f.ReadAt(b[:], end); err != nil {
			return 0, 0, tailState{}, fmt.Errorf("read spool segment: %w", err)
		}
		if isEndMarker(b[:], next) {
			// The last commit's end marker, not yet written over: the
			// bytes after it are left from the file's earlier life.
			return end, next, tailState{reserved: size - end, reused: true}, nil
		}
	}
	zeros, err := allZero(f, end, size)
	if err != nil {
		return 0, 0, tailState{}, err
	}
	if zeros {
		// Only reserved space follows the last batch: a clean end. (The
		// CRC-32C of a zero header is not zero, so zeros are never read
		// as a record.)
		return end, next, tailState{reserved: size - end}, nil
	}
	if reason == nil {
		reason = errors.New("batch without its last record")
	}
	return end, next, tailState{cut: size - end, records: want - next, reason: reason}, nil
}

// allZero reports whether f[from:to] is all zeros. It reads backwards,
// where reserved space ends and a torn write's bytes are found first.
func allZero(f *os.File, from, to int64) (bool, error) {
	buf := make([]byte, min(to-from, 64<<10))
	for to > from {
		b := buf[:min(int64(len(buf)), to-from)]
		if _, err := f.ReadAt(b, to-int64(len(b))); err != nil {
			return false, fmt.Errorf("read spool segment: %w", err)
		}
		for _, c := range b {
			if c != 0 {
				return false, nil
			}
		}
		to -= int64(len(b))
	}
	return true, nil
}

// cutTail truncates a segment to size and makes the cut durable.
func cutTail(path string, size int64, sync bool) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open spool segment to cut its tail: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("cut spool segment tail: %w", err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("fsync spool segment after cutting its tail: %w", err)
		}
	}
	return nil
}

func isFrameErr(err error) bool {
	return errors.Is(err, errTruncated) || errors.Is(err, errChecksum) || errors.Is(err, errLength)
}

// scanReason turns a scanner error into the reason a frame is bad.
func scanReason(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("segment ends before the record")
	}
	return err
}

// scanner reads frames one after another from a segment.
type scanner struct {
	r   *bufio.Reader
	pos int64 // where the next frame starts
	buf []byte
}

func newScanner(f *os.File, size int64) *scanner {
	return &scanner{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10)}
}

// next returns the next frame; its data is valid until the following call.
// It returns io.EOF at a clean end and a frame error (errTruncated for a
// frame the segment ends inside) otherwise.
func (sc *scanner) next() (frame, error) {
	if cap(sc.buf) < headerSize {
		sc.buf = make([]byte, 0, 64<<10)
	}
	b := sc.buf[:headerSize]
	n, err := io.ReadFull(sc.r, b)
	if n == 0 && err == io.EOF {
		return frame{}, io.EOF
	}
	if err == io.ErrUnexpectedEOF {
		return frame{}, errTruncated
	}
	if err != nil {
		return frame{}, fmt.Errorf("read spool segment: %w", err)
	}
	fr, need, err := decodeFrame(b)
	if errors.Is(err, errTruncated) {
		if cap(sc.buf) < need {
			sc.buf = append(make([]byte, 0, need), b...)
		}
		b = sc.buf[:need]
		if _, err := io.ReadFull(sc.r, b[headerSize:]); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return frame{}, errTruncated
			}
			return frame{}, fmt.Errorf("read spool segment: %w", err)
		}
		fr, need, err = decodeFrame(b)
	}
	if err != nil {
		return frame{}, err
	}
	sc.pos += int64(need)
	return fr, nil
}

// ReadStats computes Stats from a spool directory that no process has open,
// without changing anything on disk (accord spool status). It fails with an
// error matching ErrLocked while a process has the spool open; ask that
// process instead.
func ReadStats(dir string) (Stats, error) {
	if _, err := os.Stat(dir); err != nil {
		return Stats{}, fmt.Errorf("read spool dir: %w", err)
	}
	lock, err := lockDir(filepath.Join(dir, lockName))
	if err != nil {
		return Stats{}, err
	}
	defer unlockDir(lock)
	st, err := loadState(dir)
	if err != nil {
		return Stats{}, err
	}
	if len(st.segs) == 0 {
		for _, c := range st.cursors {
			st.next = max(st.next, c.committed+1)
		}
		st.next = max(st.next, 1)
	}
	for _, c := range st.cursors {
		// Clamp as Open would; lag is counted from the cursor's stored
		// position, which Open checks and ReadStats trusts.
		if len(st.segs) > 0 && c.committed+1 < st.segs[0].base {
			c.committed, c.seg, c.pos = st.segs[0].base-1, st.segs[0].base, 0
		}
		if c.committed >= st.next {
			c.committed = st.next - 1
			if len(st.segs) > 0 {
				last := st.segs[len(st.segs)-1]
				c.seg, c.pos = last.base, last.size
			}
		}
	}
	out := statsOf(st.segs, st.next, st.cursors)
	out.TornBytes = st.tail.cut
	if info, err := os.Lstat(filepath.Join(dir, spareName)); err == nil && info.Mode().IsRegular() {
		out.SpareBytes = info.Size()
	}
	return out, nil
}
