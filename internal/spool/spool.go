package spool

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/iouring"
)

// Offset is a record's number in the spool: the first record ever appended
// is 1, and each record takes the next number, across segments and restarts.
// Offset 0 means "no record" (the committed offset of a reader that has
// delivered nothing).
type Offset = uint64

// fullError is ErrFull's type: backpressure, not a fault.
type fullError struct{}

func (fullError) Error() string { return "spool full" }

// Backpressure reports that the records were refused for now, to be sent
// again once sinks catch up.
func (fullError) Backpressure() bool { return true }

// Errors callers branch on.
var (
	// ErrFull means the append would take the spool past max_bytes, or
	// the disk is full; nothing of the batch was written. The collector
	// answers 503 with Retry-After: the error says so with its
	// Backpressure method, so the HTTP layer can tell it apart without
	// importing the spool.
	ErrFull error = fullError{}
	// ErrTooLarge means a record or batch can never fit: a record is over
	// MaxRecordBytes, or a batch over max_bytes less one segment.
	ErrTooLarge = errors.New("record or batch too large for the spool")
	// ErrClosed is returned by calls on a closed spool or reader.
	ErrClosed = errors.New("spool closed")
	// ErrLocked means another process has the spool directory open.
	ErrLocked = errors.New("spool in use by another process")
	// ErrCorrupt is matched (with errors.Is) by every *CorruptError.
	ErrCorrupt = errors.New("spool corrupt")
)

// CorruptError reports bytes in a segment that are not a valid record where
// one should be. A reader returns it rather than deliver junk.
type CorruptError struct {
	// Segment is the segment file's name.
	Segment string
	// Position is the byte position in the segment of the bad frame.
	Position int64
	// Offset is the record offset that was expected there.
	Offset uint64
	// NextSegment is the first offset of the following segment, or 0 when
	// the bad segment is the last one. A sink that accepts the loss can
	// skip the rest of the bad segment with Commit(NextSegment-1).
	NextSegment uint64
	// Reason says what is wrong.
	Reason error
}

// Error names the segment, byte position and offset of the damage.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("spool segment %s corrupt at byte %d (record offset %d): %v", e.Segment, e.Position, e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// Unwrap returns the reason.
func (e *CorruptError) Unwrap() error { return e.Reason }

// Spool is a durable, append-only, segmented log of records with named,
// persisted reader cursors. Its methods are safe for concurrent use.
type Spool struct {
	opts Options
	log  *slog.Logger
	lock *os.File

	reqs chan *appendReq
	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	// fileMu guards read handles against being closed while a reader
	// reads: readers hold it shared, Close and segment deletion exclusive.
	fileMu sync.RWMutex

	mu      sync.Mutex
	segs    []*segment // by base offset; the last is the one being written
	next    uint64     // offset the next appended record takes
	held    int64      // bytes of all segments
	cursors map[string]*cursor
	notify  chan struct{} // closed and replaced when records are appended
	closed  bool
	// spare is the size of the spare file (spareName), a delivered
	// segment's file kept for the next segment to be written over; 0 when
	// there is none. See keepsSpare. noSpare keeps none (benchmarks set it,
	// to measure what the spare saves).
	spare   int64
	noSpare bool

	// Owned by the writer goroutine.
	w     segmentFile // the last segment, open for writing
	wsize int64
	// reserved is how far the file may reach past wsize, allocated ahead
	// of the appends to w (see reserve): zeros up to there, cut by
	// unreserve. noReserve stops reserving until the next segment, after
	// the file system refused.
	reserved  int64
	noReserve bool
	// stale says the bytes up to reserved are a delivered segment's old
	// ones, not zeros (the file was the spare): every commit then ends
	// with an end marker, so that recovery tells them from a torn write.
	stale  bool
	dirty  bool // written since the last fsync
	broken error
	buf    []byte
	pieces []commitPiece

	// ring, when the kernel gives one, flushes the group commits of
	// spool.fsync batch (see syncGroup); nil otherwise. Opened with the
	// spool, closed by Close.
	ring *iouring.Ring

	// fsyncs and writes count segment fsyncs and writes, ringSyncs the
	// fsyncs made through the ring, and reuses the segments written over
	// a spare, for tests and benchmarks.
	fsyncs, writes, ringSyncs, reuses atomic.Int64
}

// segmentFile is the write side of the last segment: a dataFile, or in
// tests one that fails on cue.
type segmentFile interface {
	WriteAt(b []byte, off int64) (int, error)
	Truncate(size int64) error
	Sync() error
	Close() error
}

// allocator is a segmentFile that can allocate space ahead of its writes.
type allocator interface {
	// Allocate allocates the bytes [off, off+n) and extends the file to
	// off+n if it is shorter; the new bytes read as zeros.
	Allocate(off, n int64) error
}

// reserveBytes is how far ahead of its appends the spool allocates the
// segment it writes, with spool.fsync batch. A commit's fsync of a write
// that extends a file also writes the file's new size and blocks (a
// journal commit, or on ext4 without a journal the inode and the block
// bitmaps); into space already allocated and inside the file's size,
// fdatasync writes the data and little else. On this project's test
// machine that took a commit's fsync from 0.12–0.15 to 0.08 ms (p50) and
// its CPU from 53–63 to 33–43 µs, and on a journaled ext4 from 0.32–0.53
// to 0.18 ms (scripts/measure-fsync, docs/performance-log.md). 4 MiB is a few
// thousand single-event requests' records: one allocation in that many
// commits, and at most that much disk allocated and not yet written.
const reserveBytes = 4 << 20

// segment is one segment file. size and rf are guarded by Spool.mu (rf's
// closing also by fileMu).
type segment struct {
	base uint64
	name string
	size int64
	rf   *os.File // opened for reading on first use
}

// commitPiece is one piece of a group commit, written in order: the
// frames of an AppendFrames from its own buffer, or a run of records
// copied into the commit buffer (by position, as the buffer may move as
// it grows).
type commitPiece struct {
	frames   []byte
	from, to int // in the commit buffer, when frames is nil
}

type appendReq struct {
	records [][]byte
	// frames, when set, holds the records instead, laid out as frames.
	frames *Frames
	// release, when set, hands frames back to the caller once the
	// commit no longer reads them (see AppendFrames).
	release func(*Frames)
	bytes   int64 // framed size
	first   uint64
	err     error
	done    chan struct{}
}

// maxGroup bounds how many Append calls one group commit takes.
const maxGroup = 4096

// An AppendFrames of at most coalesceFrames bytes is copied into the group
// commit's buffer, while that holds at most coalesceBytes, rather than
// written from its own buffer: under single-event requests a group is then
// one write, not one a request (each a syscall, and syscalls are most of a
// small request's cost), for a copy of about a KiB each. Larger batches are
// still written where they were encoded, and the buffer kept between
// commits stays small.
const (
	coalesceFrames = 64 << 10
	coalesceBytes  = 1 << 20
)

// Open opens the spool in opts.Dir, creating it when missing, and recovers
// it: the last segment is scanned and a torn or corrupt tail (or the start
// of a batch whose last record never made it to disk) is cut and logged at
// warn. Only one process may have a spool open; a second Open fails with an
// error matching ErrLocked.
func Open(opts Options, logger *slog.Logger) (*Spool, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("spool options: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	lock, err := lockDir(filepath.Join(opts.Dir, lockName))
	if err != nil {
		return nil, err
	}
	s := &Spool{
		opts:   opts,
		log:    logger,
		lock:   lock,
		reqs:   make(chan *appendReq),
		done:   make(chan struct{}),
		notify: make(chan struct{}),
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		unlockDir(lock)
		return nil, err
	}
	if opts.Fsync == FsyncBatch {
		s.openRing()
	}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

// openRing sets up the ring for the group commits, or says why there is
// none: the spool works as well without, with the system call.
func (s *Spool) openRing() {
	open := s.opts.openRing
	if open == nil {
		open = iouring.Open
	}
	ring, err := open(func(err error) {
		s.log.Warn("spool: io_uring failed; group commits are flushed with fdatasync system calls from now on", "error", err)
	})
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return
	case err != nil:
		s.log.Info("spool: io_uring unavailable; group commits are flushed with fdatasync system calls", "reason", err.Error())
		return
	}
	s.ring = ring
}

// recover loads the segments and cursors from disk and makes the last
// segment's tail clean.
func (s *Spool) recover() error {
	dir := s.opts.Dir
	if err := removeTemps(dir); err != nil {
		return err
	}
	st, err := loadState(dir)
	if err != nil {
		return err
	}
	sync := s.opts.Fsync != FsyncNever
	if len(st.segs) == 0 {
		// A new spool, or one whose segments were removed by hand: never
		// hand out an offset a cursor already passed.
		base := uint64(1)
		for _, c := range st.cursors {
			base = max(base, c.committed+1)
		}
		seg := &segment{base: base, name: segmentName(base)}
		f, err := os.OpenFile(filepath.Join(dir, seg.name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("create spool segment %s: %w", seg.name, err)
		}
		f.Close()
		if sync {
			if err := atomicfile.SyncDir(dir); err != nil {
				return err
			}
		}
		st.segs = []*segment{seg}
		st.next = base
	} else if st.tail.cut > 0 {
		last := st.segs[len(st.segs)-1]
		if err := cutTail(filepath.Join(dir, last.name), last.size, sync); err != nil {
			return err
		}
		s.log.Warn("spool: cut torn tail of last segment",
			"segment", last.name, "offset", last.size, "bytes_cut", st.tail.cut,
			"records_cut", st.tail.records, "reason", st.tail.reason.Error())
	} else if st.tail.reserved > 0 && s.opts.Fsync != FsyncBatch {
		// Space reserved under fsync batch before a crash; this policy
		// reserves none (see reserve), so it is cut now.
		last := st.segs[len(st.segs)-1]
		if err := cutTail(filepath.Join(dir, last.name), last.size, sync); err != nil {
			return err
		}
		st.tail.reserved, st.tail.reused = 0, false
	}
	s.segs, s.next, s.cursors = st.segs, st.next, st.cursors
	for _, seg := range s.segs {
		s.held += seg.size
	}
	if err := s.recoverSpare(); err != nil {
		return err
	}
	for _, c := range s.cursors {
		if err := s.placeCursor(c); err != nil {
			return err
		}
	}
	last := s.segs[len(s.segs)-1]
	w, err := os.OpenFile(filepath.Join(dir, last.name), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open spool segment %s: %w", last.name, err)
	}
	// Space reserved before a crash is written over by the next appends.
	s.w, s.wsize, s.reserved, s.stale = newDataFile(w), last.size, last.size+st.tail.reserved, st.tail.reused
	return nil
}

// recoverSpare keeps the spare file found on disk for the next segment,
// or removes it where this policy keeps none or max_bytes has no room for
// it (a cap lowered since it was kept).
func (s *Spool) recoverSpare() error {
	path := filepath.Join(s.opts.Dir, spareName)
	info, err := os.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("stat spool spare file: %w", err)
	case s.keepsSpare() && info.Mode().IsRegular() && info.Size() > 0 && s.spareFits(s.held+info.Size()) && s.segs[len(s.segs)-1].size > 0:
		// (An empty segment takes a batch of any size without starting
		// the next: see spareFits.)
		s.spare = info.Size()
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove spool spare file: %w", err)
	}
	return nil
}

// placeCursor clamps a loaded cursor into the retained records and makes
// sure its byte position is that of the record after the committed one.
func (s *Spool) placeCursor(c *cursor) error {
	first := s.segs[0].base
	switch {
	case c.committed+1 < first:
		// Its segments were deleted: everything before first was
		// delivered by every reader that was registered then.
		c.committed = first - 1
		c.seg, c.pos = first, 0
		return nil
	case c.committed >= s.next:
		// The cursor passed records that are no longer on disk (appended
		// without fsync and lost in a crash of the machine). Pull it back
		// so the records appended from now on are read.
		s.log.Warn("spool: reader cursor is past the last record; records appended without fsync were lost",
			"reader", c.name, "committed", c.committed, "last", s.next-1)
		c.committed = s.next - 1
		last := s.segs[len(s.segs)-1]
		c.seg, c.pos = last.base, last.size
		return nil
	}
	if s.cursorValid(c) {
		return nil
	}
	seg, pos, err := s.locate(c.committed + 1)
	if err != nil {
		return fmt.Errorf("place spool reader %s: %w", c.name, err)
	}
	c.seg, c.pos = seg, pos
	return nil
}

// cursorValid reports whether a cursor's stored byte position holds the
// record after its committed offset.
func (s *Spool) cursorValid(c *cursor) bool {
	i := s.segIndex(c.seg)
	if i < 0 {
		return false
	}
	seg := s.segs[i]
	want := c.committed + 1
	switch {
	case c.pos < 0 || c.pos > seg.size:
		return false
	case c.pos == seg.size:
		if i == len(s.segs)-1 {
			return want == s.next
		}
		return s.segs[i+1].base == want
	}
	f, err := s.readHandle(seg)
	if err != nil {
		return false
	}
	var h [headerSize]byte
	if _, err := f.ReadAt(h[:], c.pos); err != nil {
		return false
	}
	return leUint64(h[8:]) == want
}

// segIndex returns the index of the segment with the given base, or -1.
func (s *Spool) segIndex(base uint64) int {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].base >= base })
	if i < len(s.segs) && s.segs[i].base == base {
		return i
	}
	return -1
}

// segFor returns the index of the segment that holds offset: the last one
// whose base is not above it.
func (s *Spool) segFor(offset uint64) int {
	return sort.Search(len(s.segs), func(i int) bool { return s.segs[i].base > offset }) - 1
}

// locate finds the byte position of the record with the given offset (or the
// end of the spool when offset is the next one). Called with s.mu held.
func (s *Spool) locate(offset uint64) (uint64, int64, error) {
	i := s.segFor(offset)
	if i < 0 || offset > s.next {
		return 0, 0, fmt.Errorf("offset %d is not in the spool (%d to %d)", offset, s.segs[0].base, s.next)
	}
	seg := s.segs[i]
	if offset == seg.base {
		return seg.base, 0, nil
	}
	f, err := s.readHandle(seg)
	if err != nil {
		return 0, 0, err
	}
	sc := newScanner(f, seg.size)
	want := seg.base
	for {
		if want == offset {
			return seg.base, sc.pos, nil
		}
		pos := sc.pos
		fr, err := sc.next()
		if err != nil {
			return 0, 0, s.corrupt(i, pos, want, scanReason(err))
		}
		if fr.offset != want {
			return 0, 0, s.corrupt(i, pos, want, fmt.Errorf("record has offset %d", fr.offset))
		}
		want++
	}
}

// corrupt builds the error for bad bytes in segment i. Called with s.mu held.
func (s *Spool) corrupt(i int, pos int64, offset uint64, reason error) *CorruptError {
	e := &CorruptError{Segment: s.segs[i].name, Position: pos, Offset: offset, Reason: reason}
	if i+1 < len(s.segs) {
		e.NextSegment = s.segs[i+1].base
	}
	return e
}

// readHandle returns the segment's file opened for reading. Called with
// s.mu held.
func (s *Spool) readHandle(seg *segment) (*os.File, error) {
	if seg.rf == nil {
		f, err := os.Open(filepath.Join(s.opts.Dir, seg.name))
		if err != nil {
			return nil, fmt.Errorf("open spool segment %s: %w", seg.name, err)
		}
		seg.rf = f
	}
	return seg.rf, nil
}

// Append appends records as one batch, in order, and returns the offset of
// the first; the others follow it one by one. It returns once the records
// are durable as the fsync policy says (for batch: fsynced). Concurrent
// calls are committed together: one write and one fsync for every caller
// waiting at that moment.
//
// When the batch would take the spool past max_bytes, or the disk is full,
// Append writes nothing and returns an error matching ErrFull. If ctx ends
// while the batch waits for its commit, Append returns ctx.Err() and the
// batch may or may not be appended (delivery is at least once). An empty
// batch appends nothing and returns 0.
func (s *Spool) Append(ctx context.Context, records [][]byte) (Offset, error) {
	if len(records) == 0 {
		return 0, nil
	}
	var n int64
	for _, r := range records {
		if len(r) > MaxRecordBytes {
			return 0, fmt.Errorf("%w: a record of %d bytes is over %d", ErrTooLarge, len(r), MaxRecordBytes)
		}
		n += frameSize(len(r))
	}
	return s.append(ctx, &appendReq{records: records, bytes: n, done: make(chan struct{})})
}

// AppendFrames is Append for records laid out as frames: they are
// written from f as they are, without a copy.
//
// With release nil, f must not change until AppendFrames returns; should
// ctx end first, not until the spool is closed (the commit may still be
// writing f). With release set, f is the spool's from the call on, and
// the spool calls release(f) exactly once when it no longer reads f:
// once the group commit has written it, before the fsync that makes it
// durable (a request waits for that fsync without holding its frames,
// which at full batched load is most of its time in the spool), or
// before AppendFrames returns when f was never taken. release runs on the
// spool's writer goroutine and must not block; the caller must not touch
// f after the call, except through release.
func (s *Spool) AppendFrames(ctx context.Context, f *Frames, release func(*Frames)) (Offset, error) {
	req := &appendReq{frames: f, release: release, bytes: int64(f.Size())}
	if f.Len() == 0 {
		req.releaseFrames()
		return 0, nil
	}
	if err := recordsFit(f); err != nil {
		req.releaseFrames()
		return 0, err
	}
	req.done = make(chan struct{})
	return s.append(ctx, req) // which checks the batch's size (batchFits)
}

// Fits returns an error matching ErrTooLarge when AppendFrames would
// refuse f for its size whatever the spool holds: a record over
// MaxRecordBytes, or more than max_bytes less one segment in all. A caller
// can ask before it lets go of what it would need to answer such a
// refusal.
func (s *Spool) Fits(f *Frames) error {
	if err := recordsFit(f); err != nil {
		return err
	}
	return s.batchFits(int64(f.Size()))
}

// recordsFit is Fits for f's records one by one.
func recordsFit(f *Frames) error {
	for i := range f.Len() {
		if n := len(f.Record(i)); n > MaxRecordBytes {
			return fmt.Errorf("%w: a record of %d bytes is over %d", ErrTooLarge, n, MaxRecordBytes)
		}
	}
	return nil
}

// batchFits is Fits for a batch of the given framed size.
func (s *Spool) batchFits(bytes int64) error {
	if limit := s.opts.MaxBytes - s.opts.SegmentBytes; bytes > limit {
		return fmt.Errorf("%w: a batch of %d bytes is over max_bytes less one segment (%d)", ErrTooLarge, bytes, limit)
	}
	return nil
}

// releaseFrames hands the request's frames back to its caller, once.
func (r *appendReq) releaseFrames() {
	if r.release != nil {
		r.release(r.frames)
		r.release, r.frames = nil, nil
	}
}

func (s *Spool) append(ctx context.Context, req *appendReq) (Offset, error) {
	if err := s.batchFits(req.bytes); err != nil {
		req.releaseFrames()
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		req.releaseFrames()
		return 0, err
	}
	select {
	case s.reqs <- req:
	case <-s.done:
		req.releaseFrames()
		return 0, ErrClosed
	case <-ctx.Done():
		req.releaseFrames()
		return 0, ctx.Err()
	}
	select {
	case <-req.done:
		return req.first, req.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run is the writer goroutine: it owns the last segment's write handle and
// commits appends in groups.
func (s *Spool) run() {
	defer s.wg.Done()
	var tick <-chan time.Time
	if s.opts.Fsync == FsyncInterval {
		t := time.NewTicker(s.opts.FsyncInterval)
		defer t.Stop()
		tick = t.C
	}
	group := make([]*appendReq, 0, 64)
	for {
		select {
		case req := <-s.reqs:
			group = append(group[:0], req)
		gather:
			for len(group) < maxGroup {
				select {
				case req := <-s.reqs:
					group = append(group, req)
				default:
					break gather
				}
			}
			s.commit(group)
			clear(group)
		case <-tick:
			if s.dirty && s.broken == nil {
				s.fsyncs.Add(1)
				if err := s.w.Sync(); err != nil {
					s.broken = fmt.Errorf("fsync spool segment: %w", err)
					s.log.Error("spool: fsync failed; appends fail until restart", "error", err)
				}
				s.dirty = false
			}
		case <-s.done:
			return
		}
	}
}

// commit writes one group of appends with one write and (for batch) one
// fsync, then answers every caller.
func (s *Spool) commit(group []*appendReq) {
	defer func() {
		for _, r := range group {
			r.releaseFrames()
			close(r.done)
		}
	}()
	if s.broken != nil {
		for _, r := range group {
			r.err = s.broken
		}
		return
	}
	s.mu.Lock()
	held, next := s.held, s.next
	s.mu.Unlock()

	buf, pieces := s.buf[:0], s.pieces[:0]
	var ok []*appendReq
	var size int64
	for _, r := range group {
		if held+size+r.bytes > s.opts.MaxBytes {
			r.err = fmt.Errorf("%w: %d bytes held, cap %d", ErrFull, held+size, s.opts.MaxBytes)
			continue
		}
		r.first = next
		from := len(buf)
		switch {
		case r.frames != nil:
			b := r.frames.seal(next)
			next += uint64(r.frames.Len())
			if len(b) > coalesceFrames || len(buf)+len(b) > coalesceBytes {
				pieces = append(pieces, commitPiece{frames: b})
				break
			}
			// A small request's frames are copied next to the group's
			// others, so that a group of single-event requests is one
			// write instead of a write per request.
			buf = append(buf, b...)
		default:
			for i, rec := range r.records {
				buf = appendFrame(buf, next, rec, i == len(r.records)-1)
				next++
			}
		}
		if len(buf) > from {
			if n := len(pieces); n > 0 && pieces[n-1].frames == nil && pieces[n-1].to == from {
				pieces[n-1].to = len(buf)
			} else {
				pieces = append(pieces, commitPiece{from: from, to: len(buf)})
			}
		}
		size += r.bytes
		ok = append(ok, r)
	}
	defer func() {
		// Keep the slice, not the requests' buffers.
		clear(pieces)
		s.pieces = pieces[:0]
	}()
	if len(ok) > 0 && s.stale {
		// The bytes after the records are a delivered segment's, not
		// zeros: end the write with a marker, which the next commit
		// writes over, so that recovery tells them from a torn write.
		n := len(pieces)
		switch {
		case n > 0 && pieces[n-1].frames == nil:
			buf = appendEndMarker(buf, next)
			pieces[n-1].to = len(buf)
		case n > 0 && cap(pieces[n-1].frames)-len(pieces[n-1].frames) >= headerSize:
			// Into the room Frames.Grow leaves, not another write.
			pieces[n-1].frames = appendEndMarker(pieces[n-1].frames, next)
		default:
			from := len(buf)
			buf = appendEndMarker(buf, next)
			pieces = append(pieces, commitPiece{from: from, to: len(buf)})
		}
	}
	if cap(buf) <= 16<<20 {
		s.buf = buf // keep the buffer, unless one huge group grew it
	}
	if len(ok) == 0 {
		return
	}
	fail := func(err error) {
		for _, r := range ok {
			r.err, r.first = err, 0
		}
	}
	if s.wsize > 0 && s.wsize+size > s.opts.SegmentBytes {
		if err := s.roll(); err != nil {
			fail(err)
			return
		}
	}
	if s.wsize+size > s.reserved {
		s.reserve(s.wsize + size)
	}
	at := s.wsize
	for _, p := range pieces {
		b := p.frames
		if b == nil {
			b = buf[p.from:p.to]
		}
		s.writes.Add(1)
		if _, err := s.w.WriteAt(b, at); err != nil {
			// Leave nothing of the group behind: a later group must not
			// follow half a batch. The cut takes the reserved space too.
			if terr := s.w.Truncate(s.wsize); terr != nil {
				s.broken = fmt.Errorf("write spool segment: %w; cutting it back: %v", err, terr)
				fail(s.broken)
				return
			}
			s.reserved, s.stale = s.wsize, false
			fail(writeErr(err))
			return
		}
		at += int64(len(b))
	}
	// An end marker may reach past the space reserved: the file is that
	// long now, and sealing the segment must cut it.
	s.reserved = max(s.reserved, at)
	// Written: the frames are in the page cache and no longer read here,
	// so their buffers can take the next requests' records while the
	// fsync runs. Nothing is acknowledged before the fsync: a failed one
	// fails the group, and its callers send the records again.
	clear(pieces)
	for _, r := range ok {
		r.releaseFrames()
	}
	switch s.opts.Fsync {
	case FsyncBatch:
		if err := s.syncGroup(); err != nil {
			// After a failed fsync the page cache cannot be trusted;
			// stop appending until a restart recovers from disk.
			s.broken = fmt.Errorf("fsync spool segment: %w", err)
			fail(s.broken)
			return
		}
	default:
		s.dirty = true
	}
	s.wsize += size
	s.mu.Lock()
	s.segs[len(s.segs)-1].size = s.wsize
	s.held += size
	s.next = next
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// syncGroup flushes a group commit: through the ring where there is one,
// else with the system call. A flush as a system call blocks the writer's
// thread, and while the handlers keep the Ps busy the runtime hands the
// writer's P to another thread and back at each one; through io_uring the
// kernel's worker runs it while the writer waits in the network poller,
// and no thread changes hands. Same binary, ring against system call:
// single-event requests at full load ahead in 13 of 14 pairs (a median
// 13-15 % more a second at a sixth less CPU a request), 100-event
// requests a median 10.5 % more; at 2,500 single-event requests a second
// neither CPU nor p99 moved beyond the machine's spread
// (docs/performance-log.md, "Every group commit through the ring"). Only a
// segment's own file goes through the ring; tests' stand-ins keep their
// Sync.
func (s *Spool) syncGroup() error {
	s.fsyncs.Add(1)
	if f, ok := s.w.(dataFile); ok && s.ring != nil {
		s.ringSyncs.Add(1)
		return f.SyncThrough(s.ring)
	}
	return s.w.Sync()
}

// reserve allocates the segment being written up to at least end, and
// reserveBytes ahead where the segment has room (see reserveBytes). Only
// with fsync batch: the other policies do not fsync every commit, so
// there is nothing to gain, and with never the cut when a segment is
// sealed is not synced, so a crash of the machine could leave a sealed
// segment longer than its records. A file system that refuses (no
// fallocate, or no space) is not an error: the write that follows
// allocates as it would have, or fails with the reason.
func (s *Spool) reserve(end int64) {
	a, ok := s.w.(allocator)
	if !ok || s.noReserve || s.opts.Fsync != FsyncBatch {
		return
	}
	to := max(end, min(s.reserved+reserveBytes, s.opts.SegmentBytes))
	err := a.Allocate(s.reserved, to-s.reserved)
	// Even a refusal may have allocated part of it (ext4 extends the file
	// as it goes, and stops at a full disk): unreserve cuts up to to.
	s.reserved = to
	if err != nil {
		s.noReserve = true
		s.log.Debug("spool: cannot allocate segment space ahead; appends extend it as they go", "error", err)
	}
}

// unreserve cuts the reserved space from the segment being written, so
// that its size is its records again.
func (s *Spool) unreserve() error {
	if s.reserved <= s.wsize {
		return nil
	}
	if err := s.w.Truncate(s.wsize); err != nil {
		s.broken = fmt.Errorf("cut reserved space from spool segment: %w", err)
		return s.broken
	}
	s.reserved, s.stale = s.wsize, false
	return nil
}

// keepsSpare says whether a delivered segment's file is kept for the next
// segment to be written over: writing over a file's cached pages costs the
// kernel a fraction of taking new ones for a new file (docs/performance-log.md,
// "Spool segment reuse"). Only with fsync batch, as for reserve: with never
// the cut that seals a segment written over is not made durable, so a
// crash of the machine could leave old frames past a sealed segment's
// records; interval cuts the old bytes at open as it cuts reserved space.
func (s *Spool) keepsSpare() bool {
	return writesOverSpare && s.opts.Fsync == FsyncBatch && !s.noSpare
}

// spareFits says whether a spare may be kept beside the spool's records,
// with bytes the two of them: only with a whole segment's room left under
// max_bytes. Until the next segment takes the spare, appends go into the
// room the segment being written has left (a group larger than that starts
// the next segment, which takes the spare), so the records and the spare
// stay within the cap; closer to it, the spare is not kept.
func (s *Spool) spareFits(bytes int64) bool {
	return bytes+s.opts.SegmentBytes <= s.opts.MaxBytes
}

// writeErr maps a full disk to ErrFull.
func writeErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w: %w", ErrFull, err)
	}
	return fmt.Errorf("write spool segment: %w", err)
}

// roll seals the segment being written and starts a new one whose base is
// the next offset.
func (s *Spool) roll() error {
	s.mu.Lock()
	base := s.next
	s.mu.Unlock()
	// The sealed segment must be whole on disk, and exactly its records
	// (recovery reads a sealed segment's size as where its records end,
	// and unreserve cuts the space allocated ahead), before the next
	// segment exists: a crash must never find a next segment beside a
	// sealed one that is not yet so.
	if err := s.unreserve(); err != nil {
		return err
	}
	if s.opts.Fsync != FsyncNever {
		if err := s.w.Sync(); err != nil {
			s.broken = fmt.Errorf("fsync spool segment: %w", err)
			return s.broken
		}
	}
	name := segmentName(base)
	f, reused := s.takeSpare(name, base)
	if f == nil {
		var err error
		f, err = os.OpenFile(filepath.Join(s.opts.Dir, name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("create spool segment %s: %w", name, err)
			}
			return writeErr(fmt.Errorf("create spool segment %s: %w", name, err))
		}
	}
	if s.opts.Fsync != FsyncNever {
		// The new file's name must survive before records are
		// acknowledged in it.
		if err := atomicfile.SyncDir(s.opts.Dir); err != nil {
			f.Close()
			os.Remove(filepath.Join(s.opts.Dir, name))
			return err
		}
	}
	if err := s.w.Close(); err != nil {
		f.Close()
		s.broken = fmt.Errorf("close spool segment: %w", err)
		return s.broken
	}
	// A spare's old bytes are written over as reserved space is.
	s.w, s.wsize, s.dirty, s.reserved, s.noReserve, s.stale = newDataFile(f), 0, false, reused, false, reused > 0
	s.mu.Lock()
	s.segs = append(s.segs, &segment{base: base, name: name})
	s.mu.Unlock()
	return nil
}

// takeSpare renames the spare file to the new segment's name and returns
// it open, with its size; nil when there is none or it cannot be used (it
// is then removed, and the segment made as a new file). It holds s.mu
// throughout, so that collect makes no new spare of the same name meanwhile.
func (s *Spool) takeSpare(name string, base uint64) (*os.File, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := s.spare
	if size == 0 {
		return nil, 0
	}
	spare, path := filepath.Join(s.opts.Dir, spareName), filepath.Join(s.opts.Dir, name)
	f, err := os.OpenFile(spare, os.O_RDWR, 0)
	if err == nil {
		// An end marker at the start, durable before the file takes the
		// segment's name: a crash before the first commit then finds an
		// empty segment, not a torn one.
		_, err = f.WriteAt(appendEndMarker(nil, base), 0)
		if err == nil {
			err = newDataFile(f).Sync()
		}
		if err == nil {
			// Never over a file of that name, as O_EXCL would not; the
			// directory is this process's alone (its LOCK).
			if _, serr := os.Lstat(path); serr == nil {
				err = fmt.Errorf("%s: %w", name, fs.ErrExist)
			}
		}
		if err == nil {
			err = os.Rename(spare, path)
		}
		if err == nil {
			s.spare = 0
			s.reuses.Add(1)
			return f, size
		}
		f.Close()
	}
	s.log.Warn("spool: cannot write the next segment over the spare file; creating a new one", "error", err)
	s.dropSpare()
	return nil, 0
}

// removeSpare removes the spare file, if there is one.
func (s *Spool) removeSpare() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.spare > 0 {
		s.dropSpare()
	}
}

// dropSpare removes the spare file. Called with s.mu held.
func (s *Spool) dropSpare() {
	s.spare = 0
	if err := os.Remove(filepath.Join(s.opts.Dir, spareName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("spool: remove spare segment file", "error", err)
	}
}

// collect deletes the sealed segments every registered reader has passed,
// keeping the first one's file as the spare where there is none (see
// keepsSpare). Called with s.mu held.
func (s *Spool) collect() {
	if len(s.cursors) == 0 {
		return
	}
	minNext := s.next
	for _, c := range s.cursors {
		minNext = min(minNext, c.committed+1)
	}
	n := 0
	for n < len(s.segs)-1 && s.segs[n+1].base <= minNext {
		n++
	}
	if n == 0 {
		return
	}
	s.fileMu.Lock()
	for _, seg := range s.segs[:n] {
		if seg.rf != nil {
			seg.rf.Close()
			seg.rf = nil
		}
	}
	s.fileMu.Unlock()
	for _, seg := range s.segs[:n] {
		path := filepath.Join(s.opts.Dir, seg.name)
		// held still counts the segment: the records and the spare.
		if s.spare == 0 && seg.size > 0 && s.keepsSpare() && s.spareFits(s.held) {
			if err := os.Rename(path, filepath.Join(s.opts.Dir, spareName)); err == nil {
				s.spare = seg.size
				s.held -= seg.size
				s.log.Debug("spool: kept delivered segment as the spare file", "segment", seg.name)
				continue
			}
			// Not kept: removed as the others are.
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			// The segment stays on disk and is removed at the next
			// commit; its records are delivered either way.
			s.log.Warn("spool: remove delivered segment", "segment", seg.name, "error", err)
			n = slicesIndex(s.segs, seg)
			break
		}
		s.held -= seg.size
		s.log.Debug("spool: removed delivered segment", "segment", seg.name)
	}
	s.segs = append(s.segs[:0:0], s.segs[n:]...)
}

func slicesIndex(segs []*segment, seg *segment) int {
	for i, x := range segs {
		if x == seg {
			return i
		}
	}
	return 0
}

// Close stops the writer, flushes the last segment to disk, closes every
// file and releases the directory lock. Appends and reads after Close
// return ErrClosed. Close is safe to call more than once.
func (s *Spool) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.wg.Wait()
		var errs []error
		if s.broken == nil {
			// Left at rest, a segment is exactly its records, and no
			// spare holds delivered ones.
			if err := s.unreserve(); err != nil {
				errs = append(errs, err)
			}
			s.removeSpare()
			if err := s.w.Sync(); err != nil {
				errs = append(errs, fmt.Errorf("fsync spool segment: %w", err))
			}
		}
		errs = append(errs, s.closeFiles())
		if s.ring != nil {
			errs = append(errs, s.ring.Close())
		}
		if err := unlockDir(s.lock); err != nil {
			errs = append(errs, fmt.Errorf("release spool lock: %w", err))
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// closeFiles closes the write handle and every read handle.
func (s *Spool) closeFiles() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fileMu.Lock()
	defer s.fileMu.Unlock()
	var first error
	if s.w != nil {
		if err := s.w.Close(); err != nil {
			first = fmt.Errorf("close spool segment: %w", err)
		}
		s.w = nil
	}
	for _, seg := range s.segs {
		if seg.rf != nil {
			seg.rf.Close()
			seg.rf = nil
		}
	}
	return first
}

// Stats describes what a spool holds.
type Stats struct {
	// Bytes is the size of the records in all segments. The segment being
	// written may take up to 4 MiB more on disk: space allocated ahead of
	// its appends (spool.fsync batch).
	Bytes int64 `json:"bytes"`
	// MaxBytes is the cap (0 from ReadStats, which does not know it).
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Records is the number of records held.
	Records uint64 `json:"records"`
	// Segments is the number of segment files.
	Segments int `json:"segments"`
	// FirstOffset is the oldest record held; NextOffset the offset the
	// next record appended will take. They are equal when none is held.
	FirstOffset uint64 `json:"first_offset"`
	NextOffset  uint64 `json:"next_offset"`
	// TornBytes is what the next Open would cut from the last segment's
	// tail (ReadStats only; an open spool has cut it already).
	TornBytes int64 `json:"torn_bytes,omitempty"`
	// SpareBytes is the size of the spare file: a delivered segment's
	// file kept for the next segment to be written over (spool.fsync
	// batch), within MaxBytes.
	SpareBytes int64 `json:"spare_bytes,omitempty"`
	// Readers are the registered readers, by name.
	Readers []ReaderStats `json:"readers"`
}

// ReaderStats describes one reader's cursor.
type ReaderStats struct {
	Name string `json:"name"`
	// Committed is the last offset the reader committed as delivered (0:
	// none).
	Committed uint64 `json:"committed"`
	// LagRecords and LagBytes are what the reader has yet to commit.
	LagRecords uint64 `json:"lag_records"`
	LagBytes   int64  `json:"lag_bytes"`
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.opts.Dir }

// NextOffset is the offset the next record appended will take: cheaper
// than Stats for a reader asking whether it has read everything.
func (s *Spool) NextOffset() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.next
}

// Stats returns what the spool holds and how far each reader is behind.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := statsOf(s.segs, s.next, s.cursors)
	st.MaxBytes, st.SpareBytes = s.opts.MaxBytes, s.spare
	return st
}

// statsOf computes Stats from a spool's state.
func statsOf(segs []*segment, next uint64, cursors map[string]*cursor) Stats {
	st := Stats{Segments: len(segs), NextOffset: next, FirstOffset: next, Readers: []ReaderStats{}}
	if len(segs) > 0 {
		st.FirstOffset = segs[0].base
	}
	for _, seg := range segs {
		st.Bytes += seg.size
	}
	st.Records = st.NextOffset - st.FirstOffset
	for _, c := range cursors {
		rs := ReaderStats{Name: c.name, Committed: c.committed}
		if c.committed < next {
			rs.LagRecords = next - 1 - c.committed
		}
		for _, seg := range segs {
			switch {
			case seg.base == c.seg:
				rs.LagBytes += max(seg.size-c.pos, 0)
			case seg.base > c.seg:
				rs.LagBytes += seg.size
			}
		}
		st.Readers = append(st.Readers, rs)
	}
	sort.Slice(st.Readers, func(i, j int) bool { return st.Readers[i].Name < st.Readers[j].Name })
	return st
}
