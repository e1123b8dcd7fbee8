package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// docFiles are the pages a user reads: docs/, its protocol pages and the
// README.
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../docs/*.md", "../docs/protocols/*.md", "../README.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d documentation files: %v", len(files), files)
	}
	return files
}

// referenceKey is one row of accord config reference.
type referenceKey struct {
	key, env, typ, def string
}

var referenceRowRE = regexp.MustCompile("^\\| `([^`]+)` \\| `([^`]+)` \\| ([^|]+) \\| ([^|]+) \\|")

// configReference runs accord config reference and returns its rows by key
// and by environment variable.
func configReference(t *testing.T) (byKey, byEnv map[string]referenceKey) {
	t.Helper()
	out, stderr, code := runAccord(t, t.TempDir(), nil, "config", "reference")
	if code != 0 {
		t.Fatalf("accord config reference: exit %d: %s", code, stderr)
	}
	byKey, byEnv = map[string]referenceKey{}, map[string]referenceKey{}
	for _, line := range strings.Split(out, "\n") {
		m := referenceRowRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		def := strings.Trim(strings.TrimSpace(m[4]), "`")
		if def == "(empty)" || def == "(see below)" {
			def = ""
		}
		row := referenceKey{key: m[1], env: m[2], typ: strings.TrimSpace(m[3]), def: def}
		byKey[row.key] = row
		byEnv[row.env] = row
	}
	if len(byKey) < 100 {
		t.Fatalf("the reference has only %d keys", len(byKey))
	}
	return byKey, byEnv
}

var (
	// A key named in the docs: a section, then dotted names, list entries
	// by index ([0]) or as [i]; optionally with the value it is given.
	docKeyRE = regexp.MustCompile("`((?:server|admin|collector|contracts|log|protocols|spool|privacy|sinks)(?:\\[[0-9i]+\\])?(?:\\.[a-z0-9_]+(?:\\[[0-9i]+\\])?)+)(?:: ([^`]+))?`")
	// An environment variable named in the docs, optionally with its value.
	docEnvRE = regexp.MustCompile(`\bACCORD_[A-Z0-9_{}a-z]*[A-Z0-9}](?:=("[^"]*"|'[^']*'|[^\s` + "`" + `)]*))?`)
	indexRE  = regexp.MustCompile(`\[[0-9]+\]`)
	envIdxRE = regexp.MustCompile(`_[0-9]+(_|$)`)
)

// recordFields are names in the docs that look like keys but are fields
// of a record (docs/envelope.md): the collector stamp on every record.
var recordFields = map[string]bool{"collector.version": true, "collector.host": true}

// notKeys are the ACCORD_ variables that are not configuration keys (nor
// ACCORD_TEST_*, the test suite's own).
var notKeys = map[string]bool{"ACCORD_CONFIG": true, "ACCORD_REGISTRY_KEY": true, "ACCORD_IGLU_API_KEY": true}

// Every configuration key and ACCORD_ variable the docs name exists in
// accord config reference, and the binary accepts it set as written: the
// key's variable, or the variable itself, with the value the docs give (or
// the key's default), is not refused as unknown or unparsable; and every
// YAML block of configuration in the docs is accepted by accord config
// check without an unknown key.
func TestDocsNameOnlyRealConfiguration(t *testing.T) {
	byKey, byEnv := configReference(t)
	exists := func(key string) bool {
		norm := indexRE.ReplaceAllString(key, "[i]")
		if _, ok := byKey[norm]; ok {
			return true
		}
		for k := range byKey {
			if strings.HasPrefix(k, norm+".") || strings.HasPrefix(k, norm+"[i]") {
				return true // a section or list of keys, such as protocols.snowplow.cookie
			}
		}
		return false
	}
	// settings are the variables to try, each with its value and where the
	// docs name it.
	type setting struct{ env, value, where string }
	var settings []setting
	var yamlBlocks []*docBlock
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			where := file + ":" + itoa(i+1)
			for _, m := range docKeyRE.FindAllStringSubmatch(line, -1) {
				key := m[1]
				if recordFields[key] {
					continue
				}
				if !exists(key) {
					t.Errorf("%s: the docs name the key %s, which accord config reference does not have", where, key)
					continue
				}
				row, ok := byKey[indexRE.ReplaceAllString(key, "[i]")]
				if !ok {
					continue // a section: its keys are checked one by one
				}
				value := row.def
				if m[2] != "" {
					value = strings.TrimSpace(m[2])
				}
				settings = append(settings, setting{strings.ReplaceAll(row.env, "{i}", "0"), value, where})
			}
			for _, m := range docEnvRE.FindAllStringSubmatch(line, -1) {
				name, _, _ := strings.Cut(m[0], "=")
				if notKeys[name] || strings.HasPrefix(name, "ACCORD_TEST_") || strings.Contains(name, "{KEY}") {
					continue // the placeholder of the reference's own rows
				}
				name = strings.ReplaceAll(name, "{i}", "0")
				generic := envIdxRE.ReplaceAllString(name, "_{i}$1")
				row, ok := byEnv[generic]
				if !ok {
					row, ok = byEnv[generic+"_{KEY}"] // a sink's options, whole
				}
				if !ok && strings.Contains(name, "_OPTIONS_") {
					// A sink option: ACCORD_SINKS_{i}_OPTIONS_{KEY}.
					opt := strings.ToLower(name[strings.Index(name, "_OPTIONS_")+len("_OPTIONS_"):])
					row, ok = byKey["sinks[i].options."+opt]
				}
				if !ok {
					t.Errorf("%s: the docs name %s, which is no variable in accord config reference", where, name)
					continue
				}
				value := row.def
				if m[1] != "" {
					value = strings.Trim(m[1], `"'`)
				}
				settings = append(settings, setting{name, value, where})
			}
		}
		for _, b := range parseBlocks(t, file) {
			if b.lang == "yaml" {
				yamlBlocks = append(yamlBlocks, b)
			}
		}
	}
	if len(settings) < 100 {
		t.Fatalf("found only %d keys and variables in the docs; the extraction is broken", len(settings))
	}
	// Each distinct variable and value once, in a directory of its own
	// without a file, so that only the variable is judged.
	tried := map[string]bool{}
	sort.Slice(settings, func(i, j int) bool { return settings[i].env < settings[j].env })
	dir := t.TempDir()
	for _, s := range settings {
		if tried[s.env+"="+s.value] {
			continue
		}
		tried[s.env+"="+s.value] = true
		_, stderr, _ := runAccordEnv(t, dir, []string{s.env + "=" + s.value}, nil, "config", "check")
		for _, refusal := range []string{s.env + ": no configuration key", s.env + "=", s.env + ": ", "cannot be set from the environment"} {
			if strings.Contains(stderr, refusal) {
				t.Errorf("%s: %s=%q as the docs name it is refused:\n%s", s.where, s.env, s.value, stderr)
				break
			}
		}
	}
	blocks := 0
	for _, b := range yamlBlocks {
		var top map[string]any
		if yaml.Unmarshal([]byte(b.text), &top) != nil || len(top) == 0 {
			continue
		}
		configuration := true
		for k := range top {
			if !exists(k) {
				configuration = false // a contract, a record, a workflow
			}
		}
		if !configuration {
			continue
		}
		blocks++
		bdir := t.TempDir()
		if err := os.WriteFile(filepath.Join(bdir, "accord.yml"), []byte(b.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, _ := runAccord(t, bdir, nil, "config", "check")
		if strings.Contains(stderr, "unknown key") || strings.Contains(stderr, "yaml:") || strings.Contains(stderr, "is not a sink type") {
			t.Errorf("%s:%d: the configuration block is refused:\n%s\n%s", b.file, b.line, b.text, stderr)
		}
	}
	if blocks < 5 {
		t.Errorf("only %d YAML blocks of configuration found in the docs", blocks)
	}
	t.Logf("%d settings (%d distinct) and %d configuration blocks checked", len(settings), len(tried), blocks)
}
