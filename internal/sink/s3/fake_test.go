package s3

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

const (
	testBucket = "accord-test"
	testKeyID  = "AKIDTESTKEY12345"
	testSecret = "s3cr3t-do-not-print-0123456789"
)

// fakeS3 is gofakes3 behind an HTTP server of the test's own, with a hook
// in front of it that tests use to hold or fail requests.
type fakeS3 struct {
	srv    *httptest.Server
	client *minio.Client
	// hook, when set, sees every request first; it returns true when it
	// answered the request itself.
	hook atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	puts atomic.Int64
}

func newFake(t testing.TB) *fakeS3 {
	t.Helper()
	f := &fakeS3{}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	inner := faker.Server()
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := f.hook.Load(); h != nil && (*h)(w, r) {
			return
		}
		if r.Method == http.MethodPut {
			f.puts.Add(1)
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	c, err := minio.New(strings.TrimPrefix(f.srv.URL, "http://"), &minio.Options{Creds: credentials.NewStaticV4(testKeyID, testSecret, ""), BucketLookup: minio.BucketLookupPath, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	f.client = c
	if err := c.MakeBucket(context.Background(), testBucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fakeS3) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	if h == nil {
		f.hook.Store(nil)
		return
	}
	f.hook.Store(&h)
}

var prefixSeq atomic.Int64

// options are options writing to the fake under a prefix of the test's own.
func (f *fakeS3) options(format string) *Options {
	o := NewOptions()
	o.Endpoint = f.srv.URL
	o.PathStyle = true
	o.Bucket = testBucket
	o.Prefix = fmt.Sprintf("t%d/", prefixSeq.Add(1))
	o.AccessKeyID, o.SecretAccessKey = testKeyID, testSecret
	o.Format = format
	o.Timeout = 10 * time.Second
	return o
}

// object is one stored object.
type object struct {
	Key  string
	Size int64
}

// objects lists the objects under prefix, by key.
func (f *fakeS3) objects(t testing.TB, prefix string) []object {
	t.Helper()
	var out []object
	for o := range f.client.ListObjects(context.Background(), testBucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", prefix, o.Err)
		}
		out = append(out, object{Key: o.Key, Size: o.Size})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func (f *fakeS3) get(t testing.TB, key string) []byte {
	t.Helper()
	o, err := f.client.GetObject(context.Background(), testBucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	return b
}

// ndjson reads a .ndjson.gz object's envelopes.
func (f *fakeS3) ndjson(t testing.TB, key string) []*event.Envelope {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(f.get(t, key)))
	if err != nil {
		t.Fatalf("%s is not gzip: %v", key, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	tt, ok := t.(*testing.T)
	if !ok {
		return nil
	}
	return sinktest.DecodeNDJSON(tt, data)
}

// stored reads every NDJSON record under prefix: good and failed apart.
func (f *fakeS3) stored(t testing.TB, prefix string) (good, failed []*event.Envelope) {
	t.Helper()
	for _, o := range f.objects(t, prefix) {
		if !strings.HasSuffix(o.Key, ".ndjson.gz") {
			t.Fatalf("object %s is not NDJSON", o.Key)
		}
		recs := f.ndjson(t, o.Key)
		if strings.HasPrefix(o.Key, prefix+"failed/") {
			failed = append(failed, recs...)
		} else {
			good = append(good, recs...)
		}
	}
	return good, failed
}

// open builds and connects a sink on opts.
func open(t testing.TB, opts *Options, deps sink.Deps) *Sink {
	t.Helper()
	s, err := New(*opts, deps)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// clock is a clock a test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 4, 22, 15, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
