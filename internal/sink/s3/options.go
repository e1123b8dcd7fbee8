package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/accord-events/accord/internal/redact"
)

// Formats of good records' files.
const (
	FormatParquet = "parquet"
	FormatNDJSON  = "ndjson"
)

// maxPrefix is the longest prefix; S3 allows keys of 1024 bytes, and the
// partition path and file name take up to about 600 of them.
const maxPrefix = 256

// Options configures an s3 sink.
type Options struct {
	Endpoint        string        `yaml:"endpoint" doc:"S3 API endpoint as a URL: https://s3.amazonaws.com for AWS, https://<account>.r2.cloudflarestorage.com, http://127.0.0.1:9000 for a local MinIO; http:// only for a server on a trusted network."`
	Region          string        `yaml:"region" doc:"Region of the bucket (us-east-1 when the store has none)."`
	Bucket          string        `yaml:"bucket" doc:"Bucket the files are written to; it must exist unless create_bucket is set."`
	CreateBucket    bool          `yaml:"create_bucket" doc:"Create the bucket at connect when it is missing."`
	Prefix          string        `yaml:"prefix" doc:"Key prefix of every file (a folder of the bucket): good files under <prefix>good/, failed under <prefix>failed/; empty writes at the bucket's root."`
	PathStyle       bool          `yaml:"path_style" doc:"Address the bucket as <endpoint>/<bucket> rather than <bucket>.<endpoint> (MinIO and most self-hosted stores need it; AWS does not)."`
	AccessKeyID     string        `yaml:"access_key_id" doc:"Access key id; with secret_access_key empty too, credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials or the instance's IAM role."`
	SecretAccessKey string        `yaml:"secret_access_key" doc:"Secret access key; never printed (set it from an environment variable)."`
	SessionToken    string        `yaml:"session_token" doc:"Session token of temporary credentials; never printed."`
	Format          string        `yaml:"format" doc:"Format of good records' files: parquet (a typed column per contract property, as the SQL sinks' typed tables) or ndjson (gzipped envelopes, one per line). Failed records are always ndjson.gz."`
	FileBytes       int64         `yaml:"file_bytes" doc:"A file is uploaded once the records in it reach this many bytes as envelope JSON (the object is smaller: compressed); a single larger record is a file of its own."`
	MaxAge          time.Duration `yaml:"max_age" doc:"A file is uploaded at the latest this long after its first record was taken, however small."`
	MaxOpenFiles    int           `yaml:"max_open_files" doc:"Most files being filled at once (a file per partition: contract MODEL and hour); opening one more uploads the oldest first."`
	MaxBufferBytes  int64         `yaml:"max_buffer_bytes" doc:"Most envelope bytes held in all open files together; past it the largest file is uploaded. With file_bytes it bounds the sink's memory."`
	Compression     string        `yaml:"compression" doc:"Compression of Parquet column chunks: zstd, snappy, gzip or none."`
	Timeout         time.Duration `yaml:"timeout" doc:"Longest one upload (or a connect check) may take; one that takes longer fails and is tried again."`
}

// NewOptions returns the default options.
func NewOptions() *Options {
	return &Options{
		Endpoint:       "https://s3.amazonaws.com",
		Region:         "us-east-1",
		Bucket:         "accord",
		Prefix:         "accord/",
		Format:         FormatParquet,
		FileBytes:      64 << 20,
		MaxAge:         5 * time.Minute,
		MaxOpenFiles:   64,
		MaxBufferBytes: 256 << 20,
		Compression:    "zstd",
		Timeout:        2 * time.Minute,
	}
}

// Validate reports every problem with the options, each naming its key and
// the fix. No credential is ever part of a message.
func (o *Options) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if u, err := url.Parse(o.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("endpoint", "%q is not an http(s) URL such as https://s3.amazonaws.com", redact.URL(o.Endpoint))
	} else {
		if u.User != nil {
			bad("endpoint", "%q carries credentials; set access_key_id and secret_access_key instead", redact.URL(o.Endpoint))
		}
		if strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
			bad("endpoint", "%q has a path or query; give the server only, and the bucket in bucket", redact.URL(o.Endpoint))
		}
	}
	if !validBucket(o.Bucket) {
		bad("bucket", "%q is not a bucket name: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit", o.Bucket)
	}
	if len(o.Prefix) > maxPrefix {
		bad("prefix", "is longer than %d bytes", maxPrefix)
	} else if o.Prefix != "" {
		if strings.HasPrefix(o.Prefix, "/") {
			bad("prefix", "%q starts with '/'; keys are relative to the bucket, write it without", o.Prefix)
		}
		for _, seg := range strings.Split(strings.TrimSuffix(o.Prefix, "/"), "/") {
			if seg == "" || seg == "." || seg == ".." {
				bad("prefix", "%q has an empty, '.' or '..' segment; use plain folder names such as accord/", o.Prefix)
				break
			}
		}
		for _, r := range o.Prefix {
			if r < 0x20 || r == 0x7f || r == '\\' {
				bad("prefix", "%q holds a control character or '\\'", o.Prefix)
				break
			}
		}
	}
	if (o.AccessKeyID == "") != (o.SecretAccessKey == "") {
		bad("access_key_id", "set both access_key_id and secret_access_key, or neither (credentials then come from the environment)")
	}
	switch o.Format {
	case FormatParquet, FormatNDJSON:
	default:
		bad("format", "%q is not parquet or ndjson", o.Format)
	}
	if o.FileBytes < 1<<10 || o.FileBytes > 4<<30 {
		bad("file_bytes", "%d must be between 1024 and 4294967296 (4 GiB), such as 67108864 (64 MiB)", o.FileBytes)
	}
	if o.MaxAge < time.Second {
		bad("max_age", "%s must be at least 1s, such as 5m", o.MaxAge)
	}
	if o.MaxOpenFiles < 1 || o.MaxOpenFiles > 10000 {
		bad("max_open_files", "%d must be between 1 and 10000, such as 64", o.MaxOpenFiles)
	}
	if o.MaxBufferBytes < o.FileBytes {
		bad("max_buffer_bytes", "%d is less than file_bytes (%d); make it at least as large, such as 4 times", o.MaxBufferBytes, o.FileBytes)
	}
	if _, ok := compressions[o.Compression]; !ok {
		bad("compression", "%q is not zstd, snappy, gzip or none", o.Compression)
	}
	if o.Timeout < time.Second {
		bad("timeout", "%s must be at least 1s, such as 2m", o.Timeout)
	}
	return errors.Join(errs...)
}

// validBucket reports whether name follows S3's bucket naming rules (the
// subset every S3-compatible store accepts).
func validBucket(name string) bool {
	if len(name) < 3 || len(name) > 63 || strings.Contains(name, "..") {
		return false
	}
	for i, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case (r == '.' || r == '-') && i > 0 && i < len(name)-1:
		default:
			return false
		}
	}
	return true
}
