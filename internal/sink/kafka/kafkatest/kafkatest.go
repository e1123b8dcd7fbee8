// Package kafkatest reads back what a kafka sink produced, for the sink's
// own tests and the end-to-end tests: every record of some topics, from
// the start to the end offsets they had when asked, with a franz-go
// consumer as a user of the topics would read them.
package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Read returns every record of the topics, by topic, in partition order,
// connecting to the brokers with the client options given (SASL, say). A
// topic that does not exist reads as empty.
func Read(t *testing.T, brokers, topics []string, opts ...kgo.Opt) map[string][]*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	client, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ends, err := kadm.NewClient(client).ListEndOffsets(ctx, topics...)
	if err != nil {
		t.Fatalf("list end offsets of %v: %v", topics, err)
	}
	want := map[string]map[int32]kgo.Offset{}
	remaining := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil || o.Offset <= 0 {
			return
		}
		if want[o.Topic] == nil {
			want[o.Topic] = map[int32]kgo.Offset{}
		}
		want[o.Topic][o.Partition] = kgo.NewOffset().AtStart()
		remaining++
	})
	out := map[string][]*kgo.Record{}
	if remaining == 0 {
		return out
	}
	endOf := func(topic string, partition int32) int64 {
		o, _ := ends.Lookup(topic, partition)
		return o.Offset
	}
	consumer, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumePartitions(want)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	done := map[string]map[int32]bool{}
	for remaining > 0 {
		fetches := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %v: %d partitions not read to their end", topics, remaining)
		}
		fetches.EachError(func(topic string, p int32, err error) {
			t.Logf("fetch %s/%d: %v", topic, p, err)
		})
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset >= endOf(r.Topic, r.Partition) {
				return
			}
			out[r.Topic] = append(out[r.Topic], r)
			if r.Offset == endOf(r.Topic, r.Partition)-1 {
				if done[r.Topic] == nil {
					done[r.Topic] = map[int32]bool{}
				}
				if !done[r.Topic][r.Partition] {
					done[r.Topic][r.Partition] = true
					remaining--
				}
			}
		})
	}
	return out
}
