package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// accord load serves /healthz and /readyz open (for a kubelet's probes) and
// /stats and /metrics behind admin.auth, on admin.addr: against a kfake
// broker it is ready, its /metrics (parsed with Prometheus's text parser)
// counts what its sink delivered, and with the broker gone /readyz answers
// 503 naming the brokers while /healthz stays 200.
func TestLoaderAdminRoutes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cluster.Close() }()
	const token = "loader-admin-token"
	env := []string{
		"ACCORD_SPOOL_KIND=kafka", "ACCORD_SPOOL_KAFKA_BROKERS=[" + addr + "]", "ACCORD_SPOOL_KAFKA_TOPIC=loaderadmin.log",
		"ACCORD_SPOOL_KAFKA_PARTITIONS=2", "ACCORD_SPOOL_KAFKA_TIMEOUT=3s", "ACCORD_ADMIN_AUTH_TOKEN=" + token,
	}
	l := startLoader(t, newProject(t), env...)
	c := startCollector(t, newProject(t), env...)

	status, _, body := httpDo(t, http.MethodGet, l.URL+"/healthz", nil)
	if status != http.StatusOK {
		t.Errorf("GET /healthz: %d %s, want 200 without credentials", status, body)
	}
	eventually(t, 30*time.Second, "the loader answers /readyz 200 once the broker answers", func() bool {
		status, _, _ := httpDo(t, http.MethodGet, l.URL+"/readyz", nil)
		return status == http.StatusOK
	})
	for _, path := range []string{"/metrics", "/stats"} {
		if status, _, body := httpDo(t, http.MethodGet, l.URL+path, nil); status != http.StatusUnauthorized {
			t.Errorf("GET %s without the admin token: %d %.200s, want 401", path, status, body)
		}
	}
	if status, _, body := httpDo(t, http.MethodPost, l.URL+"/events", []byte(`{}`), "Authorization", "Bearer "+token); status != http.StatusNotFound {
		t.Errorf("POST /events to a loader: %d %.200s, want 404 (a loader takes no events)", status, body)
	}

	load := newScaleLoad(10)
	load.run(t, c.URL, 0, 5)
	if len(load.acked) != 50 {
		t.Fatalf("%d events acknowledged of 50", len(load.acked))
	}
	as := &collector{t: t, URL: l.URL}
	eventually(t, 30*time.Second, "the loader's /metrics counts the 50 events its sink delivered", func() bool {
		f := scrape(t, as, token)
		var delivered float64
		for _, m := range f["accord_sink_delivered_records_total"].GetMetric() {
			delivered += m.GetCounter().GetValue()
		}
		connected, ok := metricValue(f, "accord_sink_connected", nil)
		return delivered >= 50 && ok && connected == 1
	})
	status, _, body = httpDo(t, http.MethodGet, l.URL+"/stats", nil, "Authorization", "Bearer "+token)
	if status != http.StatusOK || !strings.Contains(body, `"sinks"`) {
		t.Errorf("GET /stats with the token: %d %.300s", status, body)
	}
	c.stop()

	cluster.Close()
	eventually(t, 40*time.Second, "the loader answers /readyz 503 naming the brokers once they are gone", func() bool {
		status, _, body := httpDo(t, http.MethodGet, l.URL+"/readyz", nil)
		return status == http.StatusServiceUnavailable && strings.Contains(body, addr)
	})
	if status, _, body := httpDo(t, http.MethodGet, l.URL+"/healthz", nil); status != http.StatusOK {
		t.Errorf("GET /healthz with the brokers gone: %d %s, want 200 (the process is alive)", status, body)
	}
}
