package replay

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/accord-events/accord/internal/delivery"
	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/sink"
)

// maxDeadLetterLine bounds one dead-letter line (a record and its error).
const maxDeadLetterLine = 64 << 20

// DeadLetterFile reads the records of a dead-letter file (see
// delivery.DeadLetter) that q selects.
func DeadLetterFile(path string, q sink.FailedQuery) Source {
	return func(ctx context.Context, fn func(Record) error) error {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open dead letter: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), maxDeadLetterLine)
		for line := 1; sc.Scan(); line++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if len(sc.Bytes()) == 0 {
				continue
			}
			var dl delivery.DeadLetter
			if err := json.Unmarshal(sc.Bytes(), &dl); err != nil {
				return fmt.Errorf("%s:%d: not a dead letter: %w", path, line, err)
			}
			rec := new(event.Envelope)
			if err := event.DecodeEnvelope(dl.Record, rec); err != nil {
				return fmt.Errorf("%s:%d: the record is not an envelope: %w", path, line, err)
			}
			if !q.Match(rec) {
				continue
			}
			if err := fn(Record{Envelope: rec, DeadLetterOf: dl.Sink}); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read dead letter %s: %w", path, err)
		}
		return nil
	}
}
