// Package privacy applies the privacy rules a contract declares with
// x-accord-pii: it compiles each contract's rules once into a tree of JSON
// paths with actions, and its Stage rewrites every event's data and every
// context's data by them after validation, so what is stored is the
// transformed record. The vocabulary (classes, actions, keys) is defined
// here once; lint checks contracts against the same lists.
package privacy

import "slices"

// Classes are the values of x-accord-pii's class, least sensitive first.
var Classes = []string{"public", "internal", "confidential", "restricted"}

// Action is what is done to a governed value before it is stored.
type Action string

// The actions, in Actions' order of strictness.
const (
	Keep     Action = "keep"
	Truncate Action = "truncate"
	Mask     Action = "mask"
	Hash     Action = "hash"
	HMAC     Action = "hmac"
	Redact   Action = "redact"
	Drop     Action = "drop"
)

// Actions lists every action, least strict first: when two rules govern
// the same value (a property in two allOf/anyOf/oneOf branches, or reached
// through two $refs), the one later in this list wins; between two rules of
// the same action, the one keeping fewer characters wins. Truncate keeps a
// prefix of the value, mask keeps a prefix and the length, hash keeps a
// joinable pseudonym anyone with the salt can test guesses against, hmac one
// only the key holder can, redact keeps a fixed marker, drop nothing.
var Actions = []Action{Keep, Truncate, Mask, Hash, HMAC, Redact, Drop}

// Keys are the keys an x-accord-pii rule may hold.
var Keys = []string{"class", "action", "keep_chars"}

// KeepCharsActions are the actions keep_chars applies to.
var KeepCharsActions = []Action{Mask, Truncate}

// strictness is the index of a in Actions, -1 when a is not an action.
func strictness(a Action) int { return slices.Index(Actions, a) }

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool { return strictness(a) >= 0 }

// ValidClass reports whether c is one of Classes.
func ValidClass(c string) bool { return slices.Contains(Classes, c) }
