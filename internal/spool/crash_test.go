package spool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The kill -9 test runs this test binary again as a helper process that
// appends until it is killed.
const (
	killHelperDir   = "ACCORD_SPOOL_KILL_HELPER_DIR"
	killHelperRound = "ACCORD_SPOOL_KILL_HELPER_ROUND"
	// killHelperDeliver, when set, has the helper also read and commit
	// what it appends, as a sink does, so that delivered segments are
	// collected and their files written over (the spare).
	killHelperDeliver = "ACCORD_SPOOL_KILL_HELPER_DELIVER"
)

// killRecord is the content of record i of batch b of writer w in round.
func killRecord(round, w, b, i int) []byte {
	return record(fmt.Sprintf("k%d-w%d-b%d", round, w, b), i, 300+(w*37+b*11+i)%700)
}

// TestKillHelper is the helper process of TestKill9; it does nothing in a
// normal test run.
func TestKillHelper(t *testing.T) {
	dir := os.Getenv(killHelperDir)
	if dir == "" {
		t.Skip("helper process of TestKill9")
	}
	round, _ := strconv.Atoi(os.Getenv(killHelperRound))
	o := testOptions(dir)
	o.SegmentBytes = 64 << 10
	s, err := Open(o, nil)
	if err != nil {
		fmt.Printf("error %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	if os.Getenv(killHelperDeliver) != "" {
		r, err := s.Reader("sink")
		if err != nil {
			fmt.Printf("error %v\n", err)
			os.Exit(2)
		}
		go func() {
			var reuses int64
			for {
				es, err := r.Next(context.Background(), 200, 0)
				if err == nil && len(es) > 0 {
					err = r.Commit(es[len(es)-1].Offset)
				}
				if err != nil {
					fmt.Printf("error %v\n", err)
					os.Exit(2)
				}
				if n := s.reuses.Load(); n != reuses {
					reuses = n
					mu.Lock()
					fmt.Printf("reuses %d\n", n)
					mu.Unlock()
				}
			}
		}()
	}
	for w := range 4 {
		wg.Go(func() {
			for b := 0; ; b++ {
				n := 1 + (w+b)%8
				batch := make([][]byte, n)
				for i := range batch {
					batch[i] = killRecord(round, w, b, i)
				}
				off, err := s.Append(context.Background(), batch)
				if err != nil {
					fmt.Printf("error %v\n", err)
					os.Exit(2)
				}
				// Printed only once the append is acknowledged; one
				// write per line, so a kill never leaves half a line.
				mu.Lock()
				fmt.Printf("ack %d %d %d %d %d\n", round, w, b, off, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

type killAck struct {
	round, w, b, n int
	off            uint64
}

// TestKill9 kills a process that appends under concurrent load with SIGKILL,
// three times over the same spool, and checks that every record whose
// append was acknowledged is in the spool, intact, at its offset. In
// "delivered" a reader in the process also reads and commits as it goes:
// segments are collected, written over as spares, and killed mid-write;
// every acknowledged record its cursor had not passed must be there.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	t.Run("appended", func(t *testing.T) { kill9(t, false) })
	t.Run("delivered", func(t *testing.T) { kill9(t, true) })
}

func kill9(t *testing.T, deliver bool) {
	dir := t.TempDir()
	reused := false
	var acks []killAck
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), killHelperDir+"="+dir, killHelperRound+"="+strconv.Itoa(round))
		if deliver {
			cmd.Env = append(cmd.Env, killHelperDeliver+"=1")
		}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		var roundAcks []killAck
		deadline := time.After(10 * time.Second)
		killAt := 300 // acknowledged appends before the kill
		if deliver {
			killAt = 1500 // some 60 segments of 64 KiB, most over a spare
		}
	read:
		for {
			select {
			case line, ok := <-lines:
				if !ok {
					break read
				}
				if strings.HasPrefix(line, "error ") {
					t.Fatalf("helper: %s", line)
				}
				if strings.HasPrefix(line, "reuses ") {
					reused = true
					continue
				}
				var a killAck
				if _, err := fmt.Sscanf(line, "ack %d %d %d %d %d", &a.round, &a.w, &a.b, &a.off, &a.n); err != nil {
					continue
				}
				roundAcks = append(roundAcks, a)
				if len(roundAcks) == killAt {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			case <-deadline:
				cmd.Process.Signal(syscall.SIGKILL)
				deadline = nil
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("helper did not die of SIGKILL: %v", err)
		}
		if len(roundAcks) == 0 {
			t.Fatalf("round %d: no append acknowledged before the kill", round)
		}
		t.Logf("round %d: %d appends acknowledged before SIGKILL", round, len(roundAcks))
		acks = append(acks, roundAcks...)
	}

	if deliver && !reused && writesOverSpare {
		t.Fatal("no segment was written over a spare: the test did not test that")
	}
	rec := &logRecorder{}
	s := openSpool(t, testOptions(dir), slog.New(rec))
	if attrs, ok := rec.find(slog.LevelWarn, "cut torn tail"); ok {
		// A kill between two writes of one group commit leaves a torn
		// tail, which recovery cuts; never an acknowledged record.
		t.Logf("recovery cut a torn tail: %v", attrs)
	}
	st := s.Stats()
	from := st.FirstOffset // every record kept, when nothing reads
	if deliver {
		from = st.Readers[0].Committed + 1
	}
	r := mustReader(t, s, "check")
	byOffset := make(map[uint64][]byte, st.Records)
	for _, e := range readN(t, r, int(st.Records), 1000, 0) {
		byOffset[e.Offset] = e.Data
	}
	records := 0
	for _, a := range acks {
		for i := range a.n {
			off := a.off + uint64(i)
			if off < from {
				continue // delivered, and its segment perhaps collected
			}
			want := killRecord(a.round, a.w, a.b, i)
			if got, ok := byOffset[off]; !ok || !bytes.Equal(got, want) {
				t.Fatalf("acknowledged record %d of round %d writer %d batch %d missing or damaged at offset %d: %.40q", i, a.round, a.w, a.b, off, got)
			}
			records++
		}
	}
	if records == 0 {
		t.Fatal("no acknowledged record left to check")
	}
	t.Logf("%d acknowledged records of %d appends intact; %d records in the spool", records, len(acks), st.Records)
}
