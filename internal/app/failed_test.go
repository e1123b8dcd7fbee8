package app

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/config"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/file"
	"github.com/accord-events/accord/internal/sink/sqlite"
)

// The failed-events API reads from the sinks that read back failed
// records and keep them; a replay on a collector whose sinks run in
// accord load (spool.kind kafka) is refused with what to do instead.
func TestFailedStoreSources(t *testing.T) {
	a := &App{Sinks: []SinkSpec{
		{Config: config.SinkEntry{Name: "good-only", Records: "good"}, Type: sqlite.Type(), Options: sqlite.Type().NewOptions()},
		{Config: config.SinkEntry{Name: "files", Records: "all"}, Type: file.Type(), Options: file.Type().NewOptions()},
		{Config: config.SinkEntry{Name: "store", Records: "all"}, Type: sqlite.Type(), Options: sqlite.Type().NewOptions()},
	}}
	f := failedStore{a}
	if got := f.Sources(); !slices.Equal(got, []string{"store"}) {
		t.Fatalf("sources %v; want only store (good-only keeps no failed record, files cannot read back)", got)
	}
	if _, err := f.Replay(context.Background(), "files", sink.FailedQuery{}, []string{"x"}, false); err == nil {
		t.Fatal("a replay from a sink that cannot read back was accepted")
	}
	a.shared = kafkaLog{}
	_, err := f.Replay(context.Background(), "store", sink.FailedQuery{}, []string{"x"}, false)
	if err == nil || !strings.Contains(err.Error(), "accord replay --from-sink store") {
		t.Fatalf("replay with spool.kind kafka: %v; want it refused, naming accord replay --from-sink", err)
	}
}
