package contract

import (
	"fmt"
	"strconv"
	"strings"
)

// SchemaVer is a MODEL-REVISION-ADDITION version.
type SchemaVer struct {
	Model, Revision, Addition int
}

// String returns the version as M-R-A.
func (v SchemaVer) String() string {
	return strconv.Itoa(v.Model) + "-" + strconv.Itoa(v.Revision) + "-" + strconv.Itoa(v.Addition)
}

// ParseSchemaVer parses "M-R-A".
func ParseSchemaVer(s string) (SchemaVer, error) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return SchemaVer{}, fmt.Errorf("version %q is not SchemaVer MODEL-REVISION-ADDITION such as 1-0-0", s)
	}
	var nums [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || (len(p) > 1 && p[0] == '0') {
			return SchemaVer{}, fmt.Errorf("version %q is not SchemaVer MODEL-REVISION-ADDITION such as 1-0-0", s)
		}
		nums[i] = n
	}
	if nums[0] == 0 {
		return SchemaVer{}, fmt.Errorf("version %q: MODEL starts at 1", s)
	}
	return SchemaVer{nums[0], nums[1], nums[2]}, nil
}

// Key identifies one version of a contract.
type Key struct {
	Vendor  string
	Name    string
	Format  string
	Version SchemaVer
}

// String returns the key as an Iglu URI: iglu:vendor/name/format/M-R-A.
func (k Key) String() string {
	return "iglu:" + k.Path()
}

// Path returns the key as a path: vendor/name/format/M-R-A.
func (k Key) Path() string {
	return k.Vendor + "/" + k.Name + "/" + k.Format + "/" + k.Version.String()
}

// ParseKey parses a schema key in any of the forms events use:
// iglu:vendor/name/jsonschema/M-R-A, vendor/name/jsonschema/M-R-A, or either
// with a .json suffix.
func ParseKey(s string) (Key, error) {
	p := strings.TrimPrefix(s, "iglu:")
	p = strings.TrimSuffix(p, ".json")
	parts := strings.Split(p, "/")
	if len(parts) != 4 {
		return Key{}, fmt.Errorf("schema key %q is not of the form iglu:vendor/name/jsonschema/M-R-A", s)
	}
	for i, what := range [3]string{"vendor", "name", "format"} {
		if !validKeyPart(parts[i]) {
			return Key{}, fmt.Errorf("schema key %q: %s %q may hold only letters, digits, '-', '_' and '.'", s, what, parts[i])
		}
	}
	if parts[2] != "jsonschema" {
		return Key{}, fmt.Errorf("schema key %q: format %q is not supported, only jsonschema", s, parts[2])
	}
	v, err := ParseSchemaVer(parts[3])
	if err != nil {
		return Key{}, fmt.Errorf("schema key %q: %w", s, err)
	}
	return Key{Vendor: parts[0], Name: parts[1], Format: parts[2], Version: v}, nil
}

func validKeyPart(s string) bool {
	if s == "" {
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

// CheckFilePath returns an error when the key cannot name a file under a
// contracts directory: a vendor or name starting with a dot would climb out
// of it ("..") or hide from the loader, which skips dot files. Every writer
// of contract files (registry writes, accord contract pull) asks it first.
func (k Key) CheckFilePath() error {
	for _, part := range [...]string{k.Vendor, k.Name} {
		if strings.HasPrefix(part, ".") {
			return fmt.Errorf("%q cannot be a vendor or name: it starts with a dot; name it with letters, digits, '-', '_' and inner dots", part)
		}
	}
	return nil
}
