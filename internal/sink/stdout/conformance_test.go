package stdout

import (
	"slices"
	"testing"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		Type: Type(),
		New: func(t *testing.T) sinktest.Instance {
			good, failed := &syncBuffer{}, &syncBuffer{}
			return sinktest.Instance{
				Sink:    New(good, failed),
				Options: &Options{FailedToStderr: true},
				Stored: func(t *testing.T) ([]*event.Envelope, []*event.Envelope) {
					return sinktest.DecodeNDJSON(t, good.bytes()), sinktest.DecodeNDJSON(t, failed.bytes())
				},
			}
		},
	})
}

func (b *syncBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.buf.Bytes())
}
