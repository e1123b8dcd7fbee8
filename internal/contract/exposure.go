package contract

import (
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The stock validator (santhosh-tekuri/jsonschema) evaluates a schema at a
// place in the event once for every path through the contract that leads
// there, and keeps every failure of every branch it tried. Where a
// combinator's branches lead back to the same schema (a tree node whose
// anyOf holds several $refs to itself), the paths multiply at each level of
// the event's nesting: under such a contract a 171-byte event nested ten
// levels took it 1.7 s and 43,232 messages. exposure finds such contracts
// before an event does, from the compiled schema alone.

// maxEvaluationsPerPlace bounds how many times the stock validator may
// evaluate schemas at one place in an event (one value, or one member
// name) for the contract to count as bounded: its work on an event is then
// at most this many evaluations per value, each linear in what that value
// holds directly. A contract beyond it is exposed (see exposure).
const maxEvaluationsPerPlace = 64

// exposure reports whether the stock validator's work on an event of this
// contract may grow faster than the event's size: some place in some event
// would be evaluated more than maxEvaluationsPerPlace times, however deep.
// It is false for every contract whose combinators do not lead back into
// themselves several ways, which is nearly all of them. where names a
// schema location on the way (for lint and the load-time warning).
//
// It computes, for each schema, upper bounds on how many evaluations one
// evaluation of it causes at its own place (here), at each member or
// element of its value (object, array), at each member name (names), and at
// the decoded content of a string (content), as the least fixed point of
// their equations over the schema graph; a bound that passes the cap, or a
// fixed point not reached in a bounded number of rounds, is exposure.
// $recursiveRef and $dynamicRef resolve by the path taken, so each counts
// as leading to every schema it could resolve to.
func exposure(root *jsonschema.Schema) (exposed bool, where string) {
	var order []*jsonschema.Schema
	index := map[*jsonschema.Schema]int{}
	var visit func(s *jsonschema.Schema)
	visit = func(s *jsonschema.Schema) {
		if s == nil {
			return
		}
		if _, ok := index[s]; ok {
			return
		}
		index[s] = len(order)
		order = append(order, s)
		eachSchema(s, visit)
	}
	visit(root)
	// $recursiveRef and $dynamicRef resolve by the path taken: count each
	// as leading to every schema it could resolve to.
	var recursive []*jsonschema.Schema
	dynamic := map[string][]*jsonschema.Schema{}
	for _, s := range order {
		if len(s.Extensions) > 0 {
			return true, s.Location // a vocabulary of unknown work
		}
		if s.RecursiveAnchor {
			recursive = append(recursive, s)
		}
		if s.DynamicAnchor != "" {
			dynamic[s.DynamicAnchor] = append(dynamic[s.DynamicAnchor], s)
		}
	}
	inPlace := func(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
		eachInPlace(s, f)
		if s.RecursiveRef != nil {
			for _, c := range recursive {
				if c != s.RecursiveRef {
					f(c)
				}
			}
		}
		if s.DynamicRef != nil && s.DynamicRef.Anchor != "" {
			for _, c := range dynamic[s.DynamicRef.Anchor] {
				if c != s.DynamicRef.Ref {
					f(c)
				}
			}
		}
	}
	const capped = maxEvaluationsPerPlace + 1
	add := func(a, b int) int { return min(a+b, capped) }
	type bounds struct{ here, object, array, names, content int }
	b := make([]bounds, len(order))
	r := func(s *jsonschema.Schema) int { // evaluations at any one place
		x := b[index[s]]
		return max(x.here, x.object, x.array, x.names, x.content)
	}
	maxR := func(list ...*jsonschema.Schema) int {
		m := 0
		for _, s := range list {
			if s != nil {
				m = max(m, r(s))
			}
		}
		return m
	}
	rounds := 4*len(order) + 4*capped
	for range rounds {
		changed := false
		for k, s := range order {
			var n bounds
			n.here = 1
			// Its own value's members and elements: a member gets one
			// of properties, additionalProperties and
			// unevaluatedProperties, and each patternProperties it
			// matches; an element one of the items keywords, and
			// contains.
			var props []*jsonschema.Schema
			for _, p := range s.Properties {
				props = append(props, p)
			}
			if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
				props = append(props, a)
			}
			props = append(props, s.UnevaluatedProperties)
			n.object = maxR(props...)
			for _, p := range s.PatternProperties {
				n.object = add(n.object, r(p))
			}
			items := []*jsonschema.Schema{s.Items2020, s.UnevaluatedItems}
			switch it := s.Items.(type) {
			case *jsonschema.Schema:
				items = append(items, it)
			case []*jsonschema.Schema:
				items = append(items, it...)
			}
			if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
				items = append(items, a)
			}
			items = append(items, s.PrefixItems...)
			n.array = maxR(items...)
			if s.Contains != nil {
				n.array = add(n.array, r(s.Contains))
			}
			if s.PropertyNames != nil {
				n.names = r(s.PropertyNames)
			}
			if s.ContentSchema != nil {
				n.content = r(s.ContentSchema)
			}
			// Each schema applied in place adds all it causes.
			inPlace(s, func(c *jsonschema.Schema) {
				x := b[index[c]]
				n.here = add(n.here, x.here)
				n.object = add(n.object, x.object)
				n.array = add(n.array, x.array)
				n.names = add(n.names, x.names)
				n.content = add(n.content, x.content)
			})
			if n != b[k] {
				b[k], changed = n, true
				if max(n.here, n.object, n.array, n.names, n.content) >= capped {
					return true, s.Location
				}
			}
		}
		if !changed {
			return false, ""
		}
	}
	return true, root.Location
}

// eachInPlace calls f for every schema that s applies to its own value.
func eachInPlace(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	one := func(c *jsonschema.Schema) {
		if c != nil {
			f(c)
		}
	}
	one(s.Ref)
	one(s.RecursiveRef)
	if s.DynamicRef != nil {
		one(s.DynamicRef.Ref)
	}
	for _, list := range [][]*jsonschema.Schema{s.AllOf, s.AnyOf, s.OneOf} {
		for _, c := range list {
			one(c)
		}
	}
	one(s.Not)
	one(s.If)
	one(s.Then)
	one(s.Else)
	for _, d := range s.Dependencies {
		if c, ok := d.(*jsonschema.Schema); ok {
			one(c)
		}
	}
	for _, c := range s.DependentSchemas {
		one(c)
	}
}

// eachSchema calls f for every schema s refers to.
func eachSchema(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	one := func(c *jsonschema.Schema) {
		if c != nil {
			f(c)
		}
	}
	eachInPlace(s, one)
	for _, c := range s.Properties {
		one(c)
	}
	for _, c := range s.PatternProperties {
		one(c)
	}
	if c, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		one(c)
	}
	one(s.UnevaluatedProperties)
	one(s.PropertyNames)
	switch it := s.Items.(type) {
	case *jsonschema.Schema:
		one(it)
	case []*jsonschema.Schema:
		for _, c := range it {
			one(c)
		}
	}
	if c, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		one(c)
	}
	for _, c := range s.PrefixItems {
		one(c)
	}
	one(s.Items2020)
	one(s.UnevaluatedItems)
	one(s.Contains)
	one(s.ContentSchema)
}
