package sdk

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/accord-events/accord/internal/contract"
	"github.com/accord-events/accord/internal/event"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testContracts are the contracts accord init writes and those of
// testdata/contracts (a superseded MODEL, a tracking plan, nested objects,
// a local $ref, a keyword left to the collector).
func testContracts(t testing.TB) []*contract.Contract {
	t.Helper()
	var all []*contract.Contract
	for _, dir := range []string{"../../scaffold/template/contracts", "testdata/contracts"} {
		cs, problems, err := contract.LoadDir(dir)
		if err != nil || len(problems) > 0 {
			t.Fatalf("load %s: %v %v", dir, err, problems)
		}
		all = append(all, cs...)
	}
	return all
}

// snowplowContracts are the 97 real Iglu schemas of Snowplow's standard
// events and contexts that the collector ships: real-world contracts, with
// every draft-4 habit, for the generators to compile.
func snowplowContracts(t testing.TB) []*contract.Contract {
	t.Helper()
	cs, problems, err := contract.LoadDir("../../protocol/snowplow/contracts")
	if err != nil || len(problems) > 0 || len(cs) < 50 {
		t.Fatalf("load Snowplow's contracts: %v %v (%d)", err, problems, len(cs))
	}
	return cs
}

// generators are every language and target, as accord gen sdk runs them.
var generators = []Options{{Lang: "go"}, {Lang: "ts"}, {Lang: "python"}, {Target: "snowplow"}, {Target: "segment"}}

func optionsName(o Options) string {
	if o.Lang != "" {
		return o.Lang
	}
	return o.Target
}

// TestGolden compares each generator's output with testdata/golden/NAME;
// go test -run TestGolden -update rewrites them.
func TestGolden(t *testing.T) {
	cs := testContracts(t)
	for _, o := range generators {
		t.Run(optionsName(o), func(t *testing.T) {
			files, err := Generate(cs, o)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", optionsName(o))
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := Write(dir, files); err != nil {
					t.Fatal(err)
				}
				return
			}
			for _, f := range files {
				want, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
				if err != nil {
					t.Fatalf("%v (go test ./internal/gen/sdk -run TestGolden -update writes it)", err)
				}
				if !bytes.Equal(f.Data, want) {
					t.Errorf("%s differs from its golden file; if the change is meant, run go test ./internal/gen/sdk -run TestGolden -update", f.Path)
				}
			}
			manifest, err := os.ReadFile(filepath.Join(dir, ManifestName))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(strings.Fields(string(manifest))); got != len(files) {
				t.Errorf("golden %s lists %d files, the generator wrote %d", optionsName(o), got, len(files))
			}
		})
	}
}

// TestDeterministic generates twice, the second time from the contracts in
// reverse order, and wants the same bytes.
func TestDeterministic(t *testing.T) {
	cs := testContracts(t)
	rev := make([]*contract.Contract, len(cs))
	for i, c := range cs {
		rev[len(cs)-1-i] = c
	}
	for _, o := range generators {
		a, err := Generate(cs, o)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Generate(rev, o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: generating twice gave different files", optionsName(o))
		}
	}
}

// writeGoModule writes the generated Go package into a temporary module
// with no dependencies and returns the module's directory.
func writeGoModule(t *testing.T, files Files) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/generated\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "tracking"), files); err != nil {
		t.Fatal(err)
	}
	return dir
}

func goTool(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestGoBuildsAndVets builds and vets the generated Go package, from the
// test contracts and from Snowplow's.
func TestGoBuildsAndVets(t *testing.T) {
	for name, cs := range map[string]func(testing.TB) []*contract.Contract{"examples": testContracts, "snowplow": snowplowContracts} {
		t.Run(name, func(t *testing.T) {
			files, err := Generate(cs(t), Options{Lang: "go"})
			if err != nil {
				t.Fatal(err)
			}
			dir := writeGoModule(t, files)
			goTool(t, dir, "build", "./...")
			goTool(t, dir, "vet", "./...")
		})
	}
}

// parityCases are values the generated validators and the collector's
// both judge; each names the contract, the generated rule and the data.
var parityCases = []struct {
	name, uri, rule, data string
}{
	{"valid", "iglu:com.example/checkout_completed/jsonschema/1-0-0", "CheckoutCompletedV1_0_0",
		`{"order_id": "o-1", "total": 10.5, "currency": "EUR", "items": [{"sku": "A", "quantity": 1}]}`},
	{"missing required", "iglu:com.example/checkout_completed/jsonschema/1-0-0", "CheckoutCompletedV1_0_0",
		`{"order_id": "o-1", "items": [{"sku": "A", "quantity": 1}]}`},
	{"bounds, lengths, patterns", "iglu:com.example/checkout_completed/jsonschema/1-0-0", "CheckoutCompletedV1_0_0",
		`{"order_id": "", "total": -1, "currency": "euro", "items": [], "coupon": "` + strings.Repeat("x", 65) + `"}`},
	{"nested items", "iglu:com.example/checkout_completed/jsonschema/1-0-0", "CheckoutCompletedV1_0_0",
		`{"order_id": "o", "total": 1, "currency": "EUR", "items": [{"sku": 5, "quantity": 0, "colour": "red"}]}`},
	{"extra properties", "iglu:com.example/checkout_completed/jsonschema/1-0-0", "CheckoutCompletedV1_0_0",
		`{"order_id": "o", "total": 1, "currency": "EUR", "items": [{"sku": "a", "quantity": 1}], "b": 1}`},
	{"wrong type", "iglu:com.example/page_view/jsonschema/1-0-0", "PageViewV1_0_0", `{"url": 5, "title": false}`},
	{"enum", "iglu:com.example/user/jsonschema/1-0-0", "UserV1_0_0", `{"id": "u1", "plan": "gold"}`},
	{"enum, formats, items, $ref", "iglu:com.acme/signed_in/jsonschema/2-0-0", "SignedInV2_0_0",
		`{"method": "magic", "email": "x@example.com", "attempts": 100, "labels": ["a", "", "c", "d"], "region": "EU", "session": {"id": "0f8fad5b-d9cb-469f-a165-70867728950e"}}`},
	{"exclusive bound and minimum", "iglu:com.acme/signed_in/jsonschema/2-0-0", "SignedInV2_0_0",
		`{"method": "sso", "email": "x@example.com", "attempts": 0}`},
	{"not an object", "iglu:com.acme/device/jsonschema/1-0-0", "DeviceV1_0_0", `[1]`},
	{"integer", "iglu:com.acme/device/jsonschema/1-0-0", "DeviceV1_0_0", `{"os": "linux", "screen_width": 1.5}`},
	{"any value, too long", "iglu:com.acme/anything/jsonschema/1-0-0", "AnythingV1_0_0", `"123456789"`},
	{"any value, not a string", "iglu:com.acme/anything/jsonschema/1-0-0", "AnythingV1_0_0", `[1, 2]`},
	{"free form, not an object", "iglu:com.acme/free_form/jsonschema/1-0-0", "FreeFormV1_0_0", `"x"`},
}

// TestGoMessagesMatchTheCollector runs the generated Go validator and the
// collector's (contract.Validate) over the same values and wants the same
// messages: schema, instance path, schema path, keyword and sentence.
func TestGoMessagesMatchTheCollector(t *testing.T) {
	cs := testContracts(t)
	files, err := Generate(cs, Options{Lang: "go"})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeGoModule(t, files)
	// A test file inside the generated package reaches its unexported
	// validator and prints what it says of each case.
	var src strings.Builder
	src.WriteString("package tracking\n\nimport (\n\t\"encoding/json\"\n\t\"os\"\n\t\"strings\"\n\t\"testing\"\n)\n\nfunc TestParity(t *testing.T) {\n\tvar out [][]Message\n")
	for _, tc := range parityCases {
		src.WriteString("\t{\n\t\tdec := json.NewDecoder(strings.NewReader(" + goString(tc.data) + "))\n\t\tdec.UseNumber()\n\t\tvar v any\n\t\tif err := dec.Decode(&v); err != nil {\n\t\t\tt.Fatal(err)\n\t\t}\n")
		src.WriteString("\t\tvar msgs []Message\n\t\tvalidate(v, rule" + tc.rule + "(), " + goString(tc.uri) + ", \"/data\", &msgs)\n\t\tout = append(out, check(v, rule" + tc.rule + "(), " + goString(tc.uri) + ", \"/data\"))\n\t}\n")
	}
	src.WriteString("\tb, _ := json.Marshal(out)\n\tif err := os.WriteFile(\"parity.json\", b, 0o644); err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n")
	if err := os.WriteFile(filepath.Join(dir, "tracking", "parity_test.go"), []byte(src.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	goTool(t, filepath.Join(dir, "tracking"), "test", "-count=1", "-run", "TestParity", ".")
	raw, err := os.ReadFile(filepath.Join(dir, "tracking", "parity.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkParity(t, cs, raw)
}

// checkParity compares what a generated validator said of each parity case
// (raw: a JSON array of message arrays) with the collector's messages.
func checkParity(t *testing.T, cs []*contract.Contract, raw []byte) {
	t.Helper()
	var got [][]event.Message
	if err := json.Unmarshal(raw, &got); err != nil || len(got) != len(parityCases) {
		t.Fatalf("the generated validator's answers do not decode: %v\n%s", err, raw)
	}
	byURI := map[string]*contract.Contract{}
	for _, c := range cs {
		byURI[c.URI] = c
	}
	for i, tc := range parityCases {
		v, err := contract.DecodeValue([]byte(tc.data))
		if err != nil {
			t.Fatal(err)
		}
		want := byURI[tc.uri].Validate(v, "/data")
		if len(want) == 0 && len(got[i]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got[i], want) {
			g, _ := json.MarshalIndent(got[i], "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			t.Errorf("%s: the generated validator says\n%s\nthe collector says\n%s", tc.name, g, w)
		}
	}
}

// TestGoClientBehaviour runs the tests of testdata/clienttest inside the
// generated Go package: batching, retries with backoff and Retry-After, the
// bounded queue, refusal of invalid events, against an HTTP server.
func TestGoClientBehaviour(t *testing.T) {
	files, err := Generate(testContracts(t), Options{Lang: "go"})
	if err != nil {
		t.Fatal(err)
	}
	dir := writeGoModule(t, files)
	src, err := os.ReadFile("testdata/clienttest/client_test.go.txt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tracking", "client_test.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	out := goTool(t, filepath.Join(dir, "tracking"), "test", "-race", "-count=1", "-v", ".")
	if !strings.Contains(out, "--- PASS: TestFullQueueDropsAndCounts") {
		t.Errorf("the client tests did not run:\n%s", out)
	}
}
