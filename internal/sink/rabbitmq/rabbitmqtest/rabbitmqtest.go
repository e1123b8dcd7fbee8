// Package rabbitmqtest gives the rabbitmq sink's tests and the end-to-end
// tests a place of their own on the real RabbitMQ server: an exchange and
// the queues bound to it, named for one test and deleted after, and a way
// to read back every message the queues hold.
package rabbitmqtest

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/accord-events/accord/internal/testenv"
)

// URL is the test server's AMQP URL: ACCORD_TEST_RABBITMQ_URL, or the
// server on this machine.
func URL() string {
	if u := os.Getenv("ACCORD_TEST_RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// Dial connects to the test server, closed when the test ends. Without a
// server the test is skipped, unless CI=true, where a missing server is a
// broken setup and fails it.
func Dial(t testing.TB) *amqp.Connection {
	t.Helper()
	conn, err := amqp.DialConfig(URL(), amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		testenv.Missing(t, "RabbitMQ is unreachable: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// Place is an exchange of one test's own and two queues bound to it: Good
// receives good.# and Failed receives failed, as the sink routes records.
type Place struct {
	conn                   *amqp.Connection
	Exchange, Good, Failed string
}

var seq atomic.Int64

// NewPlace declares the exchange (durable topic, as the sink declares it)
// and the bound queues, all deleted when the test ends.
func NewPlace(t testing.TB) *Place {
	t.Helper()
	conn := Dial(t)
	prefix := fmt.Sprintf("accord-test-%d-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6, seq.Add(1))
	p := &Place{conn: conn, Exchange: prefix, Good: prefix + ".good", Failed: prefix + ".failed"}
	ch := p.channel(t)
	defer ch.Close()
	if err := ch.ExchangeDeclare(p.Exchange, "topic", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ch, err := conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(p.Good, false, false, false)
			_, _ = ch.QueueDelete(p.Failed, false, false, false)
			_ = ch.ExchangeDelete(p.Exchange, false, false)
			ch.Close()
		}
	})
	for _, q := range []string{p.Good, p.Failed} {
		if _, err := ch.QueueDeclare(q, true, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.Bind(t)
	return p
}

func (p *Place) channel(t testing.TB) *amqp.Channel {
	t.Helper()
	ch, err := p.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// Bind binds the queues: Good to good.#, Failed to failed.
func (p *Place) Bind(t testing.TB) {
	t.Helper()
	ch := p.channel(t)
	defer ch.Close()
	for _, b := range [][2]string{{p.Good, "good.#"}, {p.Good, "good"}, {p.Failed, "failed"}} {
		if err := ch.QueueBind(b[0], b[1], p.Exchange, false, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// Unbind removes the bindings, so every record published is unroutable.
func (p *Place) Unbind(t testing.TB) {
	t.Helper()
	ch := p.channel(t)
	defer ch.Close()
	for _, b := range [][2]string{{p.Good, "good.#"}, {p.Good, "good"}, {p.Failed, "failed"}} {
		if err := ch.QueueUnbind(b[0], b[1], p.Exchange, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// Read takes every message queue holds, in queue order.
func (p *Place) Read(t testing.TB, queue string) []amqp.Delivery {
	t.Helper()
	ch := p.channel(t)
	defer ch.Close()
	var out []amqp.Delivery
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			t.Fatalf("read queue %s: %v", queue, err)
		}
		if !ok {
			return out
		}
		out = append(out, d)
	}
}
