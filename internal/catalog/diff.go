package catalog

import (
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
)

// diff compares two documents with compat, following $refs to other
// contracts through docs.
func diff(oldDoc, newDoc []byte, docs contract.Documents) ([]compat.Change, error) {
	return compat.DiffWith(oldDoc, newDoc, compat.Options{Documents: docs})
}
