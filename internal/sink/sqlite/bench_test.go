//go:build unix

package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/google/uuid"
)

// BenchmarkWrite100 writes batches of 100 realistic records (15-field
// payload, two contexts, about 1.4 KB each) with the default options (WAL,
// synchronous=normal), varying how many records one INSERT carries and how
// event ids are made: random UUIDv4, as the pipeline makes them today, or
// time-ordered UUIDv7. The cost per record grows with the table (the
// event_id index), so compare runs with the same -benchtime:
//
//	go test -run '^$' -bench Write100 -benchtime 1000x -count 6 ./internal/sink/sqlite
func BenchmarkWrite100(b *testing.B) {
	for _, ids := range []struct {
		name string
		new  func() string
	}{
		{"uuidv4", uuid.NewString},
		{"uuidv7", func() string { return uuid.Must(uuid.NewV7()).String() }},
	} {
		for _, rows := range []int{1, rowsPerInsert} {
			b.Run(fmt.Sprintf("ids=%s/rows_per_insert=%d", ids.name, rows), func(b *testing.B) {
				benchmarkWrite(b, rows, 100, ids.new, 0)
			})
		}
	}
}

// BenchmarkWrite100Retention measures what setting retention costs a write
// when nothing is old yet: the database is created in incremental
// auto-vacuum mode, whose pointer-map pages every write keeps up to date.
//
//	go test -run '^$' -bench Write100Retention -benchtime 1000x -count 6 ./internal/sink/sqlite
func BenchmarkWrite100Retention(b *testing.B) {
	newID := func() string { return uuid.Must(uuid.NewV7()).String() }
	for _, r := range []time.Duration{0, 8760 * time.Hour} {
		b.Run(fmt.Sprintf("retention=%s", r), func(b *testing.B) {
			benchmarkWrite(b, rowsPerInsert, 100, newID, r)
		})
	}
}

func benchmarkWrite(b *testing.B, rowsPerInsert, perBatch int, newID func() string, retention time.Duration) {
	opts := *NewOptions()
	opts.Path = filepath.Join(b.TempDir(), "accord.db")
	opts.Retention = retention
	s, err := Open(context.Background(), opts, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	s.rowsPerInsert = rowsPerInsert

	// Every record gets a fresh id, as a duplicate would be skipped and
	// cost less than a real insert.
	batches := make([][]*event.Envelope, b.N)
	for i := range batches {
		batch := make([]*event.Envelope, perBatch)
		for j := range batch {
			batch[j] = goodRecord(newID())
		}
		batches[i] = batch
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu := cpuTime(b)
	w0, d0 := written()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportWritten(b, b.N*perBatch, w0, d0)
	cpu = cpuTime(b) - cpu
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "records/s")
	// On a machine shared with other work, wall time varies with the load;
	// the CPU time the process spent (user and system, GC included) is the
	// steadier measure of what a write costs.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N*perBatch)/cpu.Seconds(), "records/cpu-s")
}

// written returns the bytes the process has handed to write system calls
// (wchar in /proc/self/io) and those it has sent or will send to the
// storage layer (write_bytes: counted as it dirties the page cache); 0, 0
// where /proc/self/io cannot be read.
func written() (wchar, disk int64) {
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		name, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch name {
		case "wchar":
			wchar = n
		case "write_bytes":
			disk = n
		}
	}
	return wchar, disk
}

// reportWritten reports the bytes written per row since w0 and d0
// (written's figures then): what SQLite wrote to the WAL and the database
// file, including the checkpoints that ran meanwhile.
func reportWritten(b *testing.B, rows int, w0, d0 int64) {
	w1, d1 := written()
	if w1 == 0 {
		return
	}
	b.ReportMetric(float64(w1-w0)/float64(rows), "written-B/row")
	b.ReportMetric(float64(d1-d0)/float64(rows), "disk-B/row")
}

// cpuTime returns the CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWrite1 writes batches of one record, as delivery hands the sink
// under single-event requests: the per-transaction cost dominates.
//
//	go test -run '^$' -bench 'Write1$' -benchtime 5000x -count 6 ./internal/sink/sqlite
func BenchmarkWrite1(b *testing.B) {
	benchmarkWrite(b, rowsPerInsert, 1, func() string { return uuid.Must(uuid.NewV7()).String() }, 0)
}

// BenchmarkTypedWrite measures rows/s into the good table and the typed
// table of a 15-property contract (the postgres and mysql sinks' bench
// contract), against tables: off.
//
//	go test -run '^$' -bench TypedWrite -benchtime 20x ./internal/sink/sqlite
func BenchmarkTypedWrite(b *testing.B) {
	const bench = `"type": "object", "required": ["order_id", "total"], "properties": {
	"order_id": {"type": "string"}, "customer_id": {"type": "string", "format": "uuid"},
	"total": {"type": "number"}, "tax": {"type": "number"}, "items": {"type": "integer"},
	"quantity": {"type": "integer"}, "paid": {"type": "boolean"}, "gift": {"type": "boolean"},
	"placed_at": {"type": "string", "format": "date-time"}, "ship_on": {"type": "string", "format": "date"},
	"currency": {"type": "string"}, "coupon": {"type": "string"}, "channel": {"type": "string"},
	"tags": {"type": "array", "items": {"type": "string"}},
	"address": {"type": "object", "properties": {"city": {"type": "string"}}}}`
	for _, mode := range []string{TablesAuto, TablesOff} {
		for _, batch := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("tables=%s/batch=%d", mode, batch), func(b *testing.B) {
				set := contract.NewSet([]*contract.Contract{sinktest.CompileContract(b, "iglu:com.acme/bench/jsonschema/1-0-0", bench),
					sinktest.CompileContract(b, "iglu:com.acme/user/jsonschema/1-0-0", `"type": "object", "properties": {"id": {"type": "string"}}`)})
				opts := NewOptions()
				opts.Path = filepath.Join(b.TempDir(), "accord.db")
				opts.Tables = mode
				ss, err := Type().New(opts, sink.Deps{Contracts: set})
				if err != nil {
					b.Fatal(err)
				}
				s := ss.(*Sink)
				if err := s.Connect(context.Background()); err != nil {
					b.Fatal(err)
				}
				defer s.Close(context.Background())
				batches := make([][]*event.Envelope, b.N)
				for i := range batches {
					batches[i] = make([]*event.Envelope, batch)
					for j := range batches[i] {
						batches[i][j] = typedRecord(fmt.Sprintf("b%d-%d", i, j), "iglu:com.acme/bench/jsonschema/1-0-0", fmt.Sprintf(`{"order_id":"o-%d","customer_id":"6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b","total":%d.25,"tax":1.5,"items":%d,"quantity":2,`+
							`"paid":true,"gift":false,"placed_at":"2026-12-04T10:11:12.123Z","ship_on":"2026-12-06","currency":"EUR","coupon":"XMAS",`+
							`"channel":"web","tags":["a","b"],"address":{"city":"Lyon"}}`, j, j, j%7),
							event.Context{Schema: "iglu:com.acme/user/jsonschema/1-0-0", Data: json.RawMessage(`{"id":"u-1"}`)})
					}
				}
				b.ReportAllocs()
				cpu := cpuTime(b)
				w0, d0 := written()
				b.ResetTimer()
				for i := range b.N {
					if err := s.Write(context.Background(), batches[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportWritten(b, b.N*batch, w0, d0)
				cpu = cpuTime(b) - cpu
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "rows/s")
				// The process's CPU time per record, steadier than wall
				// time on a shared machine.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*batch), "cpu-ns/row")
			})
		}
	}
}
