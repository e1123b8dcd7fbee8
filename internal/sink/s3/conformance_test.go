package s3

import (
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

// TestConformance runs the sink suite on gzipped NDJSON files in the
// in-process S3 fake, where a record is stored as it was written. The
// store is not made to fail here (Fail is nil): a Write uploads only the
// files it rolls, so its error says nothing of its own records; the
// store's failures are tested below (TestStoreAwayThenBack and the
// delivery package's staging tests).
func TestConformance(t *testing.T) {
	fake := newFake(t)
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			opts := fake.options(FormatNDJSON)
			s, err := Type().New(opts, sink.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			return sinktest.Instance{
				Sink:    s,
				Options: opts,
				Stored: func(t *testing.T) (good, failed []*event.Envelope) {
					return fake.stored(t, opts.Prefix)
				},
			}
		},
	})
}
