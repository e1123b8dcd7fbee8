package spool

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
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
// append was acknowledged is in the spool, intact, at its offset.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helper processes")
	}
	dir := t.TempDir()
	var acks []killAck
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), killHelperDir+"="+dir, killHelperRound+"="+strconv.Itoa(round))
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

	s := openSpool(t, testOptions(dir), nil)
	st := s.Stats()
	r := mustReader(t, s, "check")
	byOffset := make(map[uint64][]byte, st.Records)
	for _, e := range readN(t, r, int(st.Records), 1000, 0) {
		byOffset[e.Offset] = e.Data
	}
	records := 0
	for _, a := range acks {
		for i := range a.n {
			off := a.off + uint64(i)
			want := killRecord(a.round, a.w, a.b, i)
			if got, ok := byOffset[off]; !ok || !bytes.Equal(got, want) {
				t.Fatalf("acknowledged record %d of round %d writer %d batch %d missing or damaged at offset %d: %.40q", i, a.round, a.w, a.b, off, got)
			}
			records++
		}
	}
	t.Logf("%d acknowledged records of %d appends intact; %d records in the spool", records, len(acks), st.Records)
}
