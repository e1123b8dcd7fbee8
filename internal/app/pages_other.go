//go:build !linux

package app

// ReleaseStartupPages does nothing outside Linux (see pages_linux.go).
func ReleaseStartupPages() uintptr { return 0 }
