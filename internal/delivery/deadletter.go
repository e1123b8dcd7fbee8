package delivery

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/jsonscan"
	"github.com/accord-events/accord/internal/redact"
)

// DeadLetter is one line of a dead-letter file: a record a sink could not
// take, and why.
type DeadLetter struct {
	DeadLetteredAt time.Time `json:"dead_lettered_at"`
	Sink           string    `json:"sink"`
	Attempts       int       `json:"attempts"`
	Error          string    `json:"error"`
	// Record is the envelope as the spool held it.
	Record json.RawMessage `json:"record"`
}

// DeadLetterPath is where the dead letters of the sink called name go. The
// name is escaped, so that no sink name reaches outside dir.
func DeadLetterPath(dir, name string) string {
	return filepath.Join(dir, url.PathEscape(name)+".ndjson")
}

// deadLetterFile appends dead letters to one sink's NDJSON file, syncing
// each write before the sink's cursor moves past the records.
type deadLetterFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	buf  []byte
}

func (d *deadLetterFile) write(sinkName string, records [][]byte, causeErr error, attempts int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		if err := os.MkdirAll(filepath.Dir(d.path), 0o755); err != nil {
			return fmt.Errorf("create dead-letter dir: %w", err)
		}
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("open dead letter: %w", err)
		}
		d.f = f
	}
	at := time.Now().UTC().Format(event.TimeLayout)
	cause := redact.BoundedError(causeErr)
	buf := d.buf[:0]
	for _, rec := range records {
		buf = append(buf, `{"dead_lettered_at":"`...)
		buf = append(buf, at...)
		buf = append(buf, `","sink":`...)
		buf = jsonscan.AppendString(buf, sinkName)
		buf = append(buf, `,"attempts":`...)
		buf = strconv.AppendInt(buf, int64(attempts), 10)
		buf = append(buf, `,"error":`...)
		buf = jsonscan.AppendString(buf, cause)
		buf = append(buf, `,"record":`...)
		if json.Valid(rec) {
			buf = append(buf, rec...)
		} else {
			// Never expected (the spool holds what Deliver encoded), but a
			// record must not be lost for being unreadable.
			buf = jsonscan.AppendString(buf, string(rec))
		}
		buf = append(buf, "}\n"...)
	}
	d.buf = buf
	if _, err := d.f.Write(buf); err != nil {
		return fmt.Errorf("write dead letter %s: %w", d.path, err)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("sync dead letter %s: %w", d.path, err)
	}
	return nil
}

func (d *deadLetterFile) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}
