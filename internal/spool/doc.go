// Package spool is Accord's durable log between the pipeline and the sinks:
// an append-only, checksummed, segmented log on local disk with group
// commit, read by each sink through its own persisted cursor.
//
// # On disk
//
// A spool directory holds:
//
//   - LOCK: an empty file the open spool holds an exclusive flock on, so a
//     second process cannot open the same directory.
//   - Segments, named by the offset of their first record in 20 decimal
//     digits: 00000000000000000001.seg, 00000000000000052874.seg, ... Offsets
//     number records from 1, one by one, across segments; a segment holds
//     the records from its own base up to the next segment's base. Only the
//     last segment is written; a new one is started when a write would take
//     the last past segment_bytes.
//   - spare.segment, with spool.fsync batch on Linux: a delivered segment's file kept
//     for the next segment to be written over (renamed to its name), so that
//     its pages are reused rather than new ones taken. Kept only with a
//     whole segment's room beside it and the records under max_bytes, and
//     removed by Close.
//   - Cursors, one per reader: NAME.cursor, the name with every byte other
//     than letters, digits, '-' and '_' escaped as %XX. A cursor is a line
//     of JSON: {"reader":NAME,"committed":N,"segment":BASE,"position":P},
//     where N is the last offset the reader delivered and BASE and P locate
//     the record after it (a hint, checked at open).
//
// A segment is a sequence of frames, one per record, little-endian:
//
//	0   4  CRC-32C (Castagnoli) of bytes 4 .. 16+length
//	4   4  length of the record data; the top bit marks the last record of an Append
//	8   8  the record's offset
//	16  n  the record data
//
// A segment written over the spare holds the spare's old bytes after its
// records, so each write into it ends with an end marker, which the next
// write replaces: a frame header with a length word of all ones (no
// record's), the offset the next record will take, and the CRC-32C of
// both.
//
// # Crash safety
//
// Append returns only after the write (and, with fsync batch, the fsync)
// of its whole batch; concurrent calls share one write and one fsync. A
// segment is fsynced before the next one is started, and the directory
// after a segment is created, so every acknowledged record is on disk in a
// file whose name is on disk. A crash can therefore damage only the tail
// of the last segment, and only records not yet acknowledged: Open scans
// the last segment from its start and cuts it (truncate, fsync) after the
// last record that ends an Append batch and whose checksum and offset are
// right, logging the segment, byte offset and bytes cut at warn; zeros
// (space allocated ahead) or an end marker for the next offset after the
// last batch are a clean end, not a torn one. Cutting
// at batch ends keeps an Append all-or-nothing across a crash. The
// checksum covers the length and offset as well as the data, so zeroed or
// stale bytes are never taken for a record.
//
// Sealed segments are not rescanned at open; a reader checks every frame's
// checksum and offset as it reads and stops with a *CorruptError naming
// the segment and byte position instead of delivering junk.
//
// Readers see only records that are durable under the fsync policy. A
// cursor is replaced atomically (temporary file, fsync, rename, directory
// fsync), and segments are deleted only after every registered cursor has
// durably passed them, so a crash at any point re-delivers records (at
// least once) but never skips one. With fsync interval or never a crash of
// the machine can lose recent records; a cursor found past the end of the
// log at open is pulled back to it, so the records appended next are read.
//
// # Backpressure
//
// An Append that would take the bytes held past max_bytes, or that meets a
// full disk, writes nothing and returns ErrFull; the collector answers 503.
package spool
