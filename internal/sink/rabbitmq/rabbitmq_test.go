package rabbitmq

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/rabbitmq/rabbitmqtest"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string // "" for valid
	}{
		{"defaults", func(*Options) {}, ""},
		{"amqps", func(o *Options) { o.URL = "amqps://u:p@rabbit:5671/vhost" }, ""},
		{"not amqp", func(o *Options) { o.URL = "http://u:secret@rabbit/" }, "url: "},
		{"no host", func(o *Options) { o.URL = "amqp://" }, "url: "},
		{"empty exchange", func(o *Options) { o.Exchange = "" }, "exchange: "},
		{"long exchange", func(o *Options) { o.Exchange = strings.Repeat("x", 256) }, "exchange: "},
		{"broker's exchange", func(o *Options) { o.Exchange = "amq.topic" }, "exchange: "},
		{"unroutable", func(o *Options) { o.Unroutable = "ignore" }, "unroutable: "},
		{"confirm timeout", func(o *Options) { o.ConfirmTimeout = time.Millisecond }, "confirm_timeout: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.edit(o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one about %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestRoutingKey(t *testing.T) {
	rec := func(valid bool, vendor, name, version string) *event.Envelope {
		r := sinktest.Records("k", 1)[0]
		r.Valid, r.Vendor, r.Name, r.Version = valid, vendor, name, version
		return r
	}
	for _, tc := range []struct {
		r    *event.Envelope
		want string
	}{
		{rec(true, "com.acme", "page_view", "1-0-2"), "good.com.acme.page_view.v1"},
		{rec(true, "com.acme", "checkout", "12-1-0"), "good.com.acme.checkout.v12"},
		{rec(true, "", "", ""), "good"},
		{rec(false, "com.acme", "page_view", "1-0-0"), "failed"},
	} {
		if got := RoutingKey(tc.r); got != tc.want {
			t.Errorf("RoutingKey(%s/%s/%s valid %v) = %q, want %q", tc.r.Vendor, tc.r.Name, tc.r.Version, tc.r.Valid, got, tc.want)
		}
	}
	// A key past AMQP's 255 bytes is cut, and two cut alike still differ.
	a := RoutingKey(rec(true, "com.acme", strings.Repeat("n", 300)+"a", "1-0-0"))
	b := RoutingKey(rec(true, "com.acme", strings.Repeat("n", 300)+"b", "1-0-0"))
	if len(a) != maxNameLen || len(b) != maxNameLen || a == b {
		t.Errorf("long keys: %d and %d bytes, equal %v", len(a), len(b), a == b)
	}
}

// newSink returns a connected sink publishing to place through url.
func newSink(t *testing.T, url string, place *rabbitmqtest.Place, edit func(*Options)) *Sink {
	t.Helper()
	opts := NewOptions()
	opts.URL, opts.Exchange, opts.ConfirmTimeout = url, place.Exchange, 5*time.Second
	if edit != nil {
		edit(opts)
	}
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func TestUnroutableDropIsCountedWritten(t *testing.T) {
	place := rabbitmqtest.NewPlace(t)
	place.Unbind(t)
	s := newSink(t, rabbitmqtest.URL(), place, func(o *Options) { o.Unroutable = UnroutableDrop })
	if err := s.Write(context.Background(), sinktest.Records("drop", 6)); err != nil {
		t.Fatalf("unroutable records with unroutable: drop: %v", err)
	}
	// The same records with the default fail permanently, naming one.
	strict := newSink(t, rabbitmqtest.URL(), place, nil)
	err := strict.Write(context.Background(), sinktest.Records("strict", 6))
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) || !strings.Contains(err.Error(), "6 of 6 records reached no queue") {
		t.Fatalf("error %v: want a permanent error counting 6 unroutable records", err)
	}
	// The sink keeps working once a queue is bound.
	place.Bind(t)
	if err := strict.Write(context.Background(), sinktest.Records("bound", 6)); err != nil {
		t.Fatal(err)
	}
	if n := len(place.Read(t, place.Good)) + len(place.Read(t, place.Failed)); n != 6 {
		t.Errorf("queues hold %d messages, want the 6 written after binding", n)
	}
}

func TestConnectRefusedLoginRedactsPassword(t *testing.T) {
	rabbitmqtest.Dial(t) // skip (or fail under CI) without a server
	opts := NewOptions()
	u := strings.Replace(rabbitmqtest.URL(), "guest:guest@", "guest:wrong-secret@", 1)
	if u == rabbitmqtest.URL() {
		t.Skip("the test server's URL has no guest:guest credentials to spoil")
	}
	opts.URL = u
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Connect(context.Background())
	if err == nil {
		t.Fatal("Connect with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("error %q shows the password", err)
	}
}

// TestServerGoesAwayAndComesBack cuts the connection to the broker three
// times while four writers keep writing, each retrying a failed batch as
// delivery does; every record is in the queues afterwards (a retried
// batch's records may be there twice: counted and logged).
func TestServerGoesAwayAndComesBack(t *testing.T) {
	place := rabbitmqtest.NewPlace(t)
	proxy := check.NewProxy(t, serverAddr(t))
	proxy.Up(t)
	s := newSink(t, viaProxy(t, proxy), place, func(o *Options) { o.ConfirmTimeout = 2 * time.Second })

	const writers, batches, batchSize = 4, 40, 50
	var (
		acked, failures atomic.Int64
		mu              sync.Mutex
		written         = map[string]bool{}
		wg              sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				batch := sinktest.Records(fmt.Sprintf("w%d-b%d", w, b), batchSize)
				for attempt := 0; ; attempt++ {
					err := s.Write(context.Background(), batch)
					if err == nil {
						break
					}
					var permanent *sink.PermanentError
					if errors.As(err, &permanent) || attempt > 500 {
						t.Errorf("writer %d batch %d: %v", w, b, err)
						return
					}
					failures.Add(1)
					time.Sleep(10 * time.Millisecond)
				}
				mu.Lock()
				for _, r := range batch {
					written[r.EventID] = true
				}
				mu.Unlock()
				acked.Add(1)
			}
		})
	}
	for cut := 1; cut <= 3; cut++ {
		want := int64(cut * writers * batches / 4)
		check.Eventually(t, 20*time.Second, fmt.Sprintf("%d batches acknowledged", want), func() bool { return acked.Load() >= want })
		proxy.Down()
		time.Sleep(100 * time.Millisecond) // writes fail meanwhile
		proxy.Up(t)
	}
	wg.Wait()
	if failures.Load() == 0 {
		t.Error("no write failed: the connection cuts did not reach the sink")
	}

	seen := map[string]int{}
	for _, env := range append(decode(t, place.Read(t, place.Good)), decode(t, place.Read(t, place.Failed))...) {
		seen[env.EventID]++
	}
	duplicates := 0
	for id, n := range seen {
		if !written[id] {
			t.Errorf("record %s in the queues was never written", id)
		}
		duplicates += n - 1
	}
	for id := range written {
		if seen[id] == 0 {
			t.Errorf("acknowledged record %s is lost", id)
		}
	}
	if len(written) != writers*batches*batchSize {
		t.Errorf("%d records acknowledged, want %d", len(written), writers*batches*batchSize)
	}
	t.Logf("%d records acknowledged across 3 cuts, %d failed writes retried, %d duplicates in the queues", len(written), failures.Load(), duplicates)
}

func TestRecordTooLargeIsPermanent(t *testing.T) {
	place := rabbitmqtest.NewPlace(t)
	s := newSink(t, rabbitmqtest.URL(), place, func(o *Options) { o.MaxRecordBytes = 4096 })
	recs := sinktest.Records("big", 3)
	recs[1].Payload = json.RawMessage(`{"blob":"` + strings.Repeat("x", 5000) + `"}`)
	err := s.Write(context.Background(), recs)
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) || !strings.Contains(err.Error(), "max_record_bytes") {
		t.Fatalf("error %v: want a permanent error naming max_record_bytes", err)
	}
	// The sink is still usable: the records that fit are written.
	if err := s.Write(context.Background(), []*event.Envelope{recs[0], recs[2]}); err != nil {
		t.Fatal(err)
	}
}

// An exchange of the sink's name declared otherwise (fanout, not durable)
// fails Connect with the broker's answer instead of publishing to it.
func TestConnectRefusesAnExchangeDeclaredOtherwise(t *testing.T) {
	place := rabbitmqtest.NewPlace(t)
	conn := rabbitmqtest.Dial(t)
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	name := place.Exchange + ".other"
	if err := ch.ExchangeDeclare(name, "fanout", false, true, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.ExchangeDelete(name, false, false); ch.Close() })
	opts := NewOptions()
	opts.URL, opts.Exchange = rabbitmqtest.URL(), name
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Connect(context.Background())
	if err == nil || !strings.Contains(err.Error(), "PRECONDITION_FAILED") {
		t.Fatalf("Connect to an exchange declared otherwise: %v, want the broker's PRECONDITION_FAILED", err)
	}
	_ = s.Close(context.Background())
}
