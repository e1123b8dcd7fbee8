package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/sink/mqtt/mqtttest"
)

// The real binary publishes to the MQTT broker on this machine: good
// records to their contract's topic, failed ones to PREFIX/failed, read
// back by a QoS 1 subscriber that subscribed before the events were sent;
// the password is never printed.
func TestMQTTSinkDeliversToBroker(t *testing.T) {
	const password = "mqtt-s3cret-pw"
	addr := mqtttest.Broker(t)
	prefix := mqtttest.Prefix(t)
	sub := mqtttest.Subscribe(t, addr, prefix)

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=broker", "ACCORD_SINKS_1_TYPE=mqtt",
		"ACCORD_SINKS_1_OPTIONS_BROKER="+addr,
		"ACCORD_SINKS_1_OPTIONS_TOPIC_PREFIX="+prefix,
		"ACCORD_SINKS_1_OPTIONS_USERNAME=accord",
		"ACCORD_SINKS_1_OPTIONS_PASSWORD="+password,
		"ACCORD_LOG_LEVEL=debug")
	body := []byte(`[{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/2"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"nope"}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	goodTopic, failedTopic := prefix+"/good/com.example/page_view/v1", prefix+"/failed"
	eventually(t, 20*time.Second, "the broker forwarded the records", func() bool {
		return len(sub.Messages()) >= 3
	})
	counts := map[string]int{}
	for _, m := range sub.Messages() {
		eventtest.CheckJSON(t, m.Payload)
		var rec struct {
			Valid bool `json:"valid"`
		}
		if err := json.Unmarshal(m.Payload, &rec); err != nil {
			t.Fatal(err)
		}
		counts[m.Topic]++
		if rec.Valid != (m.Topic == goodTopic) {
			t.Errorf("record with valid=%v on %s: %s", rec.Valid, m.Topic, m.Payload)
		}
	}
	if counts[goodTopic] != 2 || counts[failedTopic] != 1 {
		t.Errorf("topics %v: want 2 on %s and 1 on %s", counts, goodTopic, failedTopic)
	}
	// The sink counts a batch delivered once Write returned, just after
	// the broker forwarded it.
	eventually(t, 10*time.Second, "/stats counts 3 records delivered to the mqtt sink", func() bool {
		return sinkStats(t, c.stats(), "broker").Delivered >= 3
	})
	_, _, statsBody := httpDo(t, http.MethodGet, c.URL+"/stats", nil)
	c.stop()
	for what, text := range map[string]string{"log": c.logs.String(), "/stats": statsBody} {
		if strings.Contains(text, password) {
			t.Errorf("the collector's %s holds the MQTT password:\n%s", what, text)
		}
	}
}
