package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/testenv"
)

// The real binary publishes to the NATS server on the machine
// (ACCORD_TEST_NATS_URL, or the one scripts/test starts): the stream is
// created at connect, good records land on their contract's subject and
// failed ones on prefix.failed, each with its event id as Nats-Msg-Id,
// read back with a JetStream consumer.
func TestNATSSinkDeliversToJetStream(t *testing.T) {
	url := os.Getenv("ACCORD_TEST_NATS_URL")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := natsgo.Connect(url, natsgo.Timeout(3*time.Second))
	if err != nil {
		testenv.Missing(t, "NATS at %s is unreachable: %v", url, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("E2E_%d", os.Getpid())
	prefix := fmt.Sprintf("e2e_%d", os.Getpid())
	defer func() { _ = js.DeleteStream(context.Background(), stream) }()

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=stream", "ACCORD_SINKS_1_TYPE=nats",
		"ACCORD_SINKS_1_OPTIONS_URLS=["+url+"]",
		"ACCORD_SINKS_1_OPTIONS_STREAM="+stream,
		"ACCORD_SINKS_1_OPTIONS_SUBJECT_PREFIX="+prefix,
		"ACCORD_SINKS_1_OPTIONS_MAX_AGE=1h")
	body := []byte(`[{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/2"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"nope"}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	goodSubject := prefix + ".good.com_example.page_view.v1"
	var st jetstream.Stream
	eventually(t, 20*time.Second, "the stream holds the records", func() bool {
		st, err = js.Stream(context.Background(), stream)
		if err != nil {
			return false
		}
		info, err := st.Info(context.Background())
		return err == nil && info.State.Msgs == 3
	})
	got := map[string]int{}
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := st.GetMsg(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		eventtest.CheckJSON(t, m.Data)
		var rec struct {
			EventID string `json:"event_id"`
			Valid   bool   `json:"valid"`
		}
		if err := json.Unmarshal(m.Data, &rec); err != nil {
			t.Fatal(err)
		}
		want := prefix + ".failed"
		if rec.Valid {
			want = goodSubject
		}
		if m.Subject != want || m.Header.Get(natsgo.MsgIdHdr) != rec.EventID {
			t.Errorf("message on %s (want %s), Nats-Msg-Id %q, record %s", m.Subject, want, m.Header.Get(natsgo.MsgIdHdr), m.Data)
		}
		got[m.Subject]++
	}
	if got[goodSubject] != 2 || got[prefix+".failed"] != 1 {
		t.Errorf("messages by subject: %v", got)
	}
	c.stop()
}
