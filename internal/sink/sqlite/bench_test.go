//go:build unix

package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event"
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
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	cpu = cpuTime(b) - cpu
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "records/s")
	// On a machine shared with other work, wall time varies with the load;
	// the CPU time the process spent (user and system, GC included) is the
	// steadier measure of what a write costs.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N*perBatch)/cpu.Seconds(), "records/cpu-s")
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
