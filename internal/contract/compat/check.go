package compat

import (
	"fmt"
	"sort"

	"github.com/accord-events/accord/internal/contract"
)

// Declared returns the bump a version step declares: MODEL when the model
// changed, REVISION when the revision did, else ADDITION. from must be below to.
func Declared(from, to contract.SchemaVer) Bump {
	switch {
	case from.Model != to.Model:
		return Model
	case from.Revision != to.Revision:
		return Revision
	}
	return Addition
}

// Less orders versions as SchemaVer does.
func Less(a, b contract.SchemaVer) bool {
	if a.Model != b.Model {
		return a.Model < b.Model
	}
	if a.Revision != b.Revision {
		return a.Revision < b.Revision
	}
	return a.Addition < b.Addition
}

// Step is one pair of consecutive versions of a contract and what it takes.
type Step struct {
	// Contract is vendor/name/format.
	Contract string `json:"contract"`
	From     string `json:"from"`
	To       string `json:"to"`
	// Declared is the bump the version numbers say; Needed the one the
	// changes need. Honest is Declared >= Needed.
	Declared Bump     `json:"declared"`
	Needed   Bump     `json:"needed"`
	Honest   bool     `json:"honest"`
	Changes  []Change `json:"changes"`
	// Error is set when the two versions could not be compared.
	Error string `json:"error,omitempty"`
	// FromSource and ToSource say where the versions were loaded from.
	FromSource string `json:"from_source"`
	ToSource   string `json:"to_source"`
}

// Gap is a version missing between two a contract has.
type Gap struct {
	Contract string `json:"contract"`
	// After is the version before the gap, "" when the contract does not
	// start at the model's first version.
	After   string `json:"after,omitempty"`
	Next    string `json:"next"`
	Missing string `json:"missing"`
}

// Report is the outcome of checking every contract's version history.
type Report struct {
	Contracts int    `json:"contracts"`
	Steps     []Step `json:"steps"`
	Gaps      []Gap  `json:"gaps"`
}

// Failed returns the steps whose declared bump is smaller than their changes
// need (a pair that could not be compared needs MODEL).
func (r *Report) Failed() []Step {
	var out []Step
	for _, s := range r.Steps {
		if !s.Honest {
			out = append(out, s)
		}
	}
	return out
}

// Check groups contracts by vendor, name and format, walks each one's
// versions in SchemaVer order, and diffs every consecutive pair; a $ref
// from one of them to another is followed (DiffWith).
func Check(contracts []*contract.Contract) *Report {
	return CheckWith(contracts, Options{Documents: contract.DocumentsOf(contracts)})
}

// CheckWith is Check with the diff's options.
func CheckWith(contracts []*contract.Contract, opts Options) *Report {
	groups := map[string][]*contract.Contract{}
	for _, c := range contracts {
		id := c.Key.Vendor + "/" + c.Key.Name + "/" + c.Key.Format
		groups[id] = append(groups[id], c)
	}
	r := &Report{Contracts: len(groups), Steps: []Step{}, Gaps: []Gap{}}
	for _, id := range sortedKeys(groups) {
		versions := groups[id]
		sort.Slice(versions, func(i, j int) bool { return Less(versions[i].Key.Version, versions[j].Key.Version) })
		vers := make([]contract.SchemaVer, len(versions))
		for i, c := range versions {
			vers[i] = c.Key.Version
		}
		r.Gaps = append(r.Gaps, Gaps(id, vers)...)
		for i := 1; i < len(versions); i++ {
			from, to := versions[i-1], versions[i]
			step := Step{Contract: id, From: from.Version, To: to.Version, Declared: Declared(from.Key.Version, to.Key.Version),
				FromSource: from.Source, ToSource: to.Source, Changes: []Change{}}
			changes, err := DiffWith(from.Document, to.Document, opts)
			if err != nil {
				step.Error = fmt.Sprintf("compare %s with %s: %v", from.Version, to.Version, err)
				step.Needed = Model
			} else {
				step.Changes = changes
				step.Needed = Needed(changes)
			}
			if changes == nil {
				step.Changes = []Change{}
			}
			// A pair that cannot be compared needs a MODEL bump to pass.
			step.Honest = step.Declared >= step.Needed
			r.Steps = append(r.Steps, step)
		}
	}
	return r
}

// Gaps returns the gaps in one contract's versions: a first version other
// than 1-0-0, and every version missing between two consecutive ones. id is
// the contract's vendor/name/format; versions need not be sorted, and
// duplicates are ignored.
func Gaps(id string, versions []contract.SchemaVer) []Gap {
	if len(versions) == 0 {
		return nil
	}
	sorted := append([]contract.SchemaVer(nil), versions...)
	sort.Slice(sorted, func(i, j int) bool { return Less(sorted[i], sorted[j]) })
	var gaps []Gap
	if first := sorted[0]; first != (contract.SchemaVer{Model: 1}) {
		gaps = append(gaps, Gap{Contract: id, Next: first.String(), Missing: "1-0-0"})
	}
	for i := 1; i < len(sorted); i++ {
		from, to := sorted[i-1], sorted[i]
		if from == to {
			continue
		}
		if missing, ok := gap(from, to); ok {
			gaps = append(gaps, Gap{Contract: id, After: from.String(), Next: to.String(), Missing: missing})
		}
	}
	return gaps
}

// gap reports the first version missing between from and its successor to.
func gap(from, to contract.SchemaVer) (string, bool) {
	next := []contract.SchemaVer{
		{Model: from.Model, Revision: from.Revision, Addition: from.Addition + 1},
		{Model: from.Model, Revision: from.Revision + 1},
		{Model: from.Model + 1},
	}
	for _, n := range next {
		if n == to {
			return "", false
		}
	}
	switch {
	case to.Model != from.Model:
		if to.Model > from.Model+1 {
			return contract.SchemaVer{Model: from.Model + 1}.String(), true
		}
		return contract.SchemaVer{Model: to.Model}.String(), true
	case to.Revision != from.Revision:
		if to.Revision > from.Revision+1 {
			return contract.SchemaVer{Model: from.Model, Revision: from.Revision + 1}.String(), true
		}
		return contract.SchemaVer{Model: to.Model, Revision: to.Revision}.String(), true
	}
	return contract.SchemaVer{Model: from.Model, Revision: from.Revision, Addition: from.Addition + 1}.String(), true
}

// Next is the version after from that a change needing b declares:
// M-R-(A+1) for ADDITION, M-(R+1)-0 for REVISION, (M+1)-0-0 for MODEL.
func Next(from contract.SchemaVer, b Bump) contract.SchemaVer {
	switch b {
	case Model:
		return contract.SchemaVer{Model: from.Model + 1}
	case Revision:
		return contract.SchemaVer{Model: from.Model, Revision: from.Revision + 1}
	}
	return contract.SchemaVer{Model: from.Model, Revision: from.Revision, Addition: from.Addition + 1}
}
