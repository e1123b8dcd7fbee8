//go:build !linux

package iouring

import (
	"errors"
	"fmt"
)

// Ring is an io_uring; elsewhere than Linux there is none.
type Ring struct{}

// Open fails elsewhere than Linux.
func Open(onFail func(error)) (*Ring, error) {
	return nil, fmt.Errorf("io_uring: %w", errors.ErrUnsupported)
}

// Close does nothing.
func (r *Ring) Close() error { return nil }
