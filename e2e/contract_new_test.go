package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestContractNewBumpExample walks a contract's life as someone who is not
// an engineer would: accord contract new scaffolds it (lint passes, with
// its placeholders as warnings), bump gives each edited copy the honest
// next version and says why (contract check agrees), and the curl that
// contract example prints sends an event the live collector stores good.
func TestContractNewBumpExample(t *testing.T) {
	dir := newProject(t)
	out, stderr, code := runAccord(t, dir, nil, "contract", "new", "com.acme/cart_viewed", "--owner", "growth@acme.example",
		"--field", "cart_id:uuid", "--field", "total:number", "--field", "email:email", "--required", "cart_id")
	if code != 0 || !strings.Contains(out, "wrote contracts/com.acme/cart_viewed/jsonschema/1-0-0") || !strings.Contains(out, "placeholder") {
		t.Fatalf("contract new: exit %d\n%s%s", code, out, stderr)
	}
	lintOut, stderr, code := runAccord(t, dir, nil, "contract", "lint")
	if code != 0 || strings.Count(lintOut, "warning placeholder") != 5 || strings.Contains(lintOut, " error ") {
		t.Fatalf("lint of the new contract: exit %d (want 0 with 5 placeholder warnings)\n%s%s", code, lintOut, stderr)
	}
	if _, stderr, code := runAccord(t, dir, nil, "contract", "new", "com.acme/cart_viewed"); code != 1 || !strings.Contains(stderr, "bump") {
		t.Errorf("a second new: exit %d: %s", code, stderr)
	}
	for _, bad := range [][]string{{"../etc/x"}, {".hidden/x"}, {"com.acme/x", "--field", "Bad Name:string"}, {"com.acme/x", "--field", "a:blob"}, {"com.acme/x", "--required", "nope"}} {
		if _, stderr, code := runAccord(t, dir, nil, append([]string{"contract", "new"}, bad...)...); code != 1 {
			t.Errorf("contract new %v: exit %d: %s", bad, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "etc")); err == nil {
		t.Error("contract new wrote outside the contracts directory")
	}

	v1 := filepath.Join(dir, "contracts/com.acme/cart_viewed/jsonschema/1-0-0")
	doc, err := os.ReadFile(v1)
	if err != nil {
		t.Fatal(err)
	}
	draft := filepath.Join(dir, "draft.json")
	edit := func(from, to string) {
		t.Helper()
		if !strings.Contains(string(doc), from) {
			t.Fatalf("the scaffold has no %q", from)
		}
		doc = []byte(strings.Replace(string(doc), from, to, 1))
		if err := os.WriteFile(draft, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, step := range []struct {
		from, to, want, bump string
	}{
		// An optional property added to the closed object: ADDITION.
		{`"email": {`, `"coupon": {"type": "string", "maxLength": 20, "description": "Coupon code."}, "email": {`, "1-0-1", "ADDITION"},
		// A constraint every old value may not meet: REVISION.
		{`"total": {"type": "number"`, `"total": {"type": "number", "minimum": 0`, "1-1-0", "REVISION"},
		// An existing property made required: REVISION.
		{`"required": ["cart_id"]`, `"required": ["cart_id", "total"]`, "1-2-0", "REVISION"},
		// A type changed to one no old value has: MODEL.
		{`"total": {"type": "number"`, `"total": {"type": "string"`, "2-0-0", "MODEL"},
	} {
		edit(step.from, step.to)
		out, stderr, code := runAccord(t, dir, nil, "contract", "bump", "draft.json")
		if code != 0 || !strings.Contains(out, "-> "+step.want+", a "+step.bump) {
			t.Fatalf("bump to %s: exit %d\n%s%s", step.want, code, out, stderr)
		}
		written, err := os.ReadFile(filepath.Join(dir, "contracts/com.acme/cart_viewed/jsonschema", step.want))
		if err != nil || !strings.Contains(string(written), `"version": "`+step.want+`"`) || strings.Replace(string(written), step.want, "", 1) == string(written) {
			t.Fatalf("the written %s: %v\n%s", step.want, err, written)
		}
	}
	if out, stderr, code := runAccord(t, dir, nil, "contract", "bump", "draft.json"); code != 1 || !strings.Contains(stderr, "nothing to bump") {
		t.Errorf("bump of an unchanged draft: exit %d: %s%s", code, out, stderr)
	}
	if _, stderr, code := runAccord(t, dir, nil, "contract", "bump", v1); code != 1 || !strings.Contains(stderr, "never changes") {
		t.Errorf("bump of a published version: exit %d: %s", code, stderr)
	}
	if out, stderr, code := runAccord(t, dir, nil, "contract", "check"); code != 0 {
		t.Errorf("contract check after the bumps: exit %d\n%s%s", code, out, stderr)
	}

	c := startCollector(t, dir)
	for _, key := range []string{"com.acme/cart_viewed", "iglu:com.acme/cart_viewed/jsonschema/1-0-1", "com.snowplowanalytics.snowplow/web_page"} {
		out, stderr, code := runAccord(t, dir, nil, "contract", "example", key, "--collector", c.URL)
		if code != 0 {
			t.Fatalf("contract example %s: exit %d: %s", key, code, stderr)
		}
		var curl string
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "curl ") {
				curl = line
			}
		}
		if curl == "" {
			t.Fatalf("contract example %s printed no curl:\n%s", key, out)
		}
		answer, err := exec.Command("sh", "-c", curl).Output()
		if err != nil {
			t.Fatalf("%s: %v", curl, err)
		}
		var res struct{ Received, Good, Failed int }
		if err := json.Unmarshal(answer, &res); err != nil || res.Good != 1 || res.Failed != 0 {
			t.Errorf("%s answered %s", curl, answer)
		}
	}
	if _, stderr, code := runAccord(t, dir, nil, "contract", "example", "com.acme/nope"); code != 1 || !strings.Contains(stderr, "no contract") {
		t.Errorf("example of a missing contract: exit %d: %s", code, stderr)
	}
}

// bump takes what the loader takes: a draft of 10 MiB (a long
// description) is proposed a version, where bump refused anything over
// 8 MiB though the loader, and so the collector, take 16 MiB; over 16 MiB
// both refuse it.
func TestContractBumpTakesWhatTheLoaderTakes(t *testing.T) {
	dir := newProject(t)
	if out, stderr, code := runAccord(t, dir, nil, "contract", "new", "com.acme/big", "--field", "n:number"); code != 0 {
		t.Fatalf("contract new: exit %d\n%s%s", code, out, stderr)
	}
	doc, err := os.ReadFile(filepath.Join(dir, "contracts/com.acme/big/jsonschema/1-0-0"))
	if err != nil {
		t.Fatal(err)
	}
	draft := filepath.Join(dir, "draft.json")
	for _, tc := range []struct {
		pad  int
		code int
		want string
	}{
		{10 << 20, 0, "-> 1-0-1, a ADDITION"},
		{17 << 20, 2, "larger than 16777216 bytes"},
	} {
		big := strings.Replace(string(doc), `"n": {`, `"note": {"type": "string", "description": "`+strings.Repeat("x", tc.pad)+`"}, "n": {`, 1)
		if err := os.WriteFile(draft, []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
		out, stderr, code := runAccord(t, dir, nil, "contract", "bump", "draft.json")
		if code != tc.code || !strings.Contains(out+stderr, tc.want) {
			t.Errorf("bump of a %d-byte draft: exit %d, want %d with %q\n%.500s%.500s", len(big), code, tc.code, tc.want, out, stderr)
		}
	}
}
