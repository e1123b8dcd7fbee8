package file

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			// A directory that does not exist yet: the sink creates it.
			opts := testOptions(filepath.Join(t.TempDir(), "new", "dir"))
			s, err := New(opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Instance{
				Sink:    s,
				Options: &opts,
				Stored: func(t *testing.T) (good, failed []*event.Envelope) {
					return readRecords(t, opts.GoodPath), readRecords(t, opts.FailedPath)
				},
			}
		},
	})
}

func readRecords(t *testing.T, path string) []*event.Envelope {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sinktest.DecodeNDJSON(t, data)
}
