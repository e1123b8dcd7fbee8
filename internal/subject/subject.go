// Package subject answers data-subject requests (accord subject export and
// delete): it finds one person's records in every configured sink whose
// type can read back what it stored (sink.Type.Subjects), writes them as
// NDJSON or removes them, and reports per store what it found, and which
// sinks it could not search.
package subject

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/accord-events/accord/internal/event"
	"github.com/accord-events/accord/internal/privacy"
	"github.com/accord-events/accord/internal/sink"
)

// Target is one configured sink.
type Target struct {
	// Name and Type are the sink's, as configured.
	Name, Type string
	// Store searches the sink's stores; nil when its type cannot.
	Store sink.SubjectStore
}

// IDs names the subject as the request gives it, in clear.
type IDs struct {
	UserID      string
	AnonymousID string
}

// Query is what to look for: the ids themselves in the records' identity,
// and what the contracts' hash and hmac made of them (under the current
// salt and key, and every old key kept for reading) in their data.
func Query(ids IDs, secrets *privacy.Secrets) (sink.SubjectQuery, error) {
	var q sink.SubjectQuery
	if ids.UserID == "" && ids.AnonymousID == "" {
		return q, errors.New("name the subject: --user-id or --anonymous-id")
	}
	for _, id := range []string{ids.UserID, ids.AnonymousID} {
		if id == "" {
			continue
		}
		q.Pseudonyms = append(q.Pseudonyms, secrets.Pseudonyms(id)...)
	}
	if ids.UserID != "" {
		q.UserIDs = []string{ids.UserID}
	}
	if ids.AnonymousID != "" {
		q.AnonymousIDs = []string{ids.AnonymousID}
	}
	return q, nil
}

// Result is what one sink found or removed.
type Result struct {
	Sink string `json:"sink"`
	Type string `json:"type"`
	// Stores counts the subject's records per store (table) of the sink.
	Stores []sink.StoreCount `json:"stores,omitempty"`
	// Unsupported says why the sink was not searched.
	Unsupported string `json:"unsupported,omitempty"`
}

func unsupported(t Target) Result {
	return Result{Sink: t.Name, Type: t.Type, Unsupported: fmt.Sprintf(
		"sinks of type %s cannot read back or remove what they wrote; find and remove the subject's records where it writes them", t.Type)}
}

// Export writes every record of the subject each target holds to w, one
// JSON envelope per line, and returns what each target held.
func Export(ctx context.Context, targets []Target, q sink.SubjectQuery, w io.Writer) ([]Result, error) {
	var results []Result
	var buf []byte
	for _, t := range targets {
		if t.Store == nil {
			results = append(results, unsupported(t))
			continue
		}
		counts, err := t.Store.ExportSubject(ctx, q, func(rec *event.Envelope) error {
			buf = append(rec.AppendJSON(buf[:0]), '\n')
			_, err := w.Write(buf)
			return err
		})
		results = append(results, Result{Sink: t.Name, Type: t.Type, Stores: counts})
		if err != nil {
			return results, fmt.Errorf("export from sink %s: %w", t.Name, err)
		}
	}
	return results, nil
}

// Delete removes every record of the subject from each target that can,
// and returns what each removed.
func Delete(ctx context.Context, targets []Target, q sink.SubjectQuery) ([]Result, error) {
	var results []Result
	for _, t := range targets {
		if t.Store == nil {
			results = append(results, unsupported(t))
			continue
		}
		counts, err := t.Store.DeleteSubject(ctx, q)
		results = append(results, Result{Sink: t.Name, Type: t.Type, Stores: counts})
		if err != nil {
			return results, fmt.Errorf("delete from sink %s: %w", t.Name, err)
		}
	}
	return results, nil
}
