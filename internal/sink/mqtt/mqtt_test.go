package mqtt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/mqtt/mqtttest"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestContractTopicSanitisesWildcards(t *testing.T) {
	for _, tc := range []struct{ vendor, name, version, want string }{
		{"com.acme", "checkout", "1-0-2", "p/good/com.acme/checkout/v1"},
		{"a+b", "c#d", "2-0-0", "p/good/a_b/c_d/v2"},
		{"a/b", "x\x00y", "3", "p/good/a_b/x_y/v3"},
		{"", "", "", "p/good/_/_/v_"},
		{"bad\xffutf8", "n", "1-0-0", "p/good/bad_utf8/n/v1"},
	} {
		if got := ContractTopic("p", tc.vendor, tc.name, tc.version); got != tc.want {
			t.Errorf("ContractTopic(%q, %q, %q) = %q, want %q", tc.vendor, tc.name, tc.version, got, tc.want)
		}
	}
	long := strings.Repeat("é", 300)
	a, b := ContractTopic("p", long+"a", "n", "1"), ContractTopic("p", long+"b", "n", "1")
	if a == b || len(a) > 5*maxPartLen || !utf8.ValidString(a) || a != ContractTopic("p", long+"a", "n", "1") {
		t.Errorf("long vendors: topics %q and %q must differ, be valid UTF-8, bounded and stable", a, b)
	}
}

func TestValidateNamesEveryProblemAndRedacts(t *testing.T) {
	o := NewOptions()
	o.Broker = "tcp://user:s3cret-pw@host:1883"
	o.TopicPrefix = "a/+/b"
	o.Password = "pw-only"
	o.MaxRecordBytes = 1
	o.WriteTimeout = 0
	err := o.Validate()
	if err == nil {
		t.Fatal("bad options validated")
	}
	msg := err.Error()
	for _, key := range []string{"broker:", "topic_prefix:", "username:", "max_record_bytes:", "write_timeout:"} {
		if !strings.Contains(msg, key) {
			t.Errorf("error does not name %s: %s", key, msg)
		}
	}
	if strings.Contains(msg, "s3cret-pw") || strings.Contains(msg, "pw-only") {
		t.Errorf("error holds a password: %s", msg)
	}
	if err := NewOptions().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	a, _ := New(*NewOptions())
	b, _ := New(*NewOptions())
	if a.opts.ClientID == "" || a.opts.ClientID == b.opts.ClientID {
		t.Errorf("default client ids %q and %q: want unique", a.opts.ClientID, b.opts.ClientID)
	}
}

// A record larger than max_record_bytes is refused (permanent) while the
// rest of its batch is published; one that fits is published whole.
func TestOversizedRecordIsPermanent(t *testing.T) {
	addr := mqtttest.Broker(t)
	prefix := mqtttest.Prefix(t)
	sub := mqtttest.Subscribe(t, addr, prefix)
	opts := NewOptions()
	opts.Broker, opts.TopicPrefix, opts.MaxRecordBytes = addr, prefix, 4096
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	recs := sinktest.Records("big", 2)
	recs[0].Payload = []byte(`{"note":"` + strings.Repeat("x", 5000) + `"}`)
	err = s.Write(context.Background(), recs)
	var perm *sink.PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("Write: %v, want a *sink.PermanentError", err)
	}
	check.Eventually(t, 5*time.Second, "the fitting record arrives", func() bool { return len(sub.Messages()) == 1 })
}

// An unreachable broker fails Connect within connect_timeout, and the error
// never holds the password. (The machine's Mosquitto allows anonymous
// clients, so a refused login is not tested here.)
func TestConnectUnreachableFailsWithoutPassword(t *testing.T) {
	addr := mqtttest.Broker(t)
	proxy := check.NewProxy(t, addr) // down: nothing listens
	opts := NewOptions()
	opts.Broker, opts.Username, opts.Password = proxy.Addr, "u", "mqtt-s3cret-pw"
	opts.ConnectTimeout = time.Second
	s, _ := New(*opts)
	err := s.Connect(context.Background())
	if err == nil || strings.Contains(err.Error(), "mqtt-s3cret-pw") {
		t.Fatalf("Connect to nothing: %v", err)
	}
}

// The broker goes away twice while four writers keep writing (each batch
// retried until it is acknowledged, as delivery does); a subscriber
// connected straight to the broker gets every record at least once.
func TestBrokerDownThenUpLosesNothing(t *testing.T) {
	addr := mqtttest.Broker(t)
	prefix := mqtttest.Prefix(t)
	sub := mqtttest.Subscribe(t, addr, prefix)
	proxy := check.NewProxy(t, addr)
	proxy.Up(t)
	opts := NewOptions()
	opts.Broker, opts.TopicPrefix = proxy.Addr, prefix
	opts.WriteTimeout, opts.ConnectTimeout = time.Second, time.Second
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	const writers, batches, batch = 4, 25, 20
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				recs := sinktest.Records(fmt.Sprintf("w%d-b%02d", w, b), batch)
				for ctx.Err() == nil {
					if err := s.Write(ctx, recs); err == nil {
						break
					}
					mu.Lock()
					failures++
					mu.Unlock()
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	for range 2 {
		time.Sleep(150 * time.Millisecond)
		proxy.Down()
		time.Sleep(300 * time.Millisecond)
		proxy.Up(t)
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("writers did not finish within 20 s")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := writers * batches * batch
	seen := map[string]int{}
	check.Eventually(t, 10*time.Second, "every record arrives", func() bool {
		seen = map[string]int{}
		for _, m := range sub.Messages() {
			env := new(event.Envelope)
			if err := event.DecodeEnvelope(m.Payload, env); err != nil {
				t.Fatalf("payload on %s: %v", m.Topic, err)
			}
			seen[env.EventID]++
		}
		return len(seen) == want
	})
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	if failures == 0 {
		t.Error("no write failed: the broker never went away under load")
	}
	t.Logf("%d records, all arrived; %d failed writes retried, %d duplicates delivered", want, failures, dups)
}

// A record is published without the retain flag: a subscriber that
// subscribes after the write gets nothing.
func TestNothingRetained(t *testing.T) {
	addr := mqtttest.Broker(t)
	prefix := mqtttest.Prefix(t)
	early := mqtttest.Subscribe(t, addr, prefix)
	opts := NewOptions()
	opts.Broker, opts.TopicPrefix = addr, prefix
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if err := s.Write(context.Background(), sinktest.Records("keep", 3)); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 5*time.Second, "the early subscriber gets the records", func() bool { return len(early.Messages()) == 3 })
	late := mqtttest.Subscribe(t, addr, prefix)
	if got := late.Settled(300 * time.Millisecond); len(got) != 0 {
		t.Errorf("a late subscriber got %d retained records", len(got))
	}
}
