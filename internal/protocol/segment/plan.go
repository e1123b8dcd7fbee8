package segment

import (
	"errors"
	"fmt"
	"sort"
)

// PlanEntry says which Segment messages one contract covers: tracks, pages
// and screens by their event name, and any message by its call type.
type PlanEntry struct {
	// SchemaKey is the contract's key.
	SchemaKey string
	// Events are the event names covered: the event of a track, the name
	// of a page or screen.
	Events []string
	// Calls are the call types covered (CallTrack ... CallAlias), for
	// messages whose event name no entry lists.
	Calls []string
}

// Plan is a tracking plan: it maps Segment messages, which name events rather
// than contracts, to the contracts that describe them. It is read-only once
// built, and safe for concurrent use.
type Plan struct {
	events map[string]string
	calls  map[string]string
}

// NewPlan builds a plan from its entries. An event name or call type may be
// covered by one contract only; the error lists every problem, each naming
// the contracts concerned.
func NewPlan(entries []PlanEntry) (*Plan, error) {
	p := &Plan{events: make(map[string]string), calls: make(map[string]string)}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for i, e := range entries {
		if e.SchemaKey == "" {
			bad("tracking plan entry %d has no schema key; set it to the key of the contract the entry covers", i)
			continue
		}
		if len(e.Events) == 0 && len(e.Calls) == 0 {
			bad("tracking plan entry for %s covers nothing; list the Segment event names or call types it covers", e.SchemaKey)
		}
		for _, name := range e.Events {
			switch other, dup := p.events[name]; {
			case name == "":
				bad("tracking plan entry for %s lists an empty event name; remove it, or list the call types the contract covers instead", e.SchemaKey)
			case dup && other != e.SchemaKey:
				bad("event %q is covered by both %s and %s; list it under one contract only", name, other, e.SchemaKey)
			default:
				p.events[name] = e.SchemaKey
			}
		}
		for _, call := range e.Calls {
			switch other, dup := p.calls[call]; {
			case callOf(call) == "":
				bad("tracking plan entry for %s lists call type %q; use %s", e.SchemaKey, call, callList)
			case dup && other != e.SchemaKey:
				bad("call type %s is covered by both %s and %s; list it under one contract only", call, other, e.SchemaKey)
			default:
				p.calls[call] = e.SchemaKey
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Lookup returns the key of the contract covering a message of type call
// named event (Message.Call and Message.Event): the contract listing the
// event name, else the one listing the call type. ok is false when the plan
// covers neither; a nil Plan covers nothing.
func (p *Plan) Lookup(call, event string) (schemaKey string, ok bool) {
	if p == nil {
		return "", false
	}
	if event != "" {
		if key, ok := p.events[event]; ok {
			return key, true
		}
	}
	key, ok := p.calls[call]
	return key, ok
}

// Events returns the event names the plan covers, sorted; none for a nil
// Plan.
func (p *Plan) Events() []string {
	if p == nil {
		return nil
	}
	out := make([]string, 0, len(p.events))
	for ev := range p.events {
		out = append(out, ev)
	}
	sort.Strings(out)
	return out
}

// Policy says what happens to a message the tracking plan does not cover.
type Policy string

// Policies.
const (
	// Allow keeps an unplanned message as a good record without a contract.
	Allow Policy = "allow"
	// Flag keeps an unplanned message, marked as unplanned, so that it can
	// be found and added to the plan.
	Flag Policy = "flag"
	// Block fails an unplanned message: it becomes a failed record.
	Block Policy = "block"
)

// Validate reports a policy that is none of Allow, Flag and Block.
func (p Policy) Validate() error {
	switch p {
	case Allow, Flag, Block:
		return nil
	}
	return fmt.Errorf("policy: %q is not a tracking plan policy; use allow (keep unplanned events), flag (keep them, marked) or block (fail them)", string(p))
}
