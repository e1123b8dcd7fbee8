package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"weak"

	"github.com/accord-events/accord/internal/check"
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
	kept := !check.Collected(wp)
	close(w.release)
	if code := <-done; code != http.StatusOK {
		t.Fatalf("status %d, want 200", code)
	}
	if kept {
		t.Fatal("the request's records were kept while they were being stored")
	}
}

// keeper keeps every record delivered, as the live inspector does, with
// the strings each had when it was delivered.
type keeper struct {
	mu      sync.Mutex
	records []*event.Envelope
	strs    [][]string
}

func recordStrings(r *event.Envelope) []string {
	s := []string{r.EventID, r.Fingerprint, r.Schema, r.Vendor, r.Name, r.Version, r.Namespace,
		r.Identity.UserID, r.Identity.AnonymousID, r.Source.Path, r.Raw}
	for _, c := range r.Contexts {
		s = append(s, c.Schema)
	}
	if r.Failure != nil {
		for _, m := range r.Failure.Messages {
			s = append(s, m.Message)
		}
	}
	for i := range s {
		s[i] = strings.Clone(s[i])
	}
	return s
}

func (k *keeper) Deliver(ctx context.Context, records []*event.Envelope) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, r := range records {
		k.records = append(k.records, r)
		k.strs = append(k.strs, recordStrings(r))
	}
	return nil
}

// A record outlives its request (the spool's index, statistics, the
// inspector), while the server reuses the request's body buffer and the
// memory it lends the decoder for the next requests: the strings of
// every record kept stay as they were delivered, whatever requests came
// after, for the decoder accord serve wires and for the plain one.
func TestRecordStringsOutliveTheRequest(t *testing.T) {
	contracts, problems, err := contract.LoadDir("../scaffold/template/contracts")
	if err != nil || len(problems) > 0 {
		t.Fatal(err, problems)
	}
	set := contract.NewSet(contracts)
	for _, tc := range []struct {
		name   string
		decode func(*protocol.Request) ([]event.Input, error)
	}{{"DecodeWith", selfdesc.DecodeWith(set)}, {"Decode", selfdesc.Decode}} {
		t.Run(tc.name, func(t *testing.T) {
			k := &keeper{}
			p := pipeline.New(set, event.Collector{Name: "accord", Version: "test", Env: "test", Host: "h"}, "default")
			eps := []protocol.Endpoint{{Path: "/events", Protocol: selfdesc.Name, Decode: protocol.Plain(tc.decode)}}
			h := server.New(server.DefaultOptions(), p, k, eps, slog.New(slog.DiscardHandler)).Handler()
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Go(func() {
					for i := range 50 {
						n := strconv.Itoa(g*100 + i)
						body := pageView
						switch i % 4 {
						case 1:
							body = `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":"https://a.example/` + n + `"},"event_id":"id-` + n + `","namespace":"ns-` + n + `","user_id":"u-` + n + `"}`
						case 2:
							body = `{"schema":"iglu:com.example/nope/jsonschema/1-0-` + n + `","data":{},"anonymous_id":"a-` + n + `"}`
						case 3:
							body = `{"schema":"iglu:com.example/page_view/jsonschema/1-0-0","data":{"url":5},"contexts":[{"schema":"iglu:com.example/c/jsonschema/1-0-` + n + `","data":{}}]}`
						}
						do(h, http.MethodPost, "/events", []byte(body), "Content-Type", "application/json")
					}
				})
			}
			wg.Wait()
			if len(k.records) != 200 {
				t.Fatalf("%d records kept, want 200", len(k.records))
			}
			for i, r := range k.records {
				if got := recordStrings(r); !slices.Equal(got, k.strs[i]) {
					t.Errorf("record %d changed after its request:\n%q\n%q", i, k.strs[i], got)
				}
			}
		})
	}
}
