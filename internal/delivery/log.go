package delivery

import (
	"context"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/spool"
)

// Reader is what a runner reads one sink's records through: the local
// spool's persisted cursor (*spool.Reader), or a consumer of a shared log
// on a broker (a Kafka consumer group, a JetStream durable consumer).
//
// Next returns the next records after those already returned, each with an
// offset that grows from call to call; Commit(offset) says the sink has
// passed (written or dead-lettered) every record up to offset, and only
// then may the reader forget them: a record read but not committed is read
// again after a restart, or by another reader of the same name once this
// one is gone. Next and Commit may be called from two goroutines (one
// reading ahead while the other commits).
type Reader interface {
	Next(ctx context.Context, maxRecords, maxBytes int) ([]spool.Entry, error)
	Commit(offset uint64) error
	Close() error
}

var _ Reader = (*spool.Reader)(nil)

// Log is a shared log on a broker that takes the place of the local spool
// (spool.kind kafka or jetstream): collectors append to it and keep no
// state of their own, loaders (accord load) read it, each sink through a
// Reader of its own name, shared by every loader running that sink.
type Log interface {
	// Append returns once the broker has acknowledged every record (and
	// with an error otherwise: the request is then not acknowledged).
	// records[i] is envs[i] encoded (the envelope gives the event id and
	// the partition key; records of one key keep their order). An error with a Backpressure method returning
	// true means the log is at its bound of bytes in flight; one with a
	// TooLarge method returning true, that a record is larger than the
	// broker takes.
	Append(ctx context.Context, records [][]byte, envs []*event.Envelope) error
	// Reader opens the reader of the sink called name.
	Reader(name string) (Reader, error)
	// Ready returns an error while the broker is known to be away.
	Ready() error
}
