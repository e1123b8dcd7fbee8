package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// Entry is one record read from the spool.
type Entry struct {
	Offset uint64
	// Data is the record as appended. It belongs to the caller.
	Data []byte
}

// ReadBuffer is memory that NextInto reads records into, so that a caller
// reading batch after batch reuses it rather than allocate every read's
// bytes afresh: at full batched load those reads were over a quarter of
// the bytes the collector allocated, and the garbage collector ran that
// much more often. The zero value is ready to use.
type ReadBuffer struct {
	data    []byte
	entries []Entry
}

// Reader reads the spool from a named, persisted cursor: each sink has its
// own and reads at its own pace. Reading does not move the cursor; Commit
// does. After a restart a reader of the same name resumes after the last
// committed offset, so records read but not committed are delivered again.
// A Reader's methods may be called from several goroutines but run one at
// a time, except that Next releases the reader while it waits for records:
// one goroutine can read ahead while another commits what was delivered.
type Reader struct {
	s     *Spool
	name  string
	stop  chan struct{} // closed by Close
	close sync.Once

	mu     sync.Mutex
	closed bool
	// next is the offset of the next record to read, at byte pos in the
	// segment whose base is seg.
	next uint64
	seg  uint64
	pos  int64
	// marks are where each record read but not yet committed ends, by
	// offset from marks[0].offset on.
	marks []mark
	// frame is how many bytes a record took in the last read (header
	// included), which sizes the next read; 0 before the first.
	frame int64
}

// mark is where a record read ends: the position the cursor takes when the
// record is committed.
type mark struct {
	offset uint64
	seg    uint64
	end    int64
}

// ErrReaderOpen is returned by Reader and RemoveReader for a name that has
// an open Reader in this process.
var ErrReaderOpen = errors.New("spool reader already open")

// Reader opens the cursor called name, registering it when new: a new
// reader starts at the oldest record held. From the moment a name is
// registered, no segment is deleted before that reader has committed past
// it, across restarts, until RemoveReader. Only one Reader per name may be
// open at a time; Close it to open it again.
func (s *Spool) Reader(name string) (*Reader, error) {
	if err := checkReaderName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	c, ok := s.cursors[name]
	if ok && c.open != nil {
		return nil, fmt.Errorf("%w: %s", ErrReaderOpen, name)
	}
	if !ok {
		first := s.segs[0].base
		c = &cursor{name: name, committed: first - 1, seg: first}
		// Registering is durable at once, so the segments the new reader
		// needs are kept even if it commits nothing before a restart.
		cf := cursorFile{Reader: name, Committed: c.committed, Segment: c.seg, Position: c.pos}
		if err := writeCursor(s.opts.Dir, cf, s.opts.Fsync != FsyncNever); err != nil {
			return nil, err
		}
		s.cursors[name] = c
	}
	r := &Reader{s: s, name: name, stop: make(chan struct{}), next: c.committed + 1, seg: c.seg, pos: c.pos}
	c.open = r
	return r, nil
}

// RemoveReader unregisters a reader (a sink removed from the configuration)
// and deletes its cursor file, so it no longer holds segments on disk.
// Removing an unknown name does nothing.
func (s *Spool) RemoveReader(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	c, ok := s.cursors[name]
	if !ok {
		return nil
	}
	if c.open != nil {
		return fmt.Errorf("%w: close reader %s before removing it", ErrReaderOpen, name)
	}
	if err := os.Remove(filepath.Join(s.opts.Dir, cursorFileName(name))); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove spool cursor %s: %w", name, err)
	}
	delete(s.cursors, name)
	s.collect()
	return nil
}

// Name returns the reader's name.
func (r *Reader) Name() string { return r.name }

// Close releases the name, so it can be opened again; the cursor stays
// registered. A Next blocked in another goroutine returns ErrClosed.
func (r *Reader) Close() error {
	r.close.Do(func() { close(r.stop) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	r.s.mu.Lock()
	if c := r.s.cursors[r.name]; c != nil && c.open == r {
		c.open = nil
	}
	r.s.mu.Unlock()
	return nil
}

// Next returns the records after the last one it returned (or, first, after
// the committed offset), waiting until there is at least one or ctx ends
// (without holding the reader, so Commit can run meanwhile). It returns at most maxRecords records and, beyond the first, at most
// maxBytes bytes of record data; a limit of 0 or less means no limit. A
// record that fails its checksum, or any other damage, stops the reader
// with a *CorruptError rather than return junk.
func (r *Reader) Next(ctx context.Context, maxRecords, maxBytes int) ([]Entry, error) {
	return r.NextInto(ctx, maxRecords, maxBytes, nil)
}

// NextInto is Next reading into buf (nil: new memory). The entries it
// returns point into buf, so the caller must not pass buf again while it
// still reads them; the next read into buf overwrites them. A buf too
// small for a read is grown.
func (r *Reader) NextInto(ctx context.Context, maxRecords, maxBytes int, buf *ReadBuffer) ([]Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.s
	for {
		if r.closed {
			return nil, ErrClosed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		if r.next < s.next {
			i, err := r.segment()
			if err != nil {
				s.mu.Unlock()
				return nil, err
			}
			seg := s.segs[i]
			f, err := s.readHandle(seg)
			if err != nil {
				s.mu.Unlock()
				return nil, err
			}
			limit := seg.size
			var nextSeg uint64
			if i+1 < len(s.segs) {
				nextSeg = s.segs[i+1].base
			}
			// Lock order: s.mu, then fileMu.
			s.fileMu.RLock()
			s.mu.Unlock()
			entries, err := r.read(f, seg.name, limit, maxRecords, maxBytes, buf)
			s.fileMu.RUnlock()
			var ce *CorruptError
			if errors.As(err, &ce) {
				ce.NextSegment = nextSeg
			}
			return entries, err
		}
		wait := s.notify
		s.mu.Unlock()
		// Wait without holding the reader, so that Commit (of records
		// read earlier) is not held up until new records arrive.
		r.mu.Unlock()
		var err error
		select {
		case <-wait:
		case <-ctx.Done():
			err = ctx.Err()
		case <-r.stop:
			err = ErrClosed
		case <-s.done:
			err = ErrClosed
		}
		r.mu.Lock()
		if err != nil {
			return nil, err
		}
	}
}

// segment returns the index of the segment holding the next record, moving
// the reader on to the following segment when it is at the end of one.
// Called with s.mu held and r.next below s.next.
func (r *Reader) segment() (int, error) {
	s := r.s
	i := s.segIndex(r.seg)
	if i < 0 {
		// The reader stood at the end of a segment that was deleted
		// once every cursor had passed it: the next record starts the
		// following segment.
		j := s.segFor(r.next)
		if j < 0 || s.segs[j].base != r.next {
			return 0, fmt.Errorf("spool reader %s: segment %s is gone", r.name, segmentName(r.seg))
		}
		r.seg, r.pos = r.next, 0
		return j, nil
	}
	if r.pos >= s.segs[i].size && i+1 < len(s.segs) {
		nextSeg := s.segs[i+1]
		if nextSeg.base != r.next {
			return 0, s.corrupt(i, r.pos, r.next, fmt.Errorf("segment ends before record %d; the next segment starts at %d", r.next, nextSeg.base))
		}
		i++
		r.seg, r.pos = nextSeg.base, 0
	}
	return i, nil
}

// readChunk is how much Next reads at once when maxBytes does not say.
const readChunk = 1 << 20

// read decodes records from f between r.pos and limit. Records before a
// damaged one are returned; the next call reports the damage.
func (r *Reader) read(f *os.File, segName string, limit int64, maxRecords, maxBytes int, into *ReadBuffer) ([]Entry, error) {
	if into == nil {
		into = new(ReadBuffer)
	}
	want := int64(readChunk)
	if maxBytes > 0 {
		want = min(want, int64(maxBytes)+headerSize)
	}
	if maxRecords > 0 && r.frame > 0 {
		// Read what maxRecords records of the size last seen take, with
		// a quarter to spare, rather than the whole chunk: the entries
		// returned keep the buffer alive until the sink has written them,
		// so bytes read past the last record returned were held (and
		// read again next time) for nothing. At 32 connections of
		// 100-event requests the SQLite sink's 500-record batches took
		// 560 KiB of each 1 MiB read.
		want = min(want, int64(maxRecords)*r.frame*5/4)
	}
	want = max(want, 4096)
	if maxRecords <= 0 {
		maxRecords = int(^uint(0) >> 1)
	}
	size := min(want, limit-r.pos)
	for {
		// A buffer grown for a record larger than a read is not kept
		// for the reads after it.
		if c := int64(cap(into.data)); c < size || c > max(size, readChunk) {
			into.data = make([]byte, size)
		}
		buf := into.data[:size]
		n, err := f.ReadAt(buf, r.pos)
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("read spool segment %s: %w", segName, err)
		}
		// A segment shorter than its known size (cut on disk) reads as
		// zeros past its end, which no frame decodes from, as a new
		// buffer would: the buffer's tail is an earlier read's.
		clear(buf[n:])
		var (
			entries = into.entries[:0]
			at      int
			bytes   int
			bad     error
		)
		for len(entries) < maxRecords && at < len(buf) {
			fr, n, err := decodeFrame(buf[at:])
			if errors.Is(err, errTruncated) {
				if r.pos+int64(at)+int64(n) > limit {
					bad = fmt.Errorf("record runs past the end of the segment (%w)", err)
				} else if len(entries) == 0 {
					// The first record is larger than the read: read it
					// whole.
					size = int64(n)
				}
				break
			}
			if err == nil && fr.offset != r.next+uint64(len(entries)) {
				err = fmt.Errorf("record has offset %d", fr.offset)
			}
			if err != nil {
				bad = err
				break
			}
			if maxBytes > 0 && len(entries) > 0 && bytes+len(fr.data) > maxBytes {
				break
			}
			bytes += len(fr.data)
			entries = append(entries, Entry{Offset: fr.offset, Data: fr.data})
			at += n
		}
		if len(entries) == 0 {
			if bad != nil {
				return nil, &CorruptError{Segment: segName, Position: r.pos + int64(at), Offset: r.next, Reason: bad}
			}
			continue // read again, large enough for the first record
		}
		into.entries = entries
		end := r.pos
		for _, e := range entries {
			end += frameSize(len(e.Data))
			r.marks = append(r.marks, mark{offset: e.Offset, seg: r.seg, end: end})
		}
		r.frame = (end - r.pos) / int64(len(entries))
		r.next += uint64(len(entries))
		r.pos = end
		return entries, nil
	}
}

// Commit records that every record up to and including offset is
// delivered, durably (the cursor file is replaced atomically), and deletes
// the segments every reader has now passed. Committing an offset at or
// below the last one committed does nothing; committing past what was read
// skips the records in between.
func (r *Reader) Commit(offset uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	s := r.s
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	c := s.cursors[r.name]
	if c == nil || c.open != r {
		s.mu.Unlock()
		return fmt.Errorf("spool reader %s was removed", r.name)
	}
	if offset <= c.committed {
		s.mu.Unlock()
		return nil
	}
	if offset >= s.next {
		s.mu.Unlock()
		return fmt.Errorf("commit spool reader %s: offset %d is past the last record %d", r.name, offset, s.next-1)
	}
	var seg uint64
	var pos int64
	if len(r.marks) > 0 && offset >= r.marks[0].offset && offset < r.next {
		m := r.marks[offset-r.marks[0].offset]
		seg, pos = m.seg, m.end
	} else {
		var err error
		seg, pos, err = s.locate(offset + 1)
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("commit spool reader %s: %w", r.name, err)
		}
	}
	s.mu.Unlock()

	cf := cursorFile{Reader: r.name, Committed: offset, Segment: seg, Position: pos}
	if err := writeCursor(s.opts.Dir, cf, s.opts.Fsync != FsyncNever); err != nil {
		return err
	}
	if offset < r.next {
		r.marks = append(r.marks[:0], r.marks[offset-r.marks[0].offset+1:]...)
	} else {
		r.next, r.seg, r.pos, r.marks = offset+1, seg, pos, r.marks[:0]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.committed, c.seg, c.pos = offset, seg, pos
	s.collect()
	return nil
}
