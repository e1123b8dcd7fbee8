package kafka

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/kafka/kafkatest"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// newCluster starts an in-process Kafka cluster of n brokers for one test.
func newCluster(t testing.TB, n int, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(n)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// failProduce makes the cluster answer every produce request with the
// error f names (kept in mode), until mode holds sinktest.None.
func failProduce(c *kfake.Cluster, mode *atomic.Int32) {
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		var code int16
		switch sinktest.Failure(mode.Load()) {
		case sinktest.Permanent:
			code = kerr.MessageTooLarge.Code
		case sinktest.Transient:
			code = kerr.NotEnoughReplicas.Code
		default:
			return nil, nil, false
		}
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition, sp.ErrorCode = rp.Partition, code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
}

// decode reads envelopes from records' values.
func decode(t *testing.T, recs []*kgo.Record) []*event.Envelope {
	t.Helper()
	var out []*event.Envelope
	for _, r := range recs {
		env := new(event.Envelope)
		if err := event.DecodeEnvelope(r.Value, env); err != nil {
			t.Fatalf("record value is not an envelope: %v\n%s", err, r.Value)
		}
		out = append(out, env)
	}
	return out
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			c := newCluster(t, 1)
			var mode atomic.Int32
			failProduce(c, &mode)
			opts := NewOptions()
			opts.Brokers = c.ListenAddrs()
			// A retriable failure ends the write soon, for the test.
			opts.DeliveryTimeout = 2 * time.Second
			s, err := New(*opts)
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					got := kafkatest.Read(t, opts.Brokers, []string{opts.Topic, opts.FailedTopic})
					return decode(t, got[opts.Topic]), decode(t, got[opts.FailedTopic])
				},
				Fail: func(f sinktest.Failure) bool {
					if f == sinktest.RetryAfter {
						return false // Kafka has no retry-after answer
					}
					mode.Store(int32(f))
					return true
				},
			}
		},
	})
}
