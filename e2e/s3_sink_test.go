package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/accord-events/accord/internal/event/eventtest"
)

// The real binary writes to an S3 store (gofakes3, in this test's process,
// on a loopback port passed in the configuration): good records as
// Parquet with the contract's typed columns, uploaded by age while it runs
// and by the drain at shutdown, failed ones as NDJSON.gz; read back with
// minio-go and Apache Arrow's Parquet reader. The secret key is never
// printed.
func TestS3SinkWritesParquetAndNDJSON(t *testing.T) {
	const bucket, keyID, secret = "accord-e2e", "AKIDE2ETEST", "e2e-s3cr3t-key-never-printed"
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()
	client, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{Creds: credentials.NewStaticV4(keyID, secret, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=lake", "ACCORD_SINKS_1_TYPE=s3",
		"ACCORD_SINKS_1_OPTIONS_ENDPOINT="+srv.URL,
		"ACCORD_SINKS_1_OPTIONS_PATH_STYLE=true",
		"ACCORD_SINKS_1_OPTIONS_BUCKET="+bucket,
		"ACCORD_SINKS_1_OPTIONS_PREFIX=events/",
		"ACCORD_SINKS_1_OPTIONS_ACCESS_KEY_ID="+keyID,
		"ACCORD_SINKS_1_OPTIONS_SECRET_ACCESS_KEY="+secret,
		"ACCORD_SINKS_1_OPTIONS_MAX_AGE=1s",
		"ACCORD_LOG_LEVEL=debug")
	pageView := func(url string) string {
		return `{"schema":"` + pageViewKey + `","data":{"url":"` + url + `","title":"T"}}`
	}
	checkout := `{"schema":"iglu:com.example/checkout_completed/jsonschema/1-0-0","data":{"order_id":"o-1","total":12.5,"currency":"EUR","items":[{"sku":"s","quantity":2}]}}`
	body := []byte(`[` + pageView("https://a.example/1") + `,` + pageView("https://a.example/2") + `,` + checkout +
		`,{"schema":"` + pageViewKey + `","data":{"nope":1}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}

	list := func() []string {
		var keys []string
		for o := range client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		return keys
	}
	get := func(key string) []byte {
		o, err := client.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		b, err := io.ReadAll(o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// max_age 1s: the files are uploaded while the collector runs.
	eventually(t, 30*time.Second, "the files are uploaded by age", func() bool { return len(list()) == 3 })
	eventually(t, 10*time.Second, "the cursor passes the uploaded records", func() bool {
		return sinkStats(t, c.stats(), "lake").LagRecords == 0
	})
	hourPath := regexp.MustCompile(`/date=\d{4}-\d{2}-\d{2}/hour=\d{2}/part-[^/]+$`)
	var pvKey string
	for _, k := range list() {
		switch {
		case !hourPath.MatchString(k):
			t.Errorf("object %s has no date=/hour= partition", k)
		case strings.HasPrefix(k, "events/good/vendor=com.example/name=page_view/model=1/date=") && strings.HasSuffix(k, ".parquet"):
			pvKey = k
		case strings.HasPrefix(k, "events/good/vendor=com.example/name=checkout_completed/model=1/") && strings.HasSuffix(k, ".parquet"):
			tbl := readParquetTable(t, get(k))
			if tbl["order_id"][0] != "o-1" || tbl["total"][0] != 12.5 || tbl["currency"][0] != "EUR" || tbl["items"][0] != `[{"sku":"s","quantity":2}]` {
				t.Errorf("checkout row: %v", tbl)
			}
		case strings.HasPrefix(k, "events/failed/date=") && strings.HasSuffix(k, ".ndjson.gz"):
			zr, err := gzip.NewReader(bytes.NewReader(get(k)))
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(zr)
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("failed file holds %d lines", len(lines))
			}
			eventtest.CheckJSON(t, []byte(lines[0]))
			var rec struct {
				Valid   bool `json:"valid"`
				Failure struct {
					Type string `json:"type"`
				} `json:"failure"`
			}
			if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil || rec.Valid || rec.Failure.Type != "schema_violation" {
				t.Errorf("failed record %s", lines[0])
			}
		default:
			t.Errorf("unexpected object %s", k)
		}
	}
	if pvKey == "" {
		t.Fatalf("no page_view Parquet file in %v", list())
	}
	pv := readParquetTable(t, get(pvKey))
	if got := pv["url"]; len(got) != 2 || got[0] != "https://a.example/1" || got[1] != "https://a.example/2" {
		t.Errorf("page_view url column: %v", got)
	}
	if pv["title"][0] != "T" || pv["referrer"][0] != nil || pv["schema"][0] != pageViewKey || pv["event_id"][0] == "" {
		t.Errorf("page_view row: %v", pv)
	}

	// Records still held at shutdown are uploaded by the drain: the
	// collector exits 0, nothing left in the spool.
	if status, _, resp := c.post("/events", "application/json", []byte(`[`+pageView("https://a.example/3")+`]`)); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	_, _, statsBody := httpDo(t, http.MethodGet, c.URL+"/stats", nil)
	c.stop()
	if n := len(list()); n != 4 {
		t.Errorf("%d objects after the drain; want 4", n)
	}
	for what, text := range map[string]string{"log": c.logs.String(), "/stats": statsBody} {
		if strings.Contains(text, secret) {
			t.Errorf("the collector's %s holds the secret key", what)
		}
	}
}

// kill -9 while the sink holds records in files not yet uploaded: the
// spool still has them (the cursor never passed them), and the next start
// uploads every one. Nothing lost across a crash mid-roll.
func TestS3SinkCrashBeforeUploadLosesNothing(t *testing.T) {
	const bucket = "accord-crash"
	srv := httptest.NewServer(gofakes3.New(s3mem.New(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	defer srv.Close()
	client, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{Creds: credentials.NewStaticV4("AKIDCRASH", "crash-secret", ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.MakeBucket(context.Background(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	env := func(maxAge string) []string {
		return []string{"ACCORD_SINKS_1_NAME=lake", "ACCORD_SINKS_1_TYPE=s3",
			"ACCORD_SINKS_1_OPTIONS_ENDPOINT=" + srv.URL, "ACCORD_SINKS_1_OPTIONS_PATH_STYLE=true",
			"ACCORD_SINKS_1_OPTIONS_BUCKET=" + bucket, "ACCORD_SINKS_1_OPTIONS_FORMAT=ndjson",
			"ACCORD_SINKS_1_OPTIONS_ACCESS_KEY_ID=AKIDCRASH", "ACCORD_SINKS_1_OPTIONS_SECRET_ACCESS_KEY=crash-secret",
			"ACCORD_SINKS_1_OPTIONS_MAX_AGE=" + maxAge}
	}
	stored := func() map[string]int {
		ids := map[string]int{}
		for o := range client.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			obj, err := client.GetObject(context.Background(), bucket, o.Key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			zr, err := gzip.NewReader(obj)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(zr)
			obj.Close()
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				var rec struct {
					Payload struct {
						URL string `json:"url"`
					} `json:"payload"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				ids[rec.Payload.URL]++
			}
		}
		return ids
	}
	dir := newProject(t)
	c := startCollector(t, dir, env("1h")...)
	const n = 40
	var events []string
	for i := range n {
		events = append(events, `{"schema":"`+pageViewKey+`","data":{"url":"https://a.example/`+strconv.Itoa(i)+`"}}`)
	}
	if status, _, resp := c.post("/events", "application/json", []byte("["+strings.Join(events, ",")+"]")); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	// Taken by the sink (delivered counts writes it took), not uploaded:
	// max_age is an hour, the file far below file_bytes.
	eventually(t, 20*time.Second, "the sink takes the records", func() bool {
		return sinkStats(t, c.stats(), "lake").Delivered == n
	})
	if st := sinkStats(t, c.stats(), "lake"); st.LagRecords != n {
		t.Fatalf("lag %d with every record in a file not uploaded; want %d (the cursor must not pass them)", st.LagRecords, n)
	}
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if got := stored(); len(got) != 0 {
		t.Fatalf("objects after kill -9 before any upload: %v", got)
	}
	c2 := startCollector(t, dir, env("1s")...)
	var got map[string]int
	eventually(t, 30*time.Second, "the next start uploads every record", func() bool {
		got = stored()
		return len(got) == n
	})
	for i := range n {
		if got["https://a.example/"+strconv.Itoa(i)] == 0 {
			t.Errorf("event %d lost across the crash", i)
		}
	}
	c2.stop()
}

// readParquetTable reads a Parquet file with Arrow's reader: each column's
// values by name (nil for null; strings, int64, float64, bool).
func readParquetTable(t *testing.T, data []byte) map[string][]any {
	t.Helper()
	tbl, err := pqarrow.ReadTable(context.Background(), bytes.NewReader(data), parquet.NewReaderProperties(memory.DefaultAllocator), pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("not Parquet to Arrow's reader: %v", err)
	}
	defer tbl.Release()
	out := map[string][]any{}
	for c := range int(tbl.NumCols()) {
		col := tbl.Column(c)
		for _, chunk := range col.Data().Chunks() {
			for i := range chunk.Len() {
				var v any
				if !chunk.IsNull(i) {
					switch a := chunk.(type) {
					case *array.String:
						v = a.Value(i)
					case *array.Binary:
						v = string(a.Value(i))
					case *array.Int64:
						v = a.Value(i)
					case *array.Float64:
						v = a.Value(i)
					case *array.Boolean:
						v = a.Value(i)
					default:
						v = chunk.ValueStr(i)
					}
				}
				out[col.Name()] = append(out[col.Name()], v)
			}
		}
	}
	return out
}
