package rabbitmq

import (
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/rabbitmq/rabbitmqtest"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// viaProxy returns the test server's URL with its host the proxy's.
func viaProxy(t testing.TB, p *check.Proxy) string {
	t.Helper()
	u, err := url.Parse(rabbitmqtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr
	return u.String()
}

// serverAddr is the host:port of the test server.
func serverAddr(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(rabbitmqtest.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return u.Host + ":5672"
	}
	return u.Host
}

// decode reads envelopes from message bodies, checking the properties
// every message carries.
func decode(t *testing.T, msgs []amqp.Delivery) []*event.Envelope {
	t.Helper()
	var out []*event.Envelope
	for _, m := range msgs {
		env := new(event.Envelope)
		if err := event.DecodeEnvelope(m.Body, env); err != nil {
			t.Fatalf("message body is not an envelope: %v\n%s", err, m.Body)
		}
		if m.MessageId != env.EventID || m.ContentType != ContentType || m.DeliveryMode != amqp.Persistent || m.Headers[HeaderSchema] != env.Schema {
			t.Errorf("message %s: message id %q, content type %q, delivery mode %d, schema header %v", env.EventID, m.MessageId, m.ContentType, m.DeliveryMode, m.Headers[HeaderSchema])
		}
		if m.RoutingKey != RoutingKey(env) {
			t.Errorf("message %s: routing key %q, want %q", env.EventID, m.RoutingKey, RoutingKey(env))
		}
		out = append(out, env)
	}
	return out
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			place := rabbitmqtest.NewPlace(t)
			proxy := check.NewProxy(t, serverAddr(t))
			proxy.Up(t)
			up := true
			opts := NewOptions()
			opts.URL = viaProxy(t, proxy)
			opts.Exchange = place.Exchange
			opts.ConfirmTimeout = 5 * time.Second
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			failing := sinktest.None
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					return decode(t, place.Read(t, place.Good)), decode(t, place.Read(t, place.Failed))
				},
				Fail: func(f sinktest.Failure) bool {
					switch f {
					case sinktest.RetryAfter:
						return false // AMQP has no retry-after answer
					case sinktest.Permanent:
						place.Unbind(t) // every record unroutable
					case sinktest.Transient:
						proxy.Down() // the broker unreachable
						up = false
					case sinktest.None:
						if failing == sinktest.Permanent {
							place.Bind(t)
						}
						if !up {
							proxy.Up(t)
							up = true
						}
					}
					failing = f
					return true
				},
			}
		},
	})
}
