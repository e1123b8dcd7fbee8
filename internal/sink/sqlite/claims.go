package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"io"
	"math/bits"
	"strings"

	"github.com/google/uuid"

	"github.com/accord-events/accord/internal/event"
)

// claimsPerQuery bounds the ids looked up in one query (SQLite allows far
// more bound variables; a smaller statement is kinder to its planner).
const claimsPerQuery = 256

// heldID is what identifies an event beyond its id: a resend of the same
// event has the same fingerprint and comes by the same protocol.
type heldID struct{ fingerprint, protocol string }

// settleClaims decides, before records are inserted into t, what happens to
// those whose event_id t already holds, or an earlier record of the batch
// has. The same event again (same
// fingerprint and protocol) is left to the insert, which skips it: a
// resend. A different event is another client's claim on the id (anyone
// can name any id on /events): it is stored under a new event_id, with the
// id it was sent with as original_event_id, unless that was done already
// (a resend of it), in which case it is dropped. Records are copied, never
// changed: others may hold them. held is the ids t held before, for
// telling which records the insert skips; nil when it held none of them.
func (s *Sink) settleClaims(ctx context.Context, t *table, records []*event.Envelope) (out []*event.Envelope, held map[string]bool, err error) {
	ids, err := s.heldIDs(ctx, t, records)
	if err != nil {
		return nil, nil, err
	}
	// Even when t holds none of the ids, a record may meet an earlier one
	// of the batch with its id: a different event is another client's
	// claim then too, which the insert would otherwise skip.
	if len(ids) > 0 {
		held = make(map[string]bool, len(ids))
		for id := range ids {
			held[id] = true
		}
	}
	type renamed struct {
		original string
		heldID
	}
	// out is nil until a record is changed or dropped.
	seen := map[renamed]bool{}
	for i, r := range records {
		h, ok := ids[r.EventID]
		keep := r
		if r.EventID == "" {
			ok = false
		}
		switch {
		case !ok:
			if r.EventID != "" {
				// A later record of the batch with this id meets this one.
				ids[r.EventID] = heldID{r.Fingerprint, r.Protocol}
			}
		case h == (heldID{r.Fingerprint, r.Protocol}):
			// The same event again: the insert skips it.
		default:
			key := renamed{r.EventID, heldID{r.Fingerprint, r.Protocol}}
			stored, err := s.storedUnderNewID(ctx, t, key.original, key.heldID)
			if err != nil {
				return nil, nil, err
			}
			if stored || seen[key] {
				keep = nil // a resend of an event already stored under a new id
				break
			}
			seen[key] = true
			id, err := uuid.NewV7()
			if err != nil {
				return nil, nil, fmt.Errorf("new event id for a claimed one: %w", err)
			}
			c := *r
			c.JSON = nil // the record changed: its encoding no longer holds
			c.OriginalEventID, c.EventID = r.EventID, id.String()
			keep = &c
			// Debug: anyone can cause this, once per event.
			s.logger.Debug("event id already held by another event; stored under a new id",
				"event_id", c.EventID, "original_event_id", c.OriginalEventID, "protocol", c.Protocol, "table", t.name)
		}
		if keep != r && out == nil {
			out = append(make([]*event.Envelope, 0, len(records)), records[:i]...)
		}
		if out != nil && keep != nil {
			out = append(out, keep)
		}
	}
	if out == nil {
		return records, held, nil
	}
	return out, held, nil
}

// heldIDs returns, for the records' event ids that t holds, what the
// stored event was.
func (s *Sink) heldIDs(ctx context.Context, t *table, records []*event.Envelope) (map[string]heldID, error) {
	held := map[string]heldID{}
	args := s.claimArgs[:0]
	defer func() {
		clear(args)
		s.claimArgs = args[:0]
	}()
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		// The statement for the next power of two of ids, the rest bound
		// to NULL, which IN never matches: a few statements prepared once
		// a table, instead of one parsed for every batch.
		n := 1 << bits.Len(uint(len(args)-1))
		for len(args) < n {
			args = append(args, driver.NamedValue{Ordinal: len(args) + 1})
		}
		st, err := t.heldStmt(ctx, s.conn, n)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, args)
		if err != nil {
			return fmt.Errorf("look up event ids in %s: %w", t.name, err)
		}
		defer rows.Close()
		row := make([]driver.Value, 3)
		for {
			err := rows.Next(row)
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("look up event ids in %s: %w", t.name, err)
			}
			id, _ := row[0].(string)
			fp, _ := row[1].(string)
			proto, _ := row[2].(string)
			held[id] = heldID{fp, proto}
		}
		clear(args)
		args = args[:0]
		return nil
	}
	for _, r := range records {
		if r.EventID == "" {
			continue
		}
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: r.EventID})
		if len(args) == claimsPerQuery {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return held, nil
}

// heldStmt returns the statement that looks up ids event ids (a power of
// two, at most claimsPerQuery) in t, preparing it when first needed.
func (t *table) heldStmt(ctx context.Context, conn driverConn, ids int) (queryStmt, error) {
	return preparedFor(ctx, conn, &t.held, ids, "look up event ids in", t.name, func() string {
		return fmt.Sprintf("SELECT event_id, fingerprint, protocol FROM %q WHERE event_id IN (?%s)", t.name, strings.Repeat(", ?", ids-1))
	})
}

// queryStmt is what the sink needs of a prepared query.
type queryStmt interface {
	driver.Stmt
	driver.StmtQueryContext
}

// storedUnderNewID reports whether t holds the event h, sent with the id
// original, under a new id already.
func (s *Sink) storedUnderNewID(ctx context.Context, t *table, original string, h heldID) (bool, error) {
	q := fmt.Sprintf("SELECT 1 FROM %q WHERE original_event_id = ? AND fingerprint = ? AND protocol = ? LIMIT 1", t.name)
	rows, err := s.conn.QueryContext(ctx, q, []driver.NamedValue{{Ordinal: 1, Value: original}, {Ordinal: 2, Value: h.fingerprint}, {Ordinal: 3, Value: h.protocol}})
	if err != nil {
		return false, fmt.Errorf("look up claimed event id in %s: %w", t.name, err)
	}
	defer rows.Close()
	err = rows.Next(make([]driver.Value, 1))
	if err == io.EOF {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up claimed event id in %s: %w", t.name, err)
	}
	return true, nil
}
