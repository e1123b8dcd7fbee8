package tables

import (
	"context"

	"github.com/accord-events/accord/internal/sink"
)

// Watch runs migrate for every contract cs lists whenever the contracts
// change after changed (taken before the sink's first plan), so that a
// contract added or bumped gets its table or columns before its first
// event. A failure goes to failed and is left to the next change or to
// the next write, which plans again. It returns the function that stops
// the goroutine, cancelling a migration under way, and waits for it; nil
// when cs cannot list its contracts.
func Watch(cs sink.Contracts, changed <-chan struct{}, migrate func(context.Context, []Want) error, failed func(error)) (stop func()) {
	if _, ok := cs.(Lister); !ok {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			changed = cs.Changed()
			if err := migrate(ctx, Listed(cs)); err != nil && ctx.Err() == nil {
				failed(err)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
