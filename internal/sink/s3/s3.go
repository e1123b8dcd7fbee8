// Package s3 is a sink that writes records to an S3-compatible object
// store as files, partitioned Hive-style:
//
//	<prefix>good/vendor=<v>/name=<n>/model=<M>/date=<YYYY-MM-DD>/hour=<HH>/part-....parquet
//	<prefix>failed/date=<YYYY-MM-DD>/hour=<HH>/part-....ndjson.gz
//
// Good records go to Parquet files whose columns are the contract's typed
// table (internal/sink/tables, the mapping the SQL sinks use) or, with
// format: ndjson, to gzipped NDJSON; failed records always go to gzipped
// NDJSON, one stored envelope a line. The date and hour are the record's
// collected_at in UTC.
//
// A file is filled in memory and uploaded whole, by a single PUT or a
// multipart upload completed at once (minio-go picks by size), so a reader
// never sees a partial object; files are rolled by size (file_bytes) and
// age (max_age), and memory is bounded by max_open_files and
// max_buffer_bytes.
//
// The client is minio-go rather than aws-sdk-go-v2: one module made for
// every S3-compatible store (path-style addressing, stores without
// regions), with AWS's credential chain and multipart uploads built in;
// the AWS SDK is a dozen modules, and its default request checksums
// (aws-chunked trailers) are not spoken by every S3-compatible store.
//
// The sink is a sink.Staging: a Write takes records into files, and
// delivery moves the spool cursor past a batch only once every file
// holding one of its records is uploaded. A crash before then delivers the
// batch again: nothing is lost, and records uploaded before the crash whose
// cursor had not moved are uploaded twice (consumers deduplicate on
// event_id).
package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/parquet-go/parquet-go"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/redact"
	"github.com/accord-events/accord/internal/sink"
)

// Type returns the s3 sink type.
func Type() sink.Type {
	return sink.Type{
		Name:       "s3",
		Doc:        "Writes records to an S3-compatible object store as Parquet (typed columns per contract) or gzipped NDJSON files, partitioned by contract and hour, rolled by size and age.",
		NewOptions: func() sink.Options { return NewOptions() },
		New: func(opts sink.Options, deps sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new s3 sink: options are %T, not *s3.Options", opts)
			}
			return New(*o, deps)
		},
	}
}

// Sink writes records to an object store. It is safe for concurrent use;
// uploads happen inside Write and Flush, one at a time.
type Sink struct {
	opts   Options
	deps   sink.Deps
	log    *slog.Logger
	now    func() time.Time
	node   string
	typed  *typedTables
	client *minio.Client

	mu     sync.Mutex
	closed bool
	// open are the files being filled, by partition and format; ready
	// are files rolled and not yet uploaded, oldest first.
	open  map[string]*file
	ready []*file
	// taken counts the Writes that returned nil; buffered is the
	// envelope bytes held in open and ready files; seq numbers files.
	taken    uint64
	buffered int64
	seq      uint64
}

var _ sink.Staging = (*Sink)(nil)

// New returns a sink for the options, without I/O.
func New(opts Options, deps sink.Deps) (*Sink, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var id [4]byte
	_, _ = rand.Read(id[:])
	s := &Sink{opts: opts, deps: deps, log: log, now: time.Now, node: hex.EncodeToString(id[:]), open: map[string]*file{}}
	if opts.Format == FormatParquet {
		s.typed = newTypedTables(deps.Contracts, compressions[opts.Compression])
	}
	return s, nil
}

// SetClock replaces the clock that stamps files and decides their age
// (tests roll files without sleeping). Call it before the first Write.
func (s *Sink) SetClock(now func() time.Time) { s.now = now }

// Connect builds the client and checks the bucket (creating it with
// create_bucket). Calling it on a connected sink does nothing.
func (s *Sink) Connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("connect s3 sink: sink is closed")
	}
	if s.client != nil {
		return nil
	}
	u, err := url.Parse(s.opts.Endpoint)
	if err != nil { // Validate parsed it already
		return fmt.Errorf("connect s3 sink: endpoint: %s", redact.Error(err))
	}
	creds := credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
	})
	if s.opts.AccessKeyID != "" {
		creds = credentials.NewStaticV4(s.opts.AccessKeyID, s.opts.SecretAccessKey, s.opts.SessionToken)
	}
	lookup := minio.BucketLookupAuto
	if s.opts.PathStyle {
		lookup = minio.BucketLookupPath
	}
	client, err := minio.New(u.Host, &minio.Options{Creds: creds, Secure: u.Scheme == "https", Region: s.opts.Region, BucketLookup: lookup, MaxRetries: 1})
	if err != nil {
		return fmt.Errorf("connect s3 sink to %s: %s", redact.URL(s.opts.Endpoint), s.redactErr(err))
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	exists, err := client.BucketExists(cctx, s.opts.Bucket)
	if err != nil {
		return fmt.Errorf("connect s3 sink: check bucket %s at %s: %s", s.opts.Bucket, redact.URL(s.opts.Endpoint), s.redactErr(err))
	}
	if !exists {
		if !s.opts.CreateBucket {
			return fmt.Errorf("connect s3 sink: bucket %s does not exist at %s; create it or set create_bucket", s.opts.Bucket, redact.URL(s.opts.Endpoint))
		}
		if err := client.MakeBucket(cctx, s.opts.Bucket, minio.MakeBucketOptions{Region: s.opts.Region}); err != nil {
			return fmt.Errorf("connect s3 sink: create bucket %s at %s: %s", s.opts.Bucket, redact.URL(s.opts.Endpoint), s.redactErr(err))
		}
	}
	s.client = client
	return nil
}

// redactErr is err's text, bounded, with URLs and the configured
// credentials cut out (a store may echo an access key in its answer).
func (s *Sink) redactErr(err error) string {
	msg := redact.BoundedError(err)
	for _, secret := range []string{s.opts.SecretAccessKey, s.opts.SessionToken, s.opts.AccessKeyID} {
		if len(secret) >= 4 {
			msg = strings.ReplaceAll(msg, secret, "[REDACTED]")
		}
	}
	return msg
}

// Close uploads every file the sink holds, within ctx, and stops it: after
// it Write fails. Files it could not upload are dropped from memory; their
// records are still in the spool (their cursor never passed them) and are
// delivered again after the next start.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.client == nil {
		return nil
	}
	s.sealAll()
	if err := s.upload(ctx); err != nil {
		return fmt.Errorf("close s3 sink: %w; the records not uploaded are delivered again from the spool after the next start", err)
	}
	return nil
}

// Staged implements sink.Staging: the Writes taken, and how many of the
// first of them have every record in an uploaded object.
func (s *Sink) Staged() (taken, stored uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken, s.storedLocked()
}

func (s *Sink) storedLocked() uint64 {
	stored := s.taken
	for _, f := range s.open {
		stored = min(stored, f.first-1)
	}
	for _, f := range s.ready {
		stored = min(stored, f.first-1)
	}
	return stored
}

// Due implements sink.Staging: now while a rolled file waits for its
// upload, else when the oldest open file reaches max_age; zero while the
// sink holds nothing.
func (s *Sink) Due() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.ready) > 0 {
		return s.now()
	}
	var due time.Time
	for _, f := range s.open {
		if at := f.opened.Add(s.opts.MaxAge); due.IsZero() || at.Before(due) {
			due = at
		}
	}
	return due
}

// Flush implements sink.Staging: it rolls the files past max_age (with
// all, every file) and uploads every rolled file.
func (s *Sink) Flush(ctx context.Context, all bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	if all {
		s.sealAll()
	} else {
		s.sealAged()
	}
	return s.upload(ctx)
}

func (s *Sink) usable() error {
	if s.closed {
		return errors.New("write to s3 sink: sink is closed")
	}
	if s.client == nil {
		return errors.New("write to s3 sink: not connected")
	}
	return nil
}

// Write takes the records into their files: all of them, or (with an
// error) none. It first uploads the files already rolled and fails when
// that fails, so that the sink takes no more while the store is away; a
// file a Write fills to file_bytes is uploaded before it returns, and when
// that upload fails the records are taken all the same and Due asks for a
// Flush at once. A record that cannot be written as its contract's typed
// row (a date-time that is no time, say) fails the Write with a
// *sink.PermanentError, so that delivery dead-letters that record alone.
func (s *Sink) Write(ctx context.Context, records []*event.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.usable(); err != nil {
		return err
	}
	s.sealAged()
	if err := s.upload(ctx); err != nil {
		return err
	}
	if len(records) == 0 {
		s.taken++
		return nil
	}
	now := s.now()
	prepared := make([]prepared, len(records))
	for i, r := range records {
		p, err := s.prepare(r, now)
		if err != nil {
			return &sink.PermanentError{Err: fmt.Errorf("write to s3 sink: record %s: %w", r.EventID, err)}
		}
		prepared[i] = p
	}
	seq := s.taken + 1
	for i := range prepared {
		s.add(&prepared[i], seq, now)
	}
	s.taken = seq
	for s.buffered > s.opts.MaxBufferBytes && len(s.open) > 0 {
		s.seal(s.largest())
	}
	if err := s.upload(ctx); err != nil {
		// Taken all the same: Due asks for a Flush, which retries.
		s.log.Warn("s3 upload failed; retrying on the next flush", "err", err)
	}
	return nil
}

// prepared is one record ready for its file.
type prepared struct {
	// key is the file's map key: partition and format (and, for Parquet,
	// the typed table it is written with).
	key   string
	dir   string
	table *typedTable
	// line is the record's envelope JSON (NDJSON), row its Parquet row;
	// size is what it counts towards file_bytes and max_buffer_bytes: its
	// JSON's length and newline, or for a Parquet row what the row holds
	// in memory when that is more.
	line []byte
	row  parquet.Row
	size int64
}

// prepare finds the record's partition and encodes it for its file.
func (s *Sink) prepare(r *event.Envelope, now time.Time) (prepared, error) {
	at := now.UTC()
	if !r.CollectedAt.IsZero() {
		at = r.CollectedAt.UTC()
	}
	hour := "date=" + at.Format("2006-01-02") + "/hour=" + at.Format("15") + "/"
	p := prepared{}
	if len(r.JSON) > 0 {
		// As delivery hands records over: the bytes they were spooled as.
		p.line = r.JSON
	} else {
		p.line = r.AppendJSON(nil)
	}
	p.size = int64(len(p.line)) + 1
	if !r.Valid {
		p.dir = s.opts.Prefix + "failed/" + hour
		p.key = p.dir + ".ndjson.gz"
		return p, nil
	}
	p.dir = ContractPrefix(s.opts.Prefix, r.Vendor, r.Name, r.Version) + hour
	if s.typed != nil {
		table, row, err := s.typed.row(r)
		switch {
		case err != nil:
			return p, err
		case table != nil:
			p.table, p.row = table, row
			p.key = p.dir + ".parquet"
			p.size = max(p.size, rowBytes(row))
			return p, nil
		}
		// No typed table for it (no contract found, or its events are
		// no objects): the record goes to an ndjson.gz file beside.
	}
	p.key = p.dir + ".ndjson.gz"
	return p, nil
}

// rowBytes is the memory a Parquet row holds until its file rolls: a
// value struct per column and the bytes of its strings.
func rowBytes(row parquet.Row) int64 {
	n := int64(len(row)) * int64(unsafe.Sizeof(parquet.Value{}))
	for _, v := range row {
		if v.Kind() == parquet.ByteArray {
			n += int64(len(v.ByteArray()))
		}
	}
	return n
}

// maxPartitionValue bounds one partition value (a vendor or name): a
// longer one is cut and ends in a hash.
const maxPartitionValue = 128

// ContractPrefix is the key prefix under which the good records of a
// contract version's MODEL land, up to the date and hour partitions:
// <prefix>good/vendor=<v>/name=<n>/model=<M>/. The catalog names it so.
func ContractPrefix(prefix, vendor, name, version string) string {
	return prefix + "good/vendor=" + partitionValue(vendor) + "/name=" + partitionValue(name) + "/model=" + partitionValue(sink.Model(version)) + "/"
}

// partitionValue escapes v for a key=value segment: ASCII letters, digits,
// '.', '_' and '-' stay, every other byte is %XX (as Hive escapes '/', '='
// and the rest), so a value can neither add a segment nor be '.' or '..'
// on its own; empty is __HIVE_DEFAULT_PARTITION__, as Hive writes NULL.
func partitionValue(v string) string {
	if v == "" {
		return "__HIVE_DEFAULT_PARTITION__"
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return sink.Shorten(b.String(), v, maxPartitionValue)
}

// file is one file being filled, or rolled and waiting for its upload.
type file struct {
	dir    string
	ext    string
	opened time.Time
	// first is the number of the first Write with a record in the file.
	first   uint64
	records int
	bytes   int64
	// NDJSON: gz compresses into buf. Parquet: rows, written at roll.
	buf   bytes.Buffer
	gz    *gzip.Writer
	table *typedTable
	rows  []parquet.Row
	// name and body are set when the file is rolled.
	name string
	body []byte
}

// add appends p to its file, opening one (and rolling others) as needed.
func (s *Sink) add(p *prepared, seq uint64, now time.Time) {
	f := s.open[p.key]
	if f != nil && f.table != p.table {
		// The contract's typed table grew (a new version or context):
		// a Parquet file has one schema, so a new file starts.
		s.seal(f)
		f = nil
	}
	if f != nil && f.bytes+p.size > s.opts.FileBytes {
		// Files stay within file_bytes; a larger record is alone.
		s.seal(f)
		f = nil
	}
	if f == nil {
		for len(s.open) >= s.opts.MaxOpenFiles {
			s.seal(s.oldest())
		}
		f = &file{dir: p.dir, opened: now, first: seq, table: p.table}
		if p.table != nil {
			f.ext = ".parquet"
		} else {
			f.ext = ".ndjson.gz"
			f.gz, _ = gzip.NewWriterLevel(&f.buf, gzip.DefaultCompression)
		}
		s.open[p.key] = f
	}
	if f.table != nil {
		f.rows = append(f.rows, p.row)
	} else {
		_, _ = f.gz.Write(p.line)
		_, _ = f.gz.Write([]byte{'\n'})
	}
	f.records++
	f.bytes += p.size
	s.buffered += p.size
	if f.bytes >= s.opts.FileBytes {
		s.seal(f)
	}
}

func (s *Sink) oldest() *file {
	var old *file
	for _, f := range s.open {
		if old == nil || f.opened.Before(old.opened) || (f.opened.Equal(old.opened) && f.first < old.first) {
			old = f
		}
	}
	return old
}

func (s *Sink) largest() *file {
	var big *file
	for _, f := range s.open {
		if big == nil || f.bytes > big.bytes {
			big = f
		}
	}
	return big
}

// sealAged rolls every open file past max_age.
func (s *Sink) sealAged() {
	now := s.now()
	for _, f := range s.open {
		if !now.Before(f.opened.Add(s.opts.MaxAge)) {
			s.seal(f)
		}
	}
}

func (s *Sink) sealAll() {
	for _, f := range s.open {
		s.seal(f)
	}
}

// seal rolls f: its body is finished and it waits in ready for upload.
func (s *Sink) seal(f *file) {
	for k, o := range s.open {
		if o == f {
			delete(s.open, k)
			break
		}
	}
	s.seq++
	f.name = f.dir + "part-" + f.opened.UTC().Format("20060102T150405Z") + "-" + s.node + "-" + strconv.FormatUint(s.seq, 10) + f.ext
	if f.table != nil {
		body, err := f.table.encode(f.rows)
		if err != nil {
			// The rows were checked against the schema when taken, so
			// this is a bug; it must not stop the sink (the file would
			// wait for ever, and every later one behind it). The rows
			// that encode go in the file; those that cannot go, as JSON
			// objects of their columns, to an NDJSON file beside, as a
			// record with no typed table does.
			var bad []parquet.Row
			body, bad = f.table.split(f.rows)
			s.log.Error("s3 sink cannot encode some rows of a Parquet file; they go to an NDJSON file beside it", "file", f.name, "rows", len(bad), "of", len(f.rows), "err", err)
			s.ready = append(s.ready, s.beside(f, bad, body == nil))
			if body == nil {
				return
			}
		}
		f.body = body
		f.rows = nil
	} else {
		_ = f.gz.Close()
		f.body = f.buf.Bytes()
	}
	s.ready = append(s.ready, f)
}

// beside is the rolled NDJSON file of a Parquet file's rows that could
// not be encoded, named after it. It carries f's bytes when f itself is
// not uploaded (alone, every row of it).
func (s *Sink) beside(f *file, rows []parquet.Row, alone bool) *file {
	b := &file{dir: f.dir, ext: ".ndjson.gz", opened: f.opened, first: f.first, records: len(rows)}
	if alone {
		b.bytes = f.bytes
	}
	gz, _ := gzip.NewWriterLevel(&b.buf, gzip.DefaultCompression)
	for _, row := range rows {
		_, _ = gz.Write(f.table.rowJSON(row))
		_, _ = gz.Write([]byte{'\n'})
	}
	_ = gz.Close()
	b.name = strings.TrimSuffix(f.name, f.ext) + "-unencoded" + b.ext
	b.body = b.buf.Bytes()
	return b
}

// upload puts every rolled file, oldest first, and stops at the first
// failure (the file stays for the next attempt).
func (s *Sink) upload(ctx context.Context) error {
	for len(s.ready) > 0 {
		f := s.ready[0]
		if err := s.put(ctx, f); err != nil {
			return err
		}
		s.ready[0] = nil
		s.ready = s.ready[1:]
		s.buffered -= f.bytes
	}
	return nil
}

// partSize is the size of a multipart upload's parts: S3's least, so that
// a file past it is sent in parts (each retried on its own by minio-go)
// rather than one long PUT.
const partSize = 5 << 20

// put uploads f whole: a single PUT up to partSize, above it a multipart
// upload, which the store shows only once it is completed.
// The payload is not signed (it may be large, and streaming signatures
// are not spoken by every S3-compatible store); its MD5 is sent and
// checked by the store instead.
func (s *Sink) put(ctx context.Context, f *file) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	contentType := "application/vnd.apache.parquet"
	if f.ext == ".ndjson.gz" {
		// Not Content-Encoding: gzip, which HTTP clients undo on the
		// way: the object is the .gz file.
		contentType = "application/gzip"
	}
	opts := minio.PutObjectOptions{ContentType: contentType, DisableContentSha256: true, SendContentMd5: true, PartSize: partSize}
	if _, err := s.client.PutObject(ctx, s.opts.Bucket, f.name, bytes.NewReader(f.body), int64(len(f.body)), opts); err != nil {
		return fmt.Errorf("upload %s to bucket %s at %s: %s", f.name, s.opts.Bucket, redact.URL(s.opts.Endpoint), s.redactErr(err))
	}
	return nil
}
