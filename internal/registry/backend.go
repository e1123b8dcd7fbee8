package registry

import (
	"context"
	"errors"
	"strings"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/redact"
)

// Backend is a store of contracts the Resolver consults after the local
// registry.
type Backend interface {
	// Name names the backend in errors and in the Source of the contracts
	// it supplies.
	Name() string
	// Fetch returns the schema document stored under key. When the backend
	// does not have the key the error wraps ErrNotFound; any other error is
	// a failure of the backend (network, database) and says nothing about
	// whether the key exists.
	Fetch(ctx context.Context, key contract.Key) ([]byte, error)
	// List returns the keys the backend holds, or nil when it cannot be
	// listed (a static Iglu repository).
	List(ctx context.Context) ([]contract.Key, error)
}

// ErrNotFound is wrapped by a Backend's Fetch error when it does not have
// the key, and by the Resolver's error when no source has it. It is
// contract.ErrNotFound, so callers of a Resolver branch on the same error as
// callers of a contract.Set.
var ErrNotFound = contract.ErrNotFound

// ErrExists is wrapped by Put's error when the key is already stored with a
// different document: a published contract version never changes; publish
// a new version instead.
var ErrExists = errors.New("contract version already exists with a different document")

// BackendError is a backend that failed to answer for a key, or answered
// with a document that does not compile. The Resolver does not cache it: the
// next lookup asks the backend again.
type BackendError struct {
	Backend string // Backend.Name()
	Key     string // the key as an Iglu URI
	Err     error
}

func (e *BackendError) Error() string {
	// It lands in failed records, answers and logs: a backend's error
	// quotes its URL, which may carry a password or a token.
	return redact.String("registry backend " + e.Backend + " could not supply " + e.Key + ": " + e.Err.Error())
}

func (e *BackendError) Unwrap() error { return e.Err }

// backendErrors is the failures of several backends for one lookup, on one
// line so it reads well in an event's failure record.
type backendErrors []*BackendError

func (es backendErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es backendErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
