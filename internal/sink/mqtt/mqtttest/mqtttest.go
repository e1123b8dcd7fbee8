// Package mqtttest gives tests the MQTT broker on this machine and a
// subscriber that reads back what a sink published.
package mqtttest

import (
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/accord-events/accord/internal/testenv"
)

var seq atomic.Int64

// Addr is the test broker: ACCORD_TEST_MQTT_ADDR, or the Mosquitto
// scripts/test starts on this machine.
func Addr() string {
	if a := os.Getenv("ACCORD_TEST_MQTT_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:1883"
}

// Broker returns the test broker's address. Without a broker the test is
// skipped, unless CI=true, where a missing broker is a broken setup.
func Broker(t testing.TB) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", Addr(), 3*time.Second)
	if err != nil {
		testenv.Missing(t, "MQTT broker at %s is unreachable: %v", Addr(), err)
	}
	c.Close()
	return Addr()
}

// Prefix returns a topic prefix of the test's own, so tests sharing the
// broker never read each other's records.
func Prefix(t testing.TB) string {
	return fmt.Sprintf("accordtest/%d-%d-%d", os.Getpid(), time.Now().UnixNano(), seq.Add(1))
}

// Message is one publish a Subscriber received.
type Message struct {
	Topic   string
	Payload []byte
}

// Subscriber holds every message published under a prefix since it
// subscribed (QoS 1, connected straight to the broker).
type Subscriber struct {
	mu   sync.Mutex
	msgs []Message
}

// Subscribe subscribes to prefix/# on the broker at addr with QoS 1 and
// returns once the broker confirmed the subscription; the test's cleanup
// disconnects it.
func Subscribe(t testing.TB, addr, prefix string) *Subscriber {
	t.Helper()
	s := &Subscriber{}
	opts := paho.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("accordtest-sub-%d-%d", os.Getpid(), seq.Add(1))).
		SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect to %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	tok := c.Subscribe(prefix+"/#", 1, func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		s.msgs = append(s.msgs, Message{Topic: m.Topic(), Payload: m.Payload()})
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: subscribe to %s/#: %v", prefix, tok.Error())
	}
	return s
}

// Messages returns what arrived so far.
func (s *Subscriber) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Settled returns what arrived once nothing more arrived for quiet (or
// after 10 s): the broker forwards a publish after it acknowledged it.
func (s *Subscriber) Settled(quiet time.Duration) []Message {
	n, since, start := -1, time.Now(), time.Now()
	for time.Since(start) < 10*time.Second {
		s.mu.Lock()
		cur := len(s.msgs)
		s.mu.Unlock()
		if cur != n {
			n, since = cur, time.Now()
		} else if time.Since(since) >= quiet {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s.Messages()
}
