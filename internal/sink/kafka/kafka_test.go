package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/twmb/franz-go/pkg/kerr"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/kafka/kafkatest"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(o *Options)
		want   string // "" for valid
		never  string // what the error must not print
	}{
		{"defaults", func(*Options) {}, "", ""},
		{"no brokers", func(o *Options) { o.Brokers = nil }, "brokers: must name at least one broker", ""},
		{"broker not host:port", func(o *Options) { o.Brokers = []string{"kafka"} }, `"kafka" is not host:port`, ""},
		{"credentials in a broker", func(o *Options) { o.Brokers = []string{"kafka://bob:hunter2@k1:9092"} }, "credentials in sasl_user", "hunter2"},
		{"bad topic", func(o *Options) { o.Topic = "a/b" }, "topic: \"a/b\" may hold only", ""},
		{"same topics", func(o *Options) { o.FailedTopic = o.Topic }, "failed_topic: \"accord.good\" is topic too", ""},
		{"long topic", func(o *Options) { o.Topic = strings.Repeat("a", 250) }, "longer than Kafka's 249", ""},
		{"zero partitions", func(o *Options) { o.Partitions = 0 }, "partitions: 0 must be", ""},
		{"zero replication", func(o *Options) { o.ReplicationFactor = 0 }, "replication_factor: 0 must be", ""},
		{"bad key", func(o *Options) { o.Key = "ip" }, `key: "ip" is not a key`, ""},
		{"buffer below record", func(o *Options) { o.MaxBufferedBytes = 2000; o.MaxRecordBytes = 4000 }, "max_buffered_bytes: 2000 must be at least", ""},
		{"short timeout", func(o *Options) { o.DeliveryTimeout = time.Millisecond }, "delivery_timeout", ""},
		{"sasl without user", func(o *Options) { o.SASLMechanism = SASLPlain; o.SASLPassword = "hunter2" }, "sasl_user: must be set", "hunter2"},
		{"password without mechanism", func(o *Options) { o.SASLPassword = "hunter2" }, "sasl_mechanism: is empty", "hunter2"},
		{"bad mechanism", func(o *Options) { o.SASLMechanism = "gssapi"; o.SASLUser = "u"; o.SASLPassword = "hunter2" }, `"gssapi" is not a mechanism`, "hunter2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions()
			tc.change(o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want it to say %q", err, tc.want)
			}
			if tc.never != "" && strings.Contains(err.Error(), tc.never) {
				t.Errorf("Validate prints %q: %v", tc.never, err)
			}
		})
	}
}

func TestContractTopic(t *testing.T) {
	for _, tc := range []struct{ vendor, name, version, want string }{
		{"com.acme", "checkout", "1-0-2", "accord.good.com.acme.checkout.v1"},
		{"com.acme", "checkout", "2-1-0", "accord.good.com.acme.checkout.v2"},
		{"com.acme", "page view/ü", "1-0-0", "accord.good.com.acme.page_view___.v1"},
		{"com.acme", "x", "", "accord.good.com.acme.x.v0"},
	} {
		if got := ContractTopic("accord.good", tc.vendor, tc.name, tc.version); got != tc.want {
			t.Errorf("ContractTopic(%q, %q, %q) = %q, want %q", tc.vendor, tc.name, tc.version, got, tc.want)
		}
	}
	long1 := ContractTopic("accord.good", "com.acme", strings.Repeat("n", 300)+"a", "1-0-0")
	long2 := ContractTopic("accord.good", "com.acme", strings.Repeat("n", 300)+"b", "1-0-0")
	if len(long1) != maxTopicLen || long1 == long2 || topicProblem(long1) != "" {
		t.Errorf("long names cut to %d characters: %q and %q (want %d, distinct, valid)", len(long1), long1, long2, maxTopicLen)
	}
}

// FuzzContractTopic holds every contract's topic name to what Kafka accepts,
// whatever the contract's vendor and name hold.
func FuzzContractTopic(f *testing.F) {
	f.Add("com.acme", "checkout", "1-0-0")
	f.Add("", "", "")
	f.Add("..", "\xff/\x00", "-1")
	f.Add(strings.Repeat("v", 200), strings.Repeat("n", 200), "99-0-0")
	f.Fuzz(func(t *testing.T, vendor, name, version string) {
		got := ContractTopic("accord.good", vendor, name, version)
		if p := topicProblem(got); p != "" {
			t.Fatalf("ContractTopic(%q, %q, %q) = %q, which %s", vendor, name, version, got, p)
		}
		if again := ContractTopic("accord.good", vendor, name, version); again != got {
			t.Fatalf("ContractTopic is not deterministic: %q then %q", got, again)
		}
	})
}

func connected(t *testing.T, opts *Options) *Sink {
	t.Helper()
	s, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func TestKeysHeadersAndTopicsPerContract(t *testing.T) {
	c := newCluster(t, 3)
	opts := NewOptions()
	opts.Brokers = c.ListenAddrs()
	opts.Key = KeyUserID
	opts.TopicPerContract = true
	opts.Partitions = 4
	opts.ReplicationFactor = 3
	s := connected(t, opts)
	recs := sinktest.Records("kh", 12)
	for i, r := range recs {
		r.Identity.UserID = fmt.Sprintf("user-%d", i%3)
	}
	recs[3].Identity.UserID = "" // no key: produced without one
	if err := s.Write(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	good := ContractTopic(opts.Topic, "com.acme", "checkout", "1-0-0")
	if good != "accord.good.com.acme.checkout.v1" {
		t.Fatalf("contract topic %q", good)
	}
	got := kafkatest.Read(t, opts.Brokers, []string{opts.Topic, good, opts.FailedTopic})
	if n := len(got[opts.Topic]); n != 0 {
		t.Errorf("%d good records in %s, want all in %s", n, opts.Topic, good)
	}
	wantGood, wantFailed := 0, 0
	for _, r := range recs {
		if r.Valid {
			wantGood++
		} else {
			wantFailed++
		}
	}
	if len(got[good]) != wantGood || len(got[opts.FailedTopic]) != wantFailed {
		t.Fatalf("stored %d good and %d failed, want %d and %d", len(got[good]), len(got[opts.FailedTopic]), wantGood, wantFailed)
	}
	partitionOf := map[string]int32{}
	for _, r := range append(got[good], got[opts.FailedTopic]...) {
		var env event.Envelope
		if err := event.DecodeEnvelope(r.Value, &env); err != nil {
			t.Fatal(err)
		}
		if header(r, HeaderEventID) != env.EventID || header(r, HeaderSchema) != env.Schema || header(r, HeaderContentType) != "application/json" {
			t.Errorf("record %s headers %v", env.EventID, r.Headers)
		}
		if string(r.Key) != env.Identity.UserID {
			t.Errorf("record %s key %q, want its user_id %q", env.EventID, r.Key, env.Identity.UserID)
		}
		if r.Topic == good && env.Identity.UserID != "" {
			if p, seen := partitionOf[env.Identity.UserID]; seen && p != r.Partition {
				t.Errorf("user %s's records in partitions %d and %d", env.Identity.UserID, p, r.Partition)
			}
			partitionOf[env.Identity.UserID] = r.Partition
		}
	}
	details, err := kadm.NewClient(mustClient(t, opts.Brokers)).ListTopics(context.Background(), good, opts.Topic, opts.FailedTopic)
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{good, opts.Topic, opts.FailedTopic} {
		d := details[topic]
		if d.Err != nil || len(d.Partitions) != 4 || d.Partitions.NumReplicas() != 3 {
			t.Errorf("topic %s: %d partitions of %d replicas (err %v), want 4 of 3", topic, len(d.Partitions), d.Partitions.NumReplicas(), d.Err)
		}
	}
}

func mustClient(t *testing.T, brokers []string) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// A record larger than the producer may send is refused as such: the
// write's error is permanent, so delivery isolates it and dead-letters it,
// and the records around it are stored.
func TestRecordTooLargeIsPermanent(t *testing.T) {
	c := newCluster(t, 1)
	opts := NewOptions()
	opts.Brokers = c.ListenAddrs()
	opts.MaxRecordBytes = 4096
	s := connected(t, opts)
	recs := sinktest.Records("big", 3)
	recs[1].Payload = json.RawMessage(`{"blob":"` + strings.Repeat("x", 8192) + `"}`)
	err := s.Write(context.Background(), recs)
	var permanent *sink.PermanentError
	if !errors.As(err, &permanent) {
		t.Fatalf("Write of a too large record = %v, want a *sink.PermanentError", err)
	}
	if err := s.Write(context.Background(), recs[1:2]); !errors.As(err, &permanent) {
		t.Fatalf("Write of the too large record alone = %v, want a *sink.PermanentError", err)
	}
	for _, r := range [][]*event.Envelope{recs[:1], recs[2:]} {
		if err := s.Write(context.Background(), r); err != nil {
			t.Fatalf("Write of the records beside it: %v", err)
		}
	}
}

// Writes against a cluster that is down fail within the delivery timeout
// as transient errors, and Connect fails (delivery retries it) instead of
// hanging.
func TestClusterDownIsTransient(t *testing.T) {
	c := newCluster(t, 1)
	opts := NewOptions()
	opts.Brokers = c.ListenAddrs()
	opts.DeliveryTimeout = time.Second
	s := connected(t, opts)
	c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := s.Write(ctx, sinktest.Records("down", 3))
	var permanent *sink.PermanentError
	if err == nil || errors.As(err, &permanent) || ctx.Err() != nil {
		t.Fatalf("Write to a stopped cluster = %v, want a transient error within the delivery timeout", err)
	}
	fresh, err := New(*opts)
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer ccancel()
	if err := fresh.Connect(cctx); err == nil {
		t.Fatal("Connect to a stopped cluster succeeded")
	}
	_ = fresh.Close(context.Background())
}

// With three brokers, a broker goes away under load and comes back on its
// port: writers retry failed writes as delivery does, and in the end every
// record is stored, and each user's records are in the order written.
func TestBrokerGoesAwayAndComesBack(t *testing.T) {
	// kfake's RemoveNode closes a broker's listener but leaves its open
	// connections answering nothing; a broker that dies drops them, so
	// the test drops them too.
	conns := &connTracker{byAddr: map[string][]net.Conn{}}
	c := newCluster(t, 3, kfake.ListenFn(conns.listen))
	opts := NewOptions()
	opts.Brokers = c.ListenAddrs()
	opts.Key = KeyUserID
	opts.Partitions = 6
	opts.DeliveryTimeout = 3 * time.Second
	s := connected(t, opts)

	const writers, batches, perBatch = 4, 120, 25
	var acked atomic.Int64 // batches
	var wg sync.WaitGroup
	var written sync.Map // event_id -> writer's sequence
	retries := make([]int, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				recs := sinktest.Records(fmt.Sprintf("w%d-b%03d", w, b), perBatch)
				for i, r := range recs {
					r.Valid, r.Failure = true, nil
					r.Identity.UserID = fmt.Sprintf("user-%d", w)
					written.Store(r.EventID, b*perBatch+i)
				}
				for attempt := 0; ; attempt++ {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					err := s.Write(ctx, recs)
					cancel()
					if err == nil {
						acked.Add(1)
						break
					}
					retries[w]++
					if attempt > 10 {
						t.Errorf("writer %d batch %d still failing: %v", w, b, err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	// Take a broker away while the writers run, let them write without
	// it, then bring it back while they still write.
	check.Eventually(t, 30*time.Second, "a quarter of the batches acknowledged", func() bool { return acked.Load() >= writers*batches/4 })
	addrs := c.ListenAddrs()
	var port int
	if _, err := fmt.Sscanf(addrs[1][strings.LastIndex(addrs[1], ":")+1:], "%d", &port); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveNode(1); err != nil {
		t.Fatal(err)
	}
	conns.drop(addrs[1])
	duringOutage := acked.Load()
	check.Eventually(t, 30*time.Second, "batches acknowledged without broker 1", func() bool { return acked.Load() >= duringOutage+writers*batches/4 })
	if _, _, err := c.AddNode(1, port); err != nil {
		t.Fatalf("bring broker 1 back on port %d: %v", port, err)
	}
	afterReturn := acked.Load()
	wg.Wait()
	if afterReturn == writers*batches {
		t.Error("every batch was acknowledged before broker 1 came back; the test proves nothing about its return")
	}
	if t.Failed() {
		return
	}
	got := kafkatest.Read(t, opts.Brokers, []string{opts.Topic})[opts.Topic]
	// Order: each user's records, in the order written, can be read off
	// the partition in order, each at one of its copies. A copy a failed
	// write left behind may sit anywhere (at least once: the write that
	// failed at the client may still have reached the log, even after a
	// later batch), so the first copy of a record is not always in order;
	// the acknowledged writes are.
	seen := map[string]bool{}
	next := map[string]int{} // user -> the sequence to find next
	for _, r := range got {
		id := header(r, HeaderEventID)
		seq, ok := written.Load(id)
		if !ok {
			t.Fatalf("stored record %s was never written", id)
		}
		seen[id] = true
		if user := string(r.Key); seq.(int) == next[user] {
			next[user]++
		}
	}
	for w := range writers {
		if user := fmt.Sprintf("user-%d", w); next[user] != batches*perBatch {
			t.Errorf("%s's records can be read in the order written only up to sequence %d of %d", user, next[user], batches*perBatch)
		}
	}
	if len(seen) != writers*batches*perBatch {
		t.Errorf("stored %d distinct records of %d written", len(seen), writers*batches*perBatch)
	}
	t.Logf("%d records stored (%d duplicates of retried writes), writes retried %v", len(got), len(got)-len(seen), retries)
}

// The producer is idempotent with acks=all: every produce request the
// cluster sees asks for all in-sync replicas, and every batch carries a
// producer id and sequence numbers, by which the brokers drop a retried
// batch they already hold.
func TestProducerIsIdempotentWithAcksAll(t *testing.T) {
	c := newCluster(t, 1)
	var mu sync.Mutex
	var acks []int16
	var producerIDs []int64
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		mu.Lock()
		defer mu.Unlock()
		acks = append(acks, req.Acks)
		for _, rt := range req.Topics {
			for _, rp := range rt.Partitions {
				var b kmsg.RecordBatch
				if err := b.ReadFrom(rp.Records); err == nil {
					producerIDs = append(producerIDs, b.ProducerID)
				}
			}
		}
		return nil, nil, false
	})
	opts := NewOptions()
	opts.Brokers = c.ListenAddrs()
	s := connected(t, opts)
	if err := s.Write(context.Background(), sinktest.Records("idem", 10)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(acks) == 0 || len(producerIDs) == 0 {
		t.Fatal("the cluster saw no produce request")
	}
	for _, a := range acks {
		if a != -1 {
			t.Errorf("produce request with acks=%d, want -1 (all)", a)
		}
	}
	for _, id := range producerIDs {
		if id < 0 {
			t.Errorf("record batch without a producer id (%d): the producer is not idempotent", id)
		}
	}
}

// connTracker keeps the connections each listener of a kfake cluster
// accepted, so a test can drop a broker's connections as its death would.
type connTracker struct {
	mu     sync.Mutex
	byAddr map[string][]net.Conn
}

func (ct *connTracker) listen(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &trackedListener{Listener: ln, ct: ct}, nil
}

// drop closes every connection accepted on addr.
func (ct *connTracker) drop(addr string) {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	for _, c := range ct.byAddr[addr] {
		_ = c.Close()
	}
	delete(ct.byAddr, addr)
}

type trackedListener struct {
	net.Listener
	ct *connTracker
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.ct.mu.Lock()
		addr := l.Addr().String()
		l.ct.byAddr[addr] = append(l.ct.byAddr[addr], c)
		l.ct.mu.Unlock()
	}
	return c, err
}

// TestRefusedAndTooLarge: the sink dead-letters every refusal, but a
// collector with spool.kind kafka answers only a size refusal as too
// large (413, never resent); an invalid or corrupt record is retried.
func TestRefusedAndTooLarge(t *testing.T) {
	for _, tc := range []struct {
		err               error
		refused, tooLarge bool
	}{
		{kerr.MessageTooLarge, true, true},
		{fmt.Errorf("produce: %w", kerr.RecordListTooLarge), true, true},
		{kerr.InvalidRecord, true, false},
		{kerr.CorruptMessage, true, false},
		{kerr.NotLeaderForPartition, false, false},
		{errors.New("connection refused"), false, false},
	} {
		if got := Refused(tc.err); got != tc.refused {
			t.Errorf("Refused(%v) = %v, want %v", tc.err, got, tc.refused)
		}
		if got := TooLarge(tc.err); got != tc.tooLarge {
			t.Errorf("TooLarge(%v) = %v, want %v", tc.err, got, tc.tooLarge)
		}
	}
}
