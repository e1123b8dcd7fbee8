package e2e

import (
	"encoding/json"
	"net/http"
	neturl "net/url"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/sink/rabbitmq/rabbitmqtest"
)

// The real binary publishes to the RabbitMQ server on this machine: good
// records with their contract's routing key to a queue bound to good.#,
// the failed one to a queue bound to failed, each persistent with the
// event id as message id; the password in the URL is never printed.
func TestRabbitMQSinkDeliversToServer(t *testing.T) {
	place := rabbitmqtest.NewPlace(t)
	url := rabbitmqtest.URL()
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	const wrongPassword = "rabbit-wr0ng-pw"
	wrong := *u
	wrong.User = neturl.UserPassword(u.User.Username(), wrongPassword)
	wrongURL := wrong.String()
	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=rabbit", "ACCORD_SINKS_1_TYPE=rabbitmq",
		"ACCORD_SINKS_1_OPTIONS_URL="+url,
		"ACCORD_SINKS_1_OPTIONS_EXCHANGE="+place.Exchange,
		// A sink with a wrong password fails to connect, and says so
		// without printing the password.
		"ACCORD_SINKS_2_NAME=refused", "ACCORD_SINKS_2_TYPE=rabbitmq",
		"ACCORD_SINKS_2_OPTIONS_URL="+wrongURL, "ACCORD_SINKS_2_OPTIONS_EXCHANGE="+place.Exchange,
		"ACCORD_SINKS_2_OPTIONS_CONFIRM_TIMEOUT=1s", "ACCORD_LOG_LEVEL=debug", "ACCORD_SPOOL_DRAIN_TIMEOUT=1s")
	body := []byte(`[{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/2"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"nope"}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	var good, failed []amqp.Delivery
	eventually(t, 20*time.Second, "the queues have the records", func() bool {
		good = append(good, place.Read(t, place.Good)...)
		failed = append(failed, place.Read(t, place.Failed)...)
		return len(good) >= 2 && len(failed) >= 1
	})
	if len(good) != 2 || len(failed) != 1 {
		t.Fatalf("%d good and %d failed messages, want 2 and 1", len(good), len(failed))
	}
	for _, m := range append(good, failed...) {
		eventtest.CheckJSON(t, m.Body)
		var rec struct {
			EventID string `json:"event_id"`
			Schema  string `json:"schema"`
			Valid   bool   `json:"valid"`
		}
		if err := json.Unmarshal(m.Body, &rec); err != nil {
			t.Fatal(err)
		}
		wantKey := "failed"
		if rec.Valid {
			wantKey = "good.com.example.page_view.v1"
		}
		if m.RoutingKey != wantKey || m.MessageId != rec.EventID || m.Headers["schema"] != rec.Schema ||
			m.ContentType != "application/json" || m.DeliveryMode != amqp.Persistent {
			t.Errorf("message: routing key %q (want %q), message id %q, headers %v, content type %q, delivery mode %d, body %s",
				m.RoutingKey, wantKey, m.MessageId, m.Headers, m.ContentType, m.DeliveryMode, m.Body)
		}
	}
	eventually(t, 10*time.Second, "/stats counts 3 records delivered to the rabbitmq sink", func() bool {
		return sinkStats(t, c.stats(), "rabbit").Delivered >= 3
	})
	eventually(t, 60*time.Second, "/stats shows the refused sink's error", func() bool {
		return sinkStats(t, c.stats(), "refused").LastConnectError != ""
	})
	_, _, statsBody := httpDo(t, http.MethodGet, c.URL+"/stats", nil)
	// The refused sink still holds its records in the spool: the
	// collector says so with exit status 3.
	c.stopWith(3)
	secrets := []string{wrongPassword}
	if pw, ok := u.User.Password(); ok {
		secrets = append(secrets, u.User.Username()+":"+pw+"@")
	}
	for what, text := range map[string]string{"log": c.logs.String(), "/stats": statsBody} {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the collector's %s holds %q:\n%s", what, secret, text)
			}
		}
	}
}
