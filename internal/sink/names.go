package sink

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"
)

// Model is the MODEL of a schema version, its first number (1 of 1-0-2):
// what a stream, topic, routing key or table of a contract is named by, so
// that additions and revisions share it; "0" for a record that names no
// version.
func Model(version string) string {
	model, _, _ := strings.Cut(version, "-")
	if model == "" {
		return "0"
	}
	return model
}

// Shorten returns name when it fits in max bytes; otherwise name cut (at a
// UTF-8 boundary) to end in '-' and the FNV-64a hash of whole, the text
// the name was made from, so that two names a destination's length limit
// would cut alike still differ, and the same whole always gives the same
// name.
func Shorten(name, whole string, max int) string {
	if len(name) <= max {
		return name
	}
	h := fnv.New64a()
	h.Write([]byte(whole))
	suffix := fmt.Sprintf("-%016x", h.Sum64())
	cut := max - len(suffix)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + suffix
}
