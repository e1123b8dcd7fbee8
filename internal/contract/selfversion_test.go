package contract

import (
	"strings"
	"testing"
)

func TestSetSelfVersion(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"layout kept", "{\n  \"self\": {\"vendor\": \"v\", \"version\" :  \"1-0-0\", \"name\": \"n\"},\n  \"x\": [\"version\", {\"version\": \"9\"}]\n}",
			"{\n  \"self\": {\"vendor\": \"v\", \"version\" :  \"2-0-0\", \"name\": \"n\"},\n  \"x\": [\"version\", {\"version\": \"9\"}]\n}"},
		{"a version elsewhere first", `{"properties": {"version": {"type": "string"}}, "description": "version", "self": {"version": "1-0-0"}}`,
			`{"properties": {"version": {"type": "string"}}, "description": "version", "self": {"version": "2-0-0"}}`},
		{"nested self is not the self block", `{"properties": {"self": {"version": "x"}}, "self": {"a": [1, {"version": "no"}], "version": "1-0-0"}}`,
			`{"properties": {"self": {"version": "x"}}, "self": {"a": [1, {"version": "no"}], "version": "2-0-0"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetSelfVersion([]byte(tc.doc), "2-0-0")
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{`{"self": {"version": "1-0-0"}, "self": {"version": "1-0-1"}}`, `{"self": {"version": "1-0-0", "version": "1-0-1"}}`, `{}`, `{"self": {"version": 1}}`, `[1]`, `{"self": `} {
		if _, err := SetSelfVersion([]byte(bad), "2-0-0"); err == nil || !strings.Contains(err.Error(), "self") && !strings.Contains(err.Error(), "read") && !strings.Contains(err.Error(), "more than one") {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}
