package privacy

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

var testSecrets = &Secrets{Salt: []byte("salt-0123456789ab"), KeyID: "k1", Key: []byte("key-0123456789abcdef")}

func wantHash(text string) string {
	sum := sha256.Sum256(append(append([]byte{}, testSecrets.Salt...), text...))
	return `"sha256:` + hex.EncodeToString(sum[:]) + `"`
}

func wantHMAC(text string) string {
	m := hmac.New(sha256.New, testSecrets.Key)
	m.Write([]byte(text))
	return `"hmac-sha256:k1:` + hex.EncodeToString(m.Sum(nil)) + `"`
}

// rulesFor compiles a contract whose property v carries rule.
func rulesFor(t *testing.T, rule string) *Rules {
	t.Helper()
	r, err := Compile([]byte(`{"type":"object","properties":{"v":{"x-accord-pii":` + rule + `}}}`))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func apply(t *testing.T, r *Rules, data string) string {
	t.Helper()
	out, err := r.Apply(nil, []byte(data), testSecrets)
	if err != nil {
		t.Fatalf("apply to %s: %v", data, err)
	}
	if !json.Valid(out) {
		t.Fatalf("apply to %s gave invalid JSON %s", data, out)
	}
	return string(out)
}

// Every action on every JSON type: the table is the definition
// docs/privacy.md repeats.
func TestEachActionOnEveryJSONType(t *testing.T) {
	values := []struct{ name, json, text string }{
		{"string", `"user-1é"`, "user-1é"},
		{"number", `-12.50`, "-12.50"},
		{"true", `true`, "true"},
		{"object", `{"a":1}`, `{"a":1}`},
		{"array", `[1,"x"]`, `[1,"x"]`},
		{"null", `null`, ""},
	}
	red := `"[redacted]"`
	want := map[string]map[string]string{
		"keep":     {"string": `"user-1é"`, "number": `-12.50`, "true": `true`, "object": `{"a":1}`, "array": `[1,"x"]`, "null": `null`},
		"redact":   {"string": red, "number": red, "true": red, "object": red, "array": red, "null": `null`},
		"mask":     {"string": `"use****"`, "number": `"-12***"`, "true": red, "object": red, "array": red, "null": `null`},
		"truncate": {"string": `"use"`, "number": `"-12"`, "true": red, "object": red, "array": red, "null": `null`},
		"drop":     {"string": ``, "number": ``, "true": ``, "object": ``, "array": ``, "null": ``},
	}
	for _, action := range []string{"keep", "redact", "mask", "truncate", "drop", "hash", "hmac"} {
		keep := ""
		if action == "mask" || action == "truncate" {
			keep = `,"keep_chars":3`
		}
		r := rulesFor(t, `{"class":"confidential","action":"`+action+`"`+keep+`}`)
		for _, v := range values {
			t.Run(action+"/"+v.name, func(t *testing.T) {
				var w string
				switch {
				case v.name == "null" && action != "drop":
					w = "null"
				case action == "hash":
					w = wantHash(v.text)
				case action == "hmac":
					w = wantHMAC(v.text)
				default:
					w = want[action][v.name]
				}
				wantDoc := `{"v":` + w + `,"other":"x"}`
				if action == "drop" {
					wantDoc = `{"other":"x"}`
				}
				if got := apply(t, r, `{"v":`+v.json+`,"other":"x"}`); got != wantDoc {
					t.Errorf("got %s, want %s", got, wantDoc)
				}
			})
		}
	}
}

// Pseudonyms are stable (they join across events) and applying the rules
// to what they made changes nothing (replay runs them again).
func TestPseudonymsStableAndIdempotent(t *testing.T) {
	for _, action := range []string{"hash", "hmac", "mask", "truncate", "redact", "drop"} {
		t.Run(action, func(t *testing.T) {
			r := rulesFor(t, `{"class":"confidential","action":"`+action+`","keep_chars":2}`)
			if action != "mask" && action != "truncate" {
				r = rulesFor(t, `{"class":"confidential","action":"`+action+`"}`)
			}
			once := apply(t, r, `{"v":"alice@example.com"}`)
			if again := apply(t, r, `{"v":"alice@example.com"}`); again != once {
				t.Errorf("two events gave %s and %s", once, again)
			}
			if twice := apply(t, r, once); twice != once {
				t.Errorf("applied twice: %s, once: %s", twice, once)
			}
		})
	}
	// Another key id gives another pseudonym, and one made with the old key
	// is left as it is (a rotation does not re-pseudonymise stored values).
	r := rulesFor(t, `{"class":"confidential","action":"hmac"}`)
	rotated := &Secrets{KeyID: "k2", Key: []byte("another-key-0123456789")}
	old := apply(t, r, `{"v":"user-1"}`)
	out, err := r.Apply(nil, []byte(`{"v":"user-1"}`), rotated)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) == old || string(out)[:21] != `{"v":"hmac-sha256:k2:` {
		t.Errorf("with key k2: %s (k1 gave %s)", out, old)
	}
	if out, _ := r.Apply(nil, []byte(old), rotated); string(out) != old {
		t.Errorf("a k1 pseudonym under k2 became %s", out)
	}
}

func TestPathsAtAnyDepth(t *testing.T) {
	schema := `{
	  "$defs": {"email": {"type": "string", "x-accord-pii": {"class": "restricted", "action": "redact"}},
	            "node": {"type": "object", "properties": {"secret": {"x-accord-pii": {"class": "restricted", "action": "drop"}},
	                                                       "child": {"$ref": "#/$defs/node"}}}},
	  "definitions": {"phone": {"x-accord-pii": {"class": "confidential", "action": "truncate", "keep_chars": 2}}},
	  "type": "object",
	  "properties": {
	    "user": {"type": "object", "properties": {"id": {"x-accord-pii": {"class": "confidential", "action": "hmac"}},
	                                              "email": {"$ref": "#/$defs/email"},
	                                              "phone": {"$ref": "#/definitions/phone"}}},
	    "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"x-accord-pii": {"class": "internal", "action": "mask", "keep_chars": 1}}}}},
	    "tree": {"$ref": "#/$defs/node"},
	    "tags": {"type": "object", "additionalProperties": {"x-accord-pii": {"class": "internal", "action": "redact"}}, "properties": {"public": {}}},
	    "either": {"anyOf": [{"type": "string", "x-accord-pii": {"class": "internal", "action": "mask"}},
	                         {"type": "number", "x-accord-pii": {"class": "confidential", "action": "hash"}}]},
	    "both": {"allOf": [{"x-accord-pii": {"class": "internal", "action": "truncate", "keep_chars": 4}},
	                       {"x-accord-pii": {"class": "internal", "action": "truncate", "keep_chars": 2}}]},
	    "one": {"oneOf": [{"x-accord-pii": {"class": "public", "action": "keep"}},
	                      {"x-accord-pii": {"class": "restricted", "action": "drop"}}]},
	    "kept": {"x-accord-pii": {"class": "public", "action": "keep"}}
	  }
	}`
	r, err := Compile([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range r.Paths() {
		paths = append(paths, fmt.Sprintf("%s=%s", p.Pointer, p.Rule.Action))
	}
	t.Logf("paths: %v", paths)
	data := `{"user":{"id":"user-1","email":"a@b.c","phone":"+3312","name":"Al"},
	  "items":[{"sku":"abc","n":1},{"sku":"xyz"}],
	  "tree":{"secret":1,"child":{"secret":2,"child":{"secret":3,"x":true}}},
	  "tags":{"public":"p","campaign":"c"},
	  "either":"text","both":"abcdef","one":"gone","kept":"k","free":"f"}`
	want := `{"user":{"id":` + wantHMAC("user-1") + `,"email":"[redacted]","phone":"+3","name":"Al"},` +
		`"items":[{"sku":"a**","n":1},{"sku":"x**"}],` +
		`"tree":{"child":{"child":{"x":true}}},` +
		`"tags":{"public":"p","campaign":"[redacted]"},` +
		`"either":` + wantHash("text") + `,"both":"ab","kept":"k","free":"f"}`
	if got := apply(t, r, data); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestStrictestWins(t *testing.T) {
	for i := 1; i < len(Actions); i++ {
		lo, hi := Actions[i-1], Actions[i]
		for _, order := range [][2]Action{{lo, hi}, {hi, lo}} {
			r, err := Compile([]byte(fmt.Sprintf(`{"properties":{"v":{"anyOf":[{"x-accord-pii":{"class":"internal","action":%q}},{"x-accord-pii":{"class":"internal","action":%q}}]}}}`, order[0], order[1])))
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Paths()[0].Rule.Action; got != hi {
				t.Errorf("%s and %s: %s won, want %s", order[0], order[1], got, hi)
			}
		}
	}
}

func TestNoRulesCompilesToNil(t *testing.T) {
	for _, doc := range []string{`{}`, `{"properties":{"a":{"type":"string"}}}`, `{"properties":{"a":{"x-accord-pii":{"class":"public","action":"keep"}}}}`, `true`} {
		r, err := Compile([]byte(doc))
		if err != nil || r != nil {
			t.Errorf("%s: %v, %v; want no rules", doc, r, err)
		}
	}
	// Data the rules do not govern passes as it is, in any shape.
	r := rulesFor(t, `{"class":"confidential","action":"redact"}`)
	for _, data := range []string{`"s"`, `[{"v":1}]`, `{"w":{"v":1}}`, `null`} {
		if got := apply(t, r, data); got != data {
			t.Errorf("%s became %s", data, got)
		}
	}
	// A drop at the top leaves null.
	top, _ := Compile([]byte(`{"x-accord-pii":{"class":"restricted","action":"drop"}}`))
	if got := apply(t, top, `{"a":1}`); got != "null" {
		t.Errorf("top-level drop: %s", got)
	}
}

func TestCompileErrors(t *testing.T) {
	for name, doc := range map[string]string{
		"bad action":     `{"properties":{"v":{"x-accord-pii":{"class":"internal","action":"encrypt"}}}}`,
		"bad class":      `{"properties":{"v":{"x-accord-pii":{"class":"secret","action":"hash"}}}}`,
		"bad keep_chars": `{"properties":{"v":{"x-accord-pii":{"class":"internal","action":"mask","keep_chars":-1}}}}`,
		"dangling ref":   `{"properties":{"v":{"$ref":"#/$defs/none"}}}`,
		"not json":       `{`,
	} {
		if _, err := Compile([]byte(doc)); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
}

// Pseudonyms are what the stage stores for an id: its hash, its HMAC under
// the current key and under each old key, so a subject's records made
// before a rotation are found too.
func TestPseudonymsMatchTheStage(t *testing.T) {
	oldKey := []byte("old-key-0123456789")
	s := &Secrets{Salt: testSecrets.Salt, KeyID: testSecrets.KeyID, Key: testSecrets.Key, OldKeys: []Key{{ID: "k0", Key: oldKey}}}
	m := hmac.New(sha256.New, oldKey)
	m.Write([]byte("user-1"))
	old := "hmac-sha256:k0:" + hex.EncodeToString(m.Sum(nil))
	got := s.Pseudonyms("user-1")
	want := []string{strings.Trim(wantHash("user-1"), `"`), strings.Trim(wantHMAC("user-1"), `"`), old}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Pseudonyms = %q, want %q", got, want)
	}
	// Without a salt or key there is nothing to look for but the id.
	if got := (&Secrets{}).Pseudonyms("user-1"); len(got) != 0 {
		t.Errorf("no secrets: %q", got)
	}
}

func TestOldKeysLoadAndValidate(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/old.key"
	if err := os.WriteFile(file, []byte("old-key-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := DefaultOptions()
	o.SaltFile, o.HMAC.KeyFile = "", ""
	o.HMAC.KeyID = "k2"
	o.HMAC.OldKeys = []OldKey{{KeyID: "k1", KeyFile: file}}
	s, err := o.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(s.OldKeys) != 1 || s.OldKeys[0].ID != "k1" || string(s.OldKeys[0].Key) != "old-key-0123456789" {
		t.Errorf("old keys %+v", s.OldKeys)
	}
	for _, tc := range []struct {
		name string
		old  OldKey
		key  string
	}{
		{"the current id", OldKey{KeyID: "k2", KeyFile: file}, "old_keys[0].key_id"},
		{"a bad id", OldKey{KeyID: "k 1", KeyFile: file}, "old_keys[0].key_id"},
		{"no source", OldKey{KeyID: "k1"}, "old_keys[0]"},
		{"a missing file", OldKey{KeyID: "k1", KeyFile: dir + "/none"}, "old_keys[0].key_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o.HMAC.OldKeys = []OldKey{tc.old}
			_, err := o.Load(func(string) string { return "" })
			if err == nil || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("Load() = %v; want an error naming %s", err, tc.key)
			}
		})
	}
}
