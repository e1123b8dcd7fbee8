package redis

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
	"github.com/accord-events/accord/internal/testenv"
)

// testServerAddr is the Redis server the tests use: ACCORD_TEST_REDIS_ADDR,
// or the one on this machine.
func testServerAddr() string {
	if addr := os.Getenv("ACCORD_TEST_REDIS_ADDR"); addr != "" {
		return addr
	}
	return "127.0.0.1:6379"
}

var streamSeq atomic.Int64

// testStreams returns options whose streams are the test's own (a unique
// key prefix), deleted when the test ends, and a client to read them.
// Without a server the test is skipped, unless CI=true, where a missing
// server is a broken setup.
func testStreams(t testing.TB) (*Options, *goredis.Client) {
	t.Helper()
	client := goredis.NewClient(&goredis.Options{Addr: testServerAddr(), DisableIdentity: true})
	t.Cleanup(func() { client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		testenv.Missing(t, "Redis at %s is unreachable: %v", testServerAddr(), err)
	}
	prefix := fmt.Sprintf("sinktest:%d:%d", os.Getpid(), streamSeq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	opts := NewOptions()
	opts.URL = "redis://" + testServerAddr() + "/0"
	opts.Stream, opts.FailedStream = prefix+":good", prefix+":failed"
	opts.Timeout = 2 * time.Second
	return opts, client
}

// readStream returns every entry of a stream, oldest first, as envelopes.
func readStream(t testing.TB, client *goredis.Client, stream string) []*event.Envelope {
	t.Helper()
	msgs, err := client.XRange(context.Background(), stream, "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*event.Envelope, 0, len(msgs))
	for _, m := range msgs {
		env := new(event.Envelope)
		raw, _ := m.Values[FieldEnvelope].(string)
		if err := event.DecodeEnvelope([]byte(raw), env); err != nil {
			t.Fatalf("entry %s of %s holds no envelope: %v\n%v", m.ID, stream, err, m.Values)
		}
		if m.Values[FieldEventID] != env.EventID || m.Values[FieldSchema] != env.Schema || m.Values[FieldContentType] != ContentType {
			t.Fatalf("entry %s of %s: fields %v do not match its envelope (event_id %s, schema %s)", m.ID, stream, m.Values, env.EventID, env.Schema)
		}
		out = append(out, env)
	}
	return out
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			opts, client := testStreams(t)
			// The sink reaches the server through a proxy, so a test can
			// take the server away (a transient failure).
			proxy := check.NewProxy(t, testServerAddr())
			proxy.Up(t)
			opts.URL = "redis://" + proxy.Addr + "/0"
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			wrongType := false
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					return readStream(t, client, opts.Stream), readStream(t, client, opts.FailedStream)
				},
				Fail: func(f sinktest.Failure) bool {
					ctx := context.Background()
					switch f {
					case sinktest.Permanent:
						wrongType = true
						// A key of another type: Redis answers every XADD
						// to it with WRONGTYPE.
						for _, k := range []string{opts.Stream, opts.FailedStream} {
							if err := client.Set(ctx, k, "not a stream", 0).Err(); err != nil {
								t.Fatal(err)
							}
						}
					case sinktest.Transient:
						proxy.Down()
					case sinktest.None:
						if wrongType { // the keys hold strings, no record
							client.Del(ctx, opts.Stream, opts.FailedStream)
							wrongType = false
						}
						proxy.Down()
						proxy.Up(t)
					default:
						return false // Redis has no retry-after answer
					}
					return true
				},
			}
		},
	})
}
