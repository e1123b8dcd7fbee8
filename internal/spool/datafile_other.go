//go:build !linux

package spool

import "os"

// dataFile is a segment open for writing; elsewhere than Linux it is the
// plain file, which allocates nothing ahead (see reserve).
type dataFile struct{ *os.File }

func newDataFile(f *os.File) dataFile { return dataFile{f} }
