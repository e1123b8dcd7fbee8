package spool

import (
	"context"
	"sync"
	"testing"
)

// benchOptions returns options for a benchmark spool: a cap large enough
// that a benchmark never fills it.
func benchOptions(b *testing.B, fsync string) Options {
	o := DefaultOptions()
	o.Dir = b.TempDir()
	o.Fsync = fsync
	o.MaxBytes = 1 << 40
	return o
}

// inWorkers runs work in workers goroutines, sharing n calls between them
// (each goroutine makes the calls it is given), and waits for them.
func inWorkers(workers, n int, work func(calls int)) {
	var wg sync.WaitGroup
	for w := range workers {
		calls := n / workers
		if w < n%workers {
			calls++
		}
		wg.Go(func() { work(calls) })
	}
	wg.Wait()
}

// BenchmarkAppend appends batches of 100 records of 1 KiB, as one busy
// request would.
func BenchmarkAppend(b *testing.B) {
	for _, fsync := range []string{FsyncBatch, FsyncNever} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			s, err := Open(benchOptions(b, fsync), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			batch := make([][]byte, 100)
			for i := range batch {
				batch[i] = record("b", i, 1024)
			}
			ctx := context.Background()
			b.SetBytes(100 * 1024)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*100)/sec, "records/s")
			b.ReportMetric(float64(b.N*100*1024)/sec/1e6, "MB/s")
		})
	}
}

// BenchmarkAppendDelivered appends batches of 100 records of 1 KiB with
// fsync batch from 8 goroutines while a reader reads and commits them, as
// a sink that keeps up does: 8 MiB segments roll, are delivered, and the
// next is written over the spare file (spare=kept) or made anew as before
// the spare (spare=none).
func BenchmarkAppendDelivered(b *testing.B) {
	for _, keep := range []bool{true, false} {
		name := "spare=kept"
		if !keep {
			name = "spare=none"
		}
		b.Run(name, func(b *testing.B) {
			o := benchOptions(b, FsyncBatch)
			o.SegmentBytes = 8 << 20
			s, err := Open(o, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.noSpare = !keep
			r, err := s.Reader("sink")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var readers sync.WaitGroup
			readers.Go(func() {
				var buf ReadBuffer
				for {
					es, err := r.NextInto(ctx, 1000, 0, &buf)
					if err != nil {
						return // the benchmark is over
					}
					if err := r.Commit(es[len(es)-1].Offset); err != nil {
						b.Error(err)
						return
					}
				}
			})
			batch := make([][]byte, 100)
			for i := range batch {
				batch[i] = record("d", i, 1024)
			}
			const workers = 8
			b.SetBytes(100 * 1024)
			b.ReportAllocs()
			b.ResetTimer()
			reuses := s.reuses.Load()
			inWorkers(workers, b.N, func(calls int) {
				for range calls {
					if _, err := s.Append(context.Background(), batch); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			cancel()
			readers.Wait()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N*100)/sec, "records/s")
			b.ReportMetric(float64(s.reuses.Load()-reuses), "reused-segments")
		})
	}
}

// BenchmarkAppendConcurrent has 8 goroutines append one 1 KiB record at a
// time with fsync batch: group commit shares each fsync between them.
func BenchmarkAppendConcurrent(b *testing.B) {
	s, err := Open(benchOptions(b, FsyncBatch), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := [][]byte{record("c", 0, 1024)}
	ctx := context.Background()
	const workers = 8
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	start := s.fsyncs.Load()
	inWorkers(workers, b.N, func(calls int) {
		for range calls {
			if _, err := s.Append(ctx, rec); err != nil {
				b.Error(err)
				return
			}
		}
	})
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/sec, "records/s")
	b.ReportMetric(float64(s.fsyncs.Load()-start)/float64(b.N), "fsyncs/record")
}

// BenchmarkAppendFramesConcurrent has 32 goroutines append one 1 KiB
// record at a time with AppendFrames and fsync batch, as delivery does under
// 32 connections of single-event requests; writes/op and fsyncs/op are the
// segment writes and fsyncs per record.
func BenchmarkAppendFramesConcurrent(b *testing.B) {
	s := appendFramesConcurrently(b, 1)
	b.ReportMetric(float64(s.fsyncs.Load())/float64(b.N), "fsyncs/op")
	b.ReportMetric(float64(s.writes.Load())/float64(b.N), "writes/op")
}

// BenchmarkAppendFramesBatchesConcurrent has 32 goroutines append 100
// records of 1 KiB at a time with AppendFrames and fsync batch, as delivery
// does under 32 connections of 100-event requests: groups of a few hundred
// KiB, whose fsync is most of a commit. records/s is what the spool alone
// takes; fsyncs/op is fsyncs per append.
func BenchmarkAppendFramesBatchesConcurrent(b *testing.B) {
	const perAppend = 100
	s := appendFramesConcurrently(b, perAppend)
	b.ReportMetric(float64(b.N*perAppend)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(s.fsyncs.Load())/float64(b.N), "fsyncs/op")
}

// appendFramesConcurrently makes b.N AppendFrames calls of perAppend
// records of 1 KiB from 32 goroutines into a new spool with fsync batch,
// and returns the spool, closed, its counters holding the run's alone.
func appendFramesConcurrently(b *testing.B, perAppend int) *Spool {
	s, err := Open(benchOptions(b, FsyncBatch), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := record("c", 0, 1024)
	ctx := context.Background()
	const workers = 32
	b.SetBytes(int64(perAppend) * 1024)
	b.ReportAllocs()
	b.ResetTimer()
	s.fsyncs.Store(0)
	s.writes.Store(0)
	inWorkers(workers, b.N, func(calls int) {
		var f Frames
		for range calls {
			f.Reset()
			for range perAppend {
				f.End(append(f.Begin(), rec...))
			}
			if _, err := s.AppendFrames(ctx, &f, nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	return s
}

// BenchmarkRead reads 1 KiB records back in batches of 500.
func BenchmarkRead(b *testing.B) {
	s, err := Open(benchOptions(b, FsyncNever), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	batch := make([][]byte, 500)
	for i := range batch {
		batch[i] = record("r", i, 1024)
	}
	r, err := s.Reader("bench")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.SetBytes(500 * 1024)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if _, err := s.Append(ctx, batch); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for got := 0; got < len(batch); {
			es, err := r.Next(ctx, 500, 0)
			if err != nil {
				b.Fatal(err)
			}
			got += len(es)
		}
	}
}
