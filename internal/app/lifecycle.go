package app

import (
	"context"
	"errors"
	"fmt"
)

// Component is one part of the application with a lifecycle. Start may do
// I/O and start goroutines; Stop undoes what Start did, within ctx. A
// component may use what the components before it in a Lifecycle started.
type Component struct {
	Name  string
	Start func(ctx context.Context) error
	// Stop may be nil for a component with nothing to undo.
	Stop func(ctx context.Context) error
}

// Lifecycle starts components in the order they were added and stops them
// in reverse, so each component is started after, and stopped before, the
// components it depends on. The order is declared once, by the builder,
// instead of by hand in each command.
type Lifecycle struct {
	components []Component
	started    int // how many of components have started
}

// Add appends a component; it starts after every component added before it.
func (l *Lifecycle) Add(c Component) { l.components = append(l.components, c) }

// Names returns the components' names in start order.
func (l *Lifecycle) Names() []string {
	names := make([]string, len(l.components))
	for i, c := range l.components {
		names[i] = c.Name
	}
	return names
}

// Start starts every component in order. When one fails, those already
// started are stopped, in reverse, and the error names the one that failed.
func (l *Lifecycle) Start(ctx context.Context) error {
	for _, c := range l.components[l.started:] {
		if err := c.Start(ctx); err != nil {
			err = fmt.Errorf("start %s: %w", c.Name, err)
			return errors.Join(err, l.Stop(context.WithoutCancel(ctx)))
		}
		l.started++
	}
	return nil
}

// Stop stops the started components in reverse order, each whatever became
// of the one after it, and returns all their errors. Calling it again stops
// nothing twice.
func (l *Lifecycle) Stop(ctx context.Context) error {
	var errs []error
	for ; l.started > 0; l.started-- {
		c := l.components[l.started-1]
		if c.Stop == nil {
			continue
		}
		if err := c.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}
