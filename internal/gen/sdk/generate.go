package sdk

import (
	"fmt"

	"github.com/accord-events/accord/internal/contract"
)

// Languages and targets accord gen sdk knows.
var (
	Languages = []string{"go", "ts", "python"}
	Targets   = []string{"snowplow", "segment"}
)

// Options choose what Generate writes.
type Options struct {
	// Lang is a library's language (Languages); Target a tracker wrapper
	// (Targets). Exactly one is set.
	Lang, Target string
	// Package names the Go package (default tracking).
	Package string
}

// Generate returns the files of the library or wrapper opts asks for.
func Generate(contracts []*contract.Contract, opts Options) (Files, error) {
	m, err := Build(contracts)
	if err != nil {
		return nil, err
	}
	switch {
	case opts.Lang != "" && opts.Target != "":
		return nil, fmt.Errorf("give --lang or --target, not both")
	case opts.Lang == "go":
		pkg := opts.Package
		if pkg == "" {
			pkg = "tracking"
		}
		return Go(m, pkg)
	case opts.Lang == "python":
		return Python(m), nil
	case opts.Lang == "ts":
		return TypeScript(m), nil
	case opts.Lang != "":
		return nil, fmt.Errorf("--lang %q: use go, ts or python", opts.Lang)
	case opts.Target == "snowplow":
		return Snowplow(m), nil
	case opts.Target == "segment":
		return Segment(m), nil
	case opts.Target != "":
		return nil, fmt.Errorf("--target %q: use snowplow or segment", opts.Target)
	}
	return nil, fmt.Errorf("give --lang go|ts|python or --target snowplow|segment")
}
