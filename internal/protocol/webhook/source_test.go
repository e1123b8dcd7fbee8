package webhook

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSourceValidate(t *testing.T) {
	tests := []struct {
		name string
		src  Source
		// want lists the joined errors' lines in order; none for a valid
		// source.
		want []string
	}{
		{name: "github", src: Source{Name: "github", Schema: pushSchema, Signature: Signature{Kind: KindGitHub, Secret: "s"}}},
		{name: "stripe with a tolerance", src: Source{Name: "stripe_live", Arbitrary: true, Signature: Signature{Kind: KindStripe, Secret: "whsec_x", Tolerance: 10 * time.Minute}}},
		{name: "hmac", src: Source{Name: "Shop-1", Schema: "com.acme/order/jsonschema/2-0-1", Signature: Signature{Kind: KindHMAC, Secret: "s", Header: "X-Shop-Hmac-Sha256"}}},
		{name: "unsigned", src: Source{Name: "misc", Arbitrary: true}},

		{name: "no name", src: Source{Arbitrary: true}, want: []string{"name: must not be empty; name the source, such as github"}},
		{name: "name not a path segment", src: Source{Name: "git hub/x", Arbitrary: true},
			want: []string{`name: "git hub/x" may hold only letters, digits, '-' and '_'`}},
		{name: "neither schema nor arbitrary", src: Source{Name: "s"},
			want: []string{"schema: must not be empty unless arbitrary is true; set it to the key of the contract", "or set arbitrary: true"}},
		{name: "both schema and arbitrary", src: Source{Name: "s", Schema: pushSchema, Arbitrary: true},
			want: []string{"schema: must be empty when arbitrary is true"}},
		{name: "schema not a key", src: Source{Name: "s", Schema: "iglu:com.acme/push/1-0-0"},
			want: []string{`schema: schema key "iglu:com.acme/push/1-0-0" is not of the form iglu:vendor/name/jsonschema/M-R-A; use a contract key such as`}},
		{name: "schema with a bad version", src: Source{Name: "s", Schema: "iglu:com.acme/push/jsonschema/0-1-0"},
			want: []string{"schema: ", "MODEL starts at 1"}},
		{name: "unknown kind", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Kind: "GitHub", Secret: "s"}},
			want: []string{`signature.kind: "GitHub" is not a signature kind; use github, stripe, hmac, or leave it empty`}},
		{name: "secret without a kind", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Secret: "s"}},
			want: []string{"signature.secret: is set but signature.kind is empty, so it would never be checked"}},
		{name: "hmac without header", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Kind: KindHMAC, Secret: "s"}},
			want: []string{"signature.header: must not be empty when signature.kind is hmac"}},
		{name: "hmac with a bad header name", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Kind: KindHMAC, Secret: "s", Header: "X Signature:"}},
			want: []string{`signature.header: "X Signature:" is not a header name`}},
		{name: "header for github", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Kind: KindGitHub, Secret: "s", Header: "X-Sig"}},
			want: []string{"signature.header: applies only when signature.kind is hmac"}},
		{name: "negative tolerance", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Kind: KindStripe, Secret: "s", Tolerance: -time.Second}},
			want: []string{"signature.tolerance: -1s must not be negative; use 0 for the default of 5m0s"}},
		{name: "tolerance for hmac", src: Source{Name: "s", Arbitrary: true, Signature: Signature{Kind: KindHMAC, Secret: "s", Header: "X-Sig", Tolerance: time.Minute}},
			want: []string{"signature.tolerance: applies only when signature.kind is stripe"}},
		{
			name: "every problem at once",
			src:  Source{Name: "a.b", Signature: Signature{Kind: KindGitHub, Header: "X-Sig", Tolerance: time.Minute}},
			want: []string{
				"name: ",
				"schema: must not be empty",
				"signature.secret: must not be empty when signature.kind is github; set it to the secret the provider signs deliveries with",
				"signature.header: applies only",
				"signature.tolerance: applies only",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.src.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", tc.src)
			}
			lines := strings.Split(err.Error(), "\n")
			if tc.name == "every problem at once" {
				if len(lines) != len(tc.want) {
					t.Fatalf("%d errors, want %d:\n%v", len(lines), len(tc.want), err)
				}
				for i, w := range tc.want {
					if !strings.HasPrefix(lines[i], w) {
						t.Errorf("error %d is %q, want it to start %q", i, lines[i], w)
					}
				}
				return
			}
			if len(lines) != 1 {
				t.Errorf("%d errors, want 1:\n%v", len(lines), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestSourceTags checks what the generated configuration reference relies
// on: every field has a snake_case yaml key and a one-sentence doc.
func TestSourceTags(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[Source](), reflect.TypeFor[Signature]()} {
		for f := range typ.Fields() {
			key := f.Tag.Get("yaml")
			if key == "" || strings.ToLower(key) != key || strings.ContainsAny(key, "- ,") {
				t.Errorf("%s.%s: yaml key %q is not snake_case", typ.Name(), f.Name, key)
			}
			doc := f.Tag.Get("doc")
			if !strings.HasSuffix(doc, ".") || strings.Count(strings.TrimSuffix(doc, "."), ". ") > 0 {
				t.Errorf("%s.%s: doc %q is not one sentence", typ.Name(), f.Name, doc)
			}
		}
	}
}

func TestSignatureSecretNotPrinted(t *testing.T) {
	src := Source{Name: "stripe", Arbitrary: true, Signature: Signature{Kind: KindStripe, Secret: "whsec_topsecret"}}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(verb, src); strings.Contains(s, "topsecret") || !strings.Contains(s, "redacted") {
			t.Errorf("%s prints the source as %s", verb, s)
		}
	}
}
