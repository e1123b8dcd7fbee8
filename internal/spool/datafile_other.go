//go:build !linux

package spool

import (
	"os"

	"github.com/accord-events/accord/internal/iouring"
)

// dataFile is a segment open for writing; elsewhere than Linux it is the
// plain file, which allocates nothing ahead (see reserve).
type dataFile struct{ *os.File }

func newDataFile(f *os.File) dataFile { return dataFile{f} }

// SyncThrough is Sync: elsewhere than Linux there is no ring.
func (f dataFile) SyncThrough(*iouring.Ring) error { return f.Sync() }

// writesOverSpare: no spare file elsewhere than Linux (see keepsSpare): the
// page-cache saving was measured on Linux, and the spare is renamed while
// open, which not every system allows.
const writesOverSpare = false
