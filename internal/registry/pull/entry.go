package pull

import (
	"fmt"
	"strings"

	"github.com/accord-events/accord/internal/contract"
)

// maxEntryLen bounds one listed schema path; real ones are under 200 bytes.
const maxEntryLen = 1024

// entry is one schema a source holds, as it named it.
type entry struct {
	// listed is the entry as the source gave it: an iglu: URI from an
	// iglu-server's listing, a path from a directory, or the key asked for.
	listed                        string
	vendor, name, format, version string
	// key is set when the entry is a JSON Schema (format jsonschema).
	key contract.Key
}

// uri is the entry as an Iglu URI, the name reports give it.
func (e entry) uri() string {
	return "iglu:" + e.vendor + "/" + e.name + "/" + e.format + "/" + e.version
}

// errLayout is wrapped by parseEntry's error for a path that is not four
// segments deep: in a directory, a file that is not a schema at all.
type errLayout struct{ listed string }

func (e errLayout) Error() string {
	return fmt.Sprintf("%s is not at {vendor}/{name}/{format}/{version}, where an Iglu repository keeps its schemas", quote(e.listed))
}

// parseEntry reads one schema path a source lists: iglu:vendor/name/format/M-R-A
// (an iglu-server's listing) or vendor/name/format/M-R-A, optionally ending
// .json (a file in a directory). The source is not trusted: every part
// becomes a path under the contracts directory, so a part that could climb
// out of it or hide from the loader (a leading dot), or holds anything but
// letters, digits, '-', '_' and '.', is refused. A format other than
// jsonschema is read, so it can be reported as skipped, but gets no key.
func parseEntry(s string) (entry, error) {
	if len(s) > maxEntryLen {
		return entry{}, fmt.Errorf("%s is longer than %d bytes", quote(s), maxEntryLen)
	}
	p := strings.TrimPrefix(s, "iglu:")
	p = strings.TrimSuffix(p, ".json")
	parts := strings.Split(p, "/")
	if len(parts) != 4 {
		return entry{}, errLayout{s}
	}
	for i, what := range [3]string{"vendor", "name", "format"} {
		if !safePart(parts[i]) {
			return entry{}, fmt.Errorf("%s: %s %s is not a safe path segment: it may hold only letters, digits, '-', '_' and '.', and not start with '.'", quote(s), what, quote(parts[i]))
		}
	}
	if _, err := contract.ParseSchemaVer(parts[3]); err != nil {
		return entry{}, fmt.Errorf("%s: %w", quote(s), err)
	}
	e := entry{listed: s, vendor: parts[0], name: parts[1], format: parts[2], version: parts[3]}
	if e.format != "jsonschema" {
		return e, nil
	}
	k, err := contract.ParseKey(p)
	if err != nil {
		return entry{}, fmt.Errorf("%s: %w", quote(s), err)
	}
	if err := k.CheckFilePath(); err != nil {
		return entry{}, fmt.Errorf("%s: %w", quote(s), err)
	}
	e.key = k
	return e, nil
}

func safePart(s string) bool {
	if s == "" || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// quote prints text a source sent (which may hold control characters, or
// be long) safely on one short line.
func quote(s string) string {
	const max = 120
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// ParseVendor checks a vendor given to select by, such as com.acme.
func ParseVendor(s string) (string, error) {
	if !safePart(s) {
		return "", fmt.Errorf("vendor %s: a vendor holds only letters, digits, '-', '_' and '.', such as com.snowplowanalytics.snowplow", quote(s))
	}
	return s, nil
}
