package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/accord-events/accord/internal/event/eventtest"
	"github.com/accord-events/accord/internal/testenv"
)

// redisTestAddr is the Redis server the tests use: ACCORD_TEST_REDIS_ADDR,
// or the one on this machine.
func redisTestAddr() string {
	if addr := os.Getenv("ACCORD_TEST_REDIS_ADDR"); addr != "" {
		return addr
	}
	return "127.0.0.1:6379"
}

// The real binary adds good records to their contract's stream and failed
// ones to the failed stream on the real Redis server, read back with
// XRANGE; a second sink whose login Redis refuses says so without printing
// its password.
func TestRedisSinkDeliversToStreams(t *testing.T) {
	const wrongPassword = "redis-wr0ng-pw"
	client := goredis.NewClient(&goredis.Options{Addr: redisTestAddr(), DisableIdentity: true})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		testenv.Missing(t, "Redis at %s is unreachable: %v", redisTestAddr(), err)
	}
	prefix := fmt.Sprintf("e2e:%d:%d", os.Getpid(), time.Now().UnixNano())
	goodStream, failedStream := prefix+":good:com.example:page_view:v1", prefix+":failed"
	defer client.Del(context.Background(), goodStream, failedStream, prefix+":good")

	dir := newProject(t)
	c := startCollector(t, dir,
		"ACCORD_SINKS_1_NAME=stream", "ACCORD_SINKS_1_TYPE=redis",
		"ACCORD_SINKS_1_OPTIONS_URL=redis://"+redisTestAddr()+"/0",
		"ACCORD_SINKS_1_OPTIONS_STREAM="+prefix+":good",
		"ACCORD_SINKS_1_OPTIONS_FAILED_STREAM="+failedStream,
		"ACCORD_SINKS_1_OPTIONS_STREAM_PER_CONTRACT=true",
		"ACCORD_SINKS_2_NAME=refused", "ACCORD_SINKS_2_TYPE=redis",
		"ACCORD_SINKS_2_OPTIONS_URL=redis://nobody:"+wrongPassword+"@"+redisTestAddr()+"/0",
		"ACCORD_SINKS_2_OPTIONS_STREAM="+prefix+":refused", "ACCORD_SINKS_2_OPTIONS_FAILED_STREAM="+prefix+":refused-failed",
		"ACCORD_LOG_LEVEL=debug", "ACCORD_SPOOL_DRAIN_TIMEOUT=1s")
	body := []byte(`[{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/1"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"https://a.example/2"}},` +
		`{"schema":"` + pageViewKey + `","data":{"url":"nope"}}]`)
	if status, _, resp := c.post("/events", "application/json", body); status != http.StatusOK {
		t.Fatalf("%d %s", status, resp)
	}
	read := func(stream string) []goredis.XMessage {
		msgs, err := client.XRange(context.Background(), stream, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		return msgs
	}
	eventually(t, 20*time.Second, "the streams have the records", func() bool {
		return len(read(goodStream)) == 2 && len(read(failedStream)) == 1
	})
	if n := len(read(prefix + ":good")); n != 0 {
		t.Errorf("%d records in %s:good, want them in %s", n, prefix, goodStream)
	}
	for stream, valid := range map[string]bool{goodStream: true, failedStream: false} {
		for _, m := range read(stream) {
			env, _ := m.Values["envelope"].(string)
			eventtest.CheckJSON(t, []byte(env))
			if !strings.Contains(env, `"event_id":"`+fmt.Sprint(m.Values["event_id"])+`"`) ||
				!strings.Contains(env, `"schema":"`+fmt.Sprint(m.Values["schema"])+`"`) ||
				!strings.Contains(env, fmt.Sprintf(`"valid":%v`, valid)) ||
				m.Values["content_type"] != "application/json" {
				t.Errorf("entry %s of %s: %v", m.ID, stream, m.Values)
			}
		}
	}
	if st := sinkStats(t, c.stats(), "stream"); st.Delivered < 3 {
		t.Errorf("/stats: %d records delivered to the redis sink, want 3", st.Delivered)
	}
	eventually(t, 60*time.Second, "/stats shows the refused sink's error", func() bool {
		return sinkStats(t, c.stats(), "refused").LastConnectError != ""
	})
	_, _, statsBody := httpDo(t, http.MethodGet, c.URL+"/stats", nil)
	c.stopWith(3) // the refused sink still holds its records in the spool
	for what, text := range map[string]string{"log": c.logs.String(), "/stats": statsBody} {
		if strings.Contains(text, wrongPassword) {
			t.Errorf("the collector's %s holds the password:\n%s", what, text)
		}
		if !strings.Contains(text, "WRONGPASS") {
			t.Errorf("the collector's %s does not say Redis refused the login:\n%s", what, text)
		}
	}
}
