package mqtt

import (
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/check"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/mqtt/mqtttest"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// decode reads envelopes from messages' payloads, good and failed apart by
// topic.
func decode(t *testing.T, prefix string, msgs []mqtttest.Message) (good, failed []*event.Envelope) {
	t.Helper()
	for _, m := range msgs {
		env := new(event.Envelope)
		if err := event.DecodeEnvelope(m.Payload, env); err != nil {
			t.Fatalf("payload on %s is not an envelope: %v\n%s", m.Topic, err, m.Payload)
		}
		switch {
		case m.Topic == prefix+"/failed":
			failed = append(failed, env)
		case strings.HasPrefix(m.Topic, prefix+"/good/") && m.Topic == ContractTopic(prefix, env.Vendor, env.Name, env.Version):
			good = append(good, env)
		default:
			t.Errorf("record %s on topic %s", env.EventID, m.Topic)
		}
	}
	return good, failed
}

// The suite runs against the real broker through a proxy, so a transient
// failure is the broker going away; the subscriber is connected straight
// to the broker.
func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			addr := mqtttest.Broker(t)
			prefix := mqtttest.Prefix(t)
			sub := mqtttest.Subscribe(t, addr, prefix)
			proxy := check.NewProxy(t, addr)
			proxy.Up(t)
			opts := NewOptions()
			opts.Broker = proxy.Addr
			opts.TopicPrefix = prefix
			opts.WriteTimeout = time.Second
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					return decode(t, prefix, sub.Settled(300*time.Millisecond))
				},
				Fail: func(f sinktest.Failure) bool {
					switch f {
					case sinktest.None:
						proxy.Up(t)
					case sinktest.Transient:
						proxy.Down()
					default:
						return false // MQTT 3.1.1 has no refusal of a publish
					}
					return true
				},
			}
		},
	})
}
