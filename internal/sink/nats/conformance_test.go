package nats

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/testenv"
)

// testServerURL is the NATS server (with JetStream) the tests use:
// ACCORD_TEST_NATS_URL, or the one scripts/test starts on the machine.
func testServerURL() string {
	if u := os.Getenv("ACCORD_TEST_NATS_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

var streamSeq atomic.Int64

// testServer connects the test to the server. Without one the test is
// skipped, unless CI=true, where a missing server is a broken setup.
func testServer(t testing.TB) (*natsgo.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := natsgo.Connect(testServerURL(), natsgo.Timeout(3*time.Second))
	if err != nil {
		testenv.Missing(t, "NATS at %s is unreachable: %v", testServerURL(), err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// testOptions returns options for a stream and subject prefix of the
// test's own, the stream deleted when the test ends.
func testOptions(t testing.TB) *Options {
	t.Helper()
	_, js := testServer(t)
	n := streamSeq.Add(1)
	opts := NewOptions()
	opts.URLs = []string{testServerURL()}
	opts.Stream = fmt.Sprintf("SINKTEST_%d_%d", os.Getpid(), n)
	opts.SubjectPrefix = fmt.Sprintf("sinktest_%d_%d", os.Getpid(), n)
	opts.MaxAge = time.Hour // a stream a killed test leaves goes away
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, opts.Stream); err != nil && err != jetstream.ErrStreamNotFound {
			t.Errorf("delete stream %s: %v", opts.Stream, err)
		}
	})
	return opts
}

// stored reads every message of the stream back, by subject, in stream
// order.
func stored(t testing.TB, stream string) map[string][]*natsgo.Msg {
	t.Helper()
	_, js := testServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatalf("stream %s: %v", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*natsgo.Msg{}
	if info.State.Msgs == 0 {
		return out
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for got := uint64(0); got < info.State.Msgs; {
		batch, err := cons.Fetch(int(min(info.State.Msgs-got, 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			out[m.Subject()] = append(out[m.Subject()], &natsgo.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
		}
		if batch.Error() != nil {
			t.Fatal(batch.Error())
		}
		if n == 0 {
			t.Fatalf("read %d of %d messages from %s", got, info.State.Msgs, stream)
		}
		got += uint64(n)
	}
	return out
}

func decode(t testing.TB, msgs []*natsgo.Msg) []*event.Envelope {
	t.Helper()
	var out []*event.Envelope
	for _, m := range msgs {
		env := new(event.Envelope)
		if err := event.DecodeEnvelope(m.Data, env); err != nil {
			t.Fatalf("message on %s is not an envelope: %v\n%s", m.Subject, err, m.Data)
		}
		out = append(out, env)
	}
	return out
}

// split returns the good and failed records the stream holds.
func split(t testing.TB, opts *Options) (good, failed []*event.Envelope) {
	t.Helper()
	got := stored(t, opts.Stream)
	subjects := make([]string, 0, len(got))
	for s := range got {
		subjects = append(subjects, s)
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		switch {
		case s == opts.SubjectPrefix+".failed":
			failed = append(failed, decode(t, got[s])...)
		case strings.HasPrefix(s, opts.SubjectPrefix+".good."):
			good = append(good, decode(t, got[s])...)
		default:
			t.Fatalf("message on subject %s, outside the sink's", s)
		}
	}
	return good, failed
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type:    Type(),
		Dedupes: true, // Nats-Msg-Id within the duplicate window
		New: func(t *testing.T) sinktest.Instance {
			opts := testOptions(t)
			// The sink reaches the server through a proxy the test can
			// take down, for a transient failure.
			u, err := url.Parse(testServerURL())
			if err != nil {
				t.Fatal(err)
			}
			proxy := check.NewProxy(t, u.Host)
			proxy.Up(t)
			opts.URLs = []string{"nats://" + proxy.Addr}
			opts.AckTimeout = 2 * time.Second
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			up := true
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					return split(t, opts)
				},
				Fail: func(f sinktest.Failure) bool {
					switch f {
					case sinktest.Transient:
						proxy.Down()
						up = false
						// The client notices the closed connection before the write.
						check.Eventually(t, 5*time.Second, "the sink sees the server gone", func() bool {
							nc, _, err := s.connected()
							return err == nil && !nc.IsConnected()
						})
						return true
					case sinktest.None:
						if !up {
							proxy.Up(t)
							up = true
							check.Eventually(t, 10*time.Second, "the sink reconnects", func() bool {
								nc, _, err := s.connected()
								return err == nil && nc.IsConnected()
							})
						}
						return true
					}
					return false // the real server cannot be made to refuse or ask for a wait
				},
			}
		},
	})
}
