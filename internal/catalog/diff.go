package catalog

import (
	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/compat"
)

// diff compares two documents with compat.
func diff(oldDoc, newDoc []byte, _ contract.Documents) ([]compat.Change, error) {
	return compat.Diff(oldDoc, newDoc)
}
