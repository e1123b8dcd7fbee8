package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
)

// Frame layout, little-endian:
//
//	0   4  CRC-32C (Castagnoli) of bytes 4 .. 16+length
//	4   4  length of the record data; the top bit marks the last record of an Append
//	8   8  the record's offset
//	16  n  the record data
const (
	headerSize = FrameHeaderSize
	// FrameHeaderSize is the bytes of a record's frame header, which
	// Frames leaves room for before each record.
	FrameHeaderSize = 16
	// lastFlag is set in the length word of the last record of an Append:
	// recovery keeps a batch only when its last record is intact.
	lastFlag = 1 << 31
	// MaxRecordBytes is the largest record Append takes. A larger length
	// in a frame header is corruption, so a damaged header never makes a
	// reader allocate or wait for gigabytes.
	MaxRecordBytes = 64 << 20
)

// castagnoli is the CRC-32C table; read only after package initialisation.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Frame decoding errors. errTruncated means the bytes end inside a frame
// (a torn tail, or a read that needs more bytes); the others mean the bytes
// are not a frame at all.
var (
	errTruncated = errors.New("frame truncated")
	errChecksum  = errors.New("checksum mismatch")
	errLength    = errors.New("record length out of range")
)

// frame is one decoded record.
type frame struct {
	offset uint64
	last   bool
	data   []byte
}

// frameSize is the bytes a record of n bytes takes on disk.
func frameSize(n int) int64 { return headerSize + int64(n) }

// appendFrame appends the frame of one record to dst.
func appendFrame(dst []byte, offset uint64, data []byte, last bool) []byte {
	start := len(dst)
	length := uint32(len(data))
	if last {
		length |= lastFlag
	}
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, length)
	dst = binary.LittleEndian.AppendUint64(dst, offset)
	dst = append(dst, data...)
	sum := crc32.Checksum(dst[start+4:], castagnoli)
	binary.LittleEndian.PutUint32(dst[start:], sum)
	return dst
}

// decodeFrame decodes the frame at the start of b. It returns the frame and
// its size in bytes. On errTruncated, n is the size the frame needs (the
// header size when even the header is incomplete), so a caller can read
// more. The returned data aliases b and is returned only when its checksum
// matches.
func decodeFrame(b []byte) (f frame, n int, err error) {
	if len(b) < headerSize {
		return frame{}, headerSize, errTruncated
	}
	length := binary.LittleEndian.Uint32(b[4:8])
	last := length&lastFlag != 0
	length &^= lastFlag
	if length > MaxRecordBytes {
		return frame{}, 0, fmt.Errorf("%w: %d bytes", errLength, length)
	}
	n = headerSize + int(length)
	if len(b) < n {
		return frame{}, n, errTruncated
	}
	if sum := binary.LittleEndian.Uint32(b[0:4]); crc32.Checksum(b[4:n], castagnoli) != sum {
		return frame{}, 0, errChecksum
	}
	return frame{
		offset: binary.LittleEndian.Uint64(b[8:16]),
		last:   last,
		data:   b[headerSize:n:n],
	}, n, nil
}

// Frames is a batch of records laid out as the spool writes them: each
// record's data follows room for its frame header, so that AppendFrames
// writes the batch where it was encoded instead of copying every record
// into the group commit's buffer (a copy of every byte appended, and a
// buffer as large as the group held between commits). The zero value is
// empty and ready to use.
type Frames struct {
	buf []byte
	// ends[i] is where record i's data ends in buf; its frame starts
	// where record i-1's data ends (0 for the first).
	ends []int
}

// Reset empties f, keeping its memory for the next batch.
func (f *Frames) Reset() { f.buf, f.ends = f.buf[:0], f.ends[:0] }

// Grow makes room for records more records taking bytes of data in all,
// so that encoding them into f allocates once at most, and for an end
// marker after them, which a commit may write with them.
func (f *Frames) Grow(records, bytes int) {
	f.buf = slices.Grow(f.buf, bytes+(records+1)*headerSize)
	f.ends = slices.Grow(f.ends, records)
}

// Begin returns the buffer to append the next record's data to: f's
// bytes so far and room for the record's header.
func (f *Frames) Begin() []byte {
	var header [headerSize]byte
	return append(f.buf, header[:]...)
}

// End takes the buffer Begin returned, with the record's data appended.
func (f *Frames) End(buf []byte) {
	f.buf = buf
	f.ends = append(f.ends, len(buf))
}

// Cap returns the bytes f holds room for, used or not.
func (f *Frames) Cap() int { return cap(f.buf) }

// Len returns the number of records.
func (f *Frames) Len() int { return len(f.ends) }

// Size returns the bytes the records take framed on disk.
func (f *Frames) Size() int { return len(f.buf) }

// Record returns record i's data; it aliases f until the next Reset or
// Begin.
func (f *Frames) Record(i int) []byte {
	start := headerSize
	if i > 0 {
		start += f.ends[i-1]
	}
	return f.buf[start:f.ends[i]:f.ends[i]]
}

// seal writes every record's frame header, numbering them from offset on,
// and returns the frames.
func (f *Frames) seal(offset uint64) []byte {
	start := 0
	for i, end := range f.ends {
		length := uint32(end - start - headerSize)
		if i == len(f.ends)-1 {
			length |= lastFlag
		}
		h := f.buf[start:end]
		binary.LittleEndian.PutUint32(h[4:], length)
		binary.LittleEndian.PutUint64(h[8:], offset+uint64(i))
		binary.LittleEndian.PutUint32(h[0:], crc32.Checksum(h[4:], castagnoli))
		start = end
	}
	return f.buf
}

// An end marker follows a commit's frames in a segment file that is being
// written over a delivered segment's old bytes (see Spool.roll): it says
// that the records end there and that what follows is left from the
// file's earlier life, not a torn write. It is a frame header no record
// has: a length word of all ones (above MaxRecordBytes, so a reader takes
// it for no record), the offset the next record will take, and the
// checksum of both. Old bytes cannot forge it: a file's earlier life held
// only offsets below the base of the segment it now is, and the next
// commit writes over it.
const markerLength = ^uint32(0)

// appendEndMarker appends the end marker for a segment whose next record
// takes offset next.
func appendEndMarker(dst []byte, next uint64) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	dst = binary.LittleEndian.AppendUint32(dst, markerLength)
	dst = binary.LittleEndian.AppendUint64(dst, next)
	binary.LittleEndian.PutUint32(dst[start:], crc32.Checksum(dst[start+4:], castagnoli))
	return dst
}

// isEndMarker reports whether b starts with the end marker for offset next.
func isEndMarker(b []byte, next uint64) bool {
	return len(b) >= headerSize &&
		binary.LittleEndian.Uint32(b[4:8]) == markerLength &&
		binary.LittleEndian.Uint64(b[8:16]) == next &&
		binary.LittleEndian.Uint32(b[0:4]) == crc32.Checksum(b[4:headerSize], castagnoli)
}
