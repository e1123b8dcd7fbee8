// Package stdout is a sink that writes records to standard output as NDJSON,
// one envelope per line, for trying Accord out and for running it under a
// supervisor that collects its output.
package stdout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// Options configures a stdout sink.
type Options struct {
	FailedToStderr bool `yaml:"failed_to_stderr" doc:"Write failed records to standard error instead of standard output, so the two can be piped apart."`
}

// NewOptions returns the default options.
func NewOptions() *Options { return &Options{} }

// Validate reports problems with the options; there are none to have.
func (o *Options) Validate() error { return nil }

// Type returns the stdout sink type.
func Type() sink.Type {
	return sink.Type{
		Name: "stdout",
		Doc:  "Writes records to standard output as NDJSON, one envelope per line; failed records optionally to standard error.",
		NewOptions: func() sink.Options {
			return NewOptions()
		},
		New: func(opts sink.Options, _ sink.Deps) (sink.Sink, error) {
			o, ok := opts.(*Options)
			if !ok {
				return nil, fmt.Errorf("new stdout sink: options are %T, not *stdout.Options", opts)
			}
			failed := io.Writer(os.Stdout)
			if o.FailedToStderr {
				failed = os.Stderr
			}
			return New(os.Stdout, failed), nil
		},
	}
}

// maxKeptBuffer is the largest encode buffer kept between writes; a larger
// one, grown by an unusually big batch, is dropped rather than held.
const maxKeptBuffer = 4 << 20

// Sink writes records as NDJSON lines. It is safe for concurrent use: one
// batch's lines are written together, never interleaved with another's.
type Sink struct {
	good, failed io.Writer

	mu      sync.Mutex // serialises writes and guards what follows
	goodBuf []byte
	failBuf []byte
	closed  bool
}

// New returns a sink that writes good records to good and failed records to
// failed; pass the same writer twice to keep them in one stream, in order.
// The sink does not close the writers.
func New(good, failed io.Writer) *Sink {
	return &Sink{good: good, failed: failed}
}

// Write writes records, each batch's lines to each writer in one Write
// call.
func (s *Sink) Write(_ context.Context, records []*event.Envelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("write to stdout sink: sink is closed")
	}
	same := s.good == s.failed
	good, failed := s.goodBuf[:0], s.failBuf[:0]
	for _, r := range records {
		if r.Valid || same {
			good = append(r.AppendJSON(good), '\n')
		} else {
			failed = append(r.AppendJSON(failed), '\n')
		}
	}
	if cap(good) <= maxKeptBuffer {
		s.goodBuf = good
	}
	if cap(failed) <= maxKeptBuffer {
		s.failBuf = failed
	}
	if len(good) > 0 {
		if _, err := s.good.Write(good); err != nil {
			return fmt.Errorf("write good records: %w", err)
		}
	}
	if len(failed) > 0 {
		if _, err := s.failed.Write(failed); err != nil {
			return fmt.Errorf("write failed records: %w", err)
		}
	}
	return nil
}

// ReadsJSONOnly marks the sink as writing each record's JSON as it is
// (sink.JSONOnly): delivery need not decode records for it.
func (*Sink) ReadsJSONOnly() {}

// KeepsNoStrings marks the sink as keeping nothing of a record past a
// Write (sink.KeepsNoStrings): it copies each record's JSON into its own
// buffer before writing it.
func (*Sink) KeepsNoStrings() {}

var (
	_ sink.JSONOnly       = (*Sink)(nil)
	_ sink.KeepsNoStrings = (*Sink)(nil)
)

// Connect does nothing: the writers are open already.
func (s *Sink) Connect(context.Context) error { return nil }

// Close stops the sink; it holds no buffered data and leaves the writers
// open. A Write after Close returns an error.
func (s *Sink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

var _ sink.Sink = (*Sink)(nil)
