package scaffold

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/contract/lint"
)

// TestNewContractLintsClean: every field type gives a contract that
// compiles and has no lint error; each placeholder is a lint warning.
func TestNewContractLintsClean(t *testing.T) {
	var fields []Field
	for typ := range FieldTypes {
		fields = append(fields, Field{Name: "f_" + typ, Type: typ, Required: typ == "string"})
	}
	for _, tc := range []struct {
		name         string
		opts         ContractOptions
		placeholders int
	}{
		{"bare", ContractOptions{}, 3},
		{"owner, team and every field type", ContractOptions{Owner: "a@b.example", Team: "growth", Fields: fields}, 2 + len(fields)},
		{"quotes and markup in the owner", ContractOptions{Owner: `"Growth" <growth@acme.example>`}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, key, err := NewContract("com.acme", "cart_viewed", tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := contract.Compile(doc, key, "new"); err != nil {
				t.Fatalf("does not compile: %v\n%s", err, doc)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "com.acme", "cart_viewed", "jsonschema", "1-0-0")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, doc, 0o644); err != nil {
				t.Fatal(err)
			}
			l, err := lint.New(lint.Options{RequireDescriptions: lint.Warning})
			if err != nil {
				t.Fatal(err)
			}
			r, err := l.Dir(dir)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, f := range r.Findings {
				if f.Rule != lint.RulePlaceholder || f.Severity != lint.Warning {
					t.Errorf("finding %+v", f)
				}
				n++
			}
			if n != tc.placeholders {
				t.Errorf("%d placeholders, want %d", n, tc.placeholders)
			}
			// Required at error, the placeholders fail the lint.
			strict, _ := lint.New(lint.Options{RequireDescriptions: lint.Error})
			if r, _ := strict.Dir(dir); r.Count(lint.Error) != tc.placeholders {
				t.Errorf("at error: %d errors, want %d", r.Count(lint.Error), tc.placeholders)
			}
		})
	}
}

func TestNewContractRefuses(t *testing.T) {
	for _, tc := range []struct {
		vendor, name string
		fields       []Field
		want         string
	}{
		{"..", "x", nil, "dot"},
		{".hidden", "x", nil, "dot"},
		{"com.acme", "a/b", nil, "schema key"},
		{"com acme", "x", nil, "may hold only"},
		{"com.acme", "x", []Field{{Name: "Bad", Type: "string"}}, "lower-case"},
		{"com.acme", "x", []Field{{Name: "a", Type: "blob"}}, "not one of"},
		{"com.acme", "x", []Field{{Name: "a", Type: "string"}, {Name: "a", Type: "integer"}}, "twice"},
	} {
		if _, _, err := NewContract(tc.vendor, tc.name, ContractOptions{Fields: tc.fields}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewContract(%q, %q, %v) = %v, want %q", tc.vendor, tc.name, tc.fields, err, tc.want)
		}
	}
}
