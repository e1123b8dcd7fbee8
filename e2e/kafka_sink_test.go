package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/sink/kafka/kafkatest"
)

// The real binary produces to a three-broker Kafka cluster (kfake, in this
// test's process, on loopback ports passed in the configuration) with
// SASL: good records to their contract's topic, failed ones to the failed
// topic, read back with a franz-go consumer; the SASL password is never
// printed.
func TestKafkaSinkDeliversToCluster(t *testing.T) {
	const user, password, wrongPassword = "accord", "kafka-s3cret-pw", "kafka-wr0ng-pw"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", user, password))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=stream", "ACCORD_SINKS_1_TYPE=kafka",
		"ACCORD_SINKS_1_OPTIONS_BROKERS=["+strings.Join(brokers, ", ")+"]",
		"ACCORD_SINKS_1_OPTIONS_TOPIC_PER_CONTRACT=true",
		"ACCORD_SINKS_1_OPTIONS_PARTITIONS=3",
		"ACCORD_SINKS_1_OPTIONS_REPLICATION_FACTOR=3",
		"ACCORD_SINKS_1_OPTIONS_KEY=event_id",
		"ACCORD_SINKS_1_OPTIONS_SASL_MECHANISM=scram-sha-256",
		"ACCORD_SINKS_1_OPTIONS_SASL_USER="+user,
		"ACCORD_SINKS_1_OPTIONS_SASL_PASSWORD="+password,
		// A sink with a wrong password fails to connect, and says so
		// without printing the password either.
		"ACCORD_SINKS_2_NAME=refused", "ACCORD_SINKS_2_TYPE=kafka",
		"ACCORD_SINKS_2_OPTIONS_BROKERS=["+brokers[0]+"]", "ACCORD_SINKS_2_OPTIONS_TOPIC=refused.good",
		"ACCORD_SINKS_2_OPTIONS_SASL_MECHANISM=scram-sha-256", "ACCORD_SINKS_2_OPTIONS_SASL_USER="+user,
		"ACCORD_SINKS_2_OPTIONS_SASL_PASSWORD="+wrongPassword, "ACCORD_SINKS_2_OPTIONS_DELIVERY_TIMEOUT=1s", "ACCORD_LOG_LEVEL=debug", "ACCORD_SPOOL_DRAIN_TIMEOUT=1s")
	body := []byte(`[{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/2"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"nope"}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	goodTopic := "accord.good.com.example.page_view.v1"
	topics := []string{goodTopic, "accord.failed", "accord.good"}
	auth := kgo.SASL(scram.Auth{User: user, Pass: password}.AsSha256Mechanism())
	var got map[string][]*kgo.Record
	eventually(t, 20*time.Second, "the cluster has the records", func() bool {
		got = kafkatest.Read(t, brokers, topics, auth)
		return len(got[goodTopic]) == 2 && len(got["accord.failed"]) == 1
	})
	if n := len(got["accord.good"]); n != 0 {
		t.Errorf("%d records in accord.good, want them in %s", n, goodTopic)
	}
	for _, r := range append(got[goodTopic], got["accord.failed"]...) {
		eventtest.CheckJSON(t, r.Value)
		var rec struct {
			EventID string `json:"event_id"`
			Schema  string `json:"schema"`
			Valid   bool   `json:"valid"`
		}
		if err := json.Unmarshal(r.Value, &rec); err != nil {
			t.Fatal(err)
		}
		headers := map[string]string{}
		for _, h := range r.Headers {
			headers[h.Key] = string(h.Value)
		}
		if string(r.Key) != rec.EventID || headers["event_id"] != rec.EventID || headers["schema"] != rec.Schema ||
			headers["content-type"] != "application/json" || rec.Valid != (r.Topic == goodTopic) {
			t.Errorf("record in %s: key %q, headers %v, value %s", r.Topic, r.Key, headers, r.Value)
		}
	}
	st := sinkStats(t, c.stats(), "stream")
	if st.Delivered < 3 {
		t.Errorf("/stats: %d records delivered to the kafka sink, want 3", st.Delivered)
	}
	eventually(t, 60*time.Second, "/stats shows the refused sink's error", func() bool {
		return sinkStats(t, c.stats(), "refused").LastConnectError != ""
	})
	_, _, statsBody := httpDo(t, http.MethodGet, c.URL+"/stats", nil)
	// The refused sink still holds its records in the spool: the
	// collector says so with exit status 3.
	c.stopWith(3)
	for what, text := range map[string]string{"log": c.logs.String(), "/stats": statsBody} {
		for _, pw := range []string{password, wrongPassword} {
			if strings.Contains(text, pw) {
				t.Errorf("the collector's %s holds a SASL password:\n%s", what, text)
			}
		}
	}
}
