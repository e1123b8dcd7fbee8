package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
	"weak"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/pipeline"
	"github.com/accord-events/accord/internal/protocol"
	"github.com/accord-events/accord/internal/protocol/selfdesc"
	"github.com/accord-events/accord/internal/server"
)

// waiter stands in for a spool whose group commit takes a while: it
// encodes nothing and keeps nothing of the records, and returns once told
// to, reporting meanwhile whether the request's records are still kept.
type waiter struct {
	record  chan weak.Pointer[event.Envelope]
	release chan struct{}
}

func (w *waiter) Deliver(ctx context.Context, records []*event.Envelope) error {
	w.record <- weak.Make(records[len(records)-1])
	<-w.release
	return nil
}

// While its records are stored, which at full batched load is most of a
// request's time (the spool's group commit), the HTTP layer keeps neither
// them nor the decoded request they point into: a collector with 32
// requests of 100 events in flight would otherwise hold all of them at
// once. The answer is still the full one.
func TestRecordsNotKeptWhileStored(t *testing.T) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	w := &waiter{record: make(chan weak.Pointer[event.Envelope]), release: make(chan struct{})}
	p := pipeline.New(contract.NewSet(contracts), event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
	eps := []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(selfdesc.Decode)}}
	h := server.New(server.DefaultOptions(), p, w, eps, slog.New(slog.DiscardHandler)).Handler()
	body := "[" + strings.Repeat(pageView+",", 99) + pageView + "]"
	done := make(chan int)
	go func() {
		resp := do(h, http.MethodPost, "/events", []byte(body), "Content-Type", "application/json")
		done <- resp.Code
	}()
	wp := <-w.record
	deadline := time.Now().Add(5 * time.Second)
	for wp.Value() != nil && time.Now().Before(deadline) {
		runtime.GC()
	}
	kept := wp.Value() != nil
	close(w.release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if kept {
		t.Fatal("the request's records were kept while they were being stored")
	}
}
