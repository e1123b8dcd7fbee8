package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvConfigFile names the configuration file, like --config. It is not a
// key.
const EnvConfigFile = "ACCORD_CONFIG"

// EnvRegistryKey holds the API key accord contract publish sends. It is not
// a key either, and may be exported in the same CI job as the other
// commands run in.
const EnvRegistryKey = "ACCORD_REGISTRY_KEY"

// EnvIgluAPIKey holds the API key accord contract pull sends to an
// iglu-server. It is not a key either, for the same reason.
const EnvIgluAPIKey = "ACCORD_IGLU_API_KEY"

// ApplyEnv overrides the fields of the struct v points to from environment
// variables in environ (os.Environ() form). A key's variable is the prefix and
// its path in upper case joined by underscores: server.max_body_bytes is
// ACCORD_SERVER_MAX_BODY_BYTES, sinks[0].options.path is
// ACCORD_SINKS_0_OPTIONS_PATH. A list or a map may also be set whole, in
// YAML flow syntax: ACCORD_CONTRACTS_BACKENDS='[{type: iglu, url:
// http://iglucentral.com}]'; indexed variables then change its entries. A
// variable with the prefix that names no key is an error, so a typo does not
// go unnoticed.
func ApplyEnv(prefix string, v any, environ []string) error {
	vars := map[string]string{}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, prefix+"_") && name != EnvConfigFile && name != EnvRegistryKey && name != EnvIgluAPIKey {
			vars[name] = value
		}
	}
	if len(vars) == 0 {
		return nil
	}
	used := map[string]bool{}
	var errs []error
	applyEnvValue(reflect.ValueOf(v).Elem(), prefix, "", vars, used, &errs)
	// A variable a key names as holding a secret (privacy.salt_env:
	// ACCORD_SALT) is the user's, not a key.
	for _, name := range secretVars(reflect.ValueOf(v).Elem()) {
		used[name] = true
	}
	var unknown []string
	for name := range vars {
		if !used[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		errs = append(errs, fmt.Errorf("%s: no configuration key has this variable; see docs/configuration.md for the names", name))
	}
	return errors.Join(errs...)
}

func applyEnvValue(v reflect.Value, name, key string, vars map[string]string, used map[string]bool, errs *[]error) {
	v = walkable(v)
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			field := yamlKey(t.Field(i))
			if field == "" {
				continue
			}
			if isInline(t.Field(i)) {
				applyEnvValue(v.Field(i), name, key, vars, used, errs)
				continue
			}
			applyEnvValue(v.Field(i), name+"_"+strings.ToUpper(field), joinKey(key, field), vars, used, errs)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.Struct {
			applyEnvScalar(v, name, vars, used, errs)
			return
		}
		applyEnvWhole(v, name, key, vars, used, errs)
		// Elements are addressed by index; naming one past the end grows
		// the list, so a whole sink can be added from the environment.
		n := v.Len()
		for varName := range vars {
			rest, ok := strings.CutPrefix(varName, name+"_")
			if !ok {
				continue
			}
			idx, _, _ := strings.Cut(rest, "_")
			if i, err := strconv.Atoi(idx); err == nil && i >= n && i < n+100 {
				n = i + 1
			}
		}
		for v.Len() < n {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		}
		for i := 0; i < v.Len(); i++ {
			applyEnvValue(v.Index(i), name+"_"+strconv.Itoa(i), fmt.Sprintf("%s[%d]", key, i), vars, used, errs)
		}
	case reflect.Map:
		applyEnvWhole(v, name, key, vars, used, errs)
		// Free-form options: every variable below name sets one key, its
		// value read as a YAML scalar so numbers and booleans keep their type.
		for varName, value := range vars {
			rest, ok := strings.CutPrefix(varName, name+"_")
			if !ok || rest == "" {
				continue
			}
			var parsed any
			if err := yaml.Unmarshal([]byte(value), &parsed); err != nil {
				parsed = value
			}
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
			v.SetMapIndex(reflect.ValueOf(strings.ToLower(rest)), reflect.ValueOf(&parsed).Elem())
			used[varName] = true
		}
	default:
		applyEnvScalar(v, name, vars, used, errs)
	}
}

// applyEnvWhole sets a list or map from the variable named for it as a
// whole, its value in YAML flow syntax, checked as strictly as the file.
func applyEnvWhole(v reflect.Value, name, key string, vars map[string]string, used map[string]bool, errs *[]error) {
	value, ok := vars[name]
	if !ok {
		return
	}
	used[name] = true
	whole := reflect.New(v.Type())
	if err := decodeStrict([]byte(value), whole.Interface(), key, false); err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %w; write the whole %s in YAML flow syntax, such as %s", name, err, kindWord(v), flowExample(v)))
		return
	}
	v.Set(whole.Elem())
}

func kindWord(v reflect.Value) string {
	if v.Kind() == reflect.Map {
		return "map"
	}
	return "list"
}

func flowExample(v reflect.Value) string {
	if v.Kind() == reflect.Map {
		return "'{key: value, other: 2}'"
	}
	return "'[{key: value}, {key: other}]'"
}

func applyEnvScalar(v reflect.Value, name string, vars map[string]string, used map[string]bool, errs *[]error) {
	value, ok := vars[name]
	if !ok {
		return
	}
	used[name] = true
	if err := setScalar(v, value); err != nil {
		*errs = append(*errs, fmt.Errorf("%s=%q: %w", name, value, err))
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

// setScalar parses s into v by v's type.
func setScalar(v reflect.Value, s string) error {
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("not a duration; use a number with a unit, such as 10s or 1m30s")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not a boolean; use true or false")
		}
		v.SetBool(b)
	case v.Kind() >= reflect.Int && v.Kind() <= reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number")
		}
		v.SetInt(n)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("not a number")
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String && strings.HasPrefix(strings.TrimSpace(s), "["):
		// A YAML flow sequence, as the lists of entries are written.
		var parts []string
		if err := yaml.Unmarshal([]byte(s), &parts); err != nil {
			return fmt.Errorf("not a list of strings; write it in YAML flow syntax, such as [a, b], or comma-separated, such as a,b")
		}
		v.Set(reflect.ValueOf(parts))
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment (type %s)", v.Type())
	}
	return nil
}

// isInline reports whether a struct field's keys stand at its parent's
// level (yaml:",inline"), as the spool's options do under spool.
func isInline(f reflect.StructField) bool {
	_, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return f.Type.Kind() == reflect.Struct && strings.Contains(","+opts+",", ",inline,")
}

// yamlKey returns a field's YAML key, or "" for a field YAML skips.
func yamlKey(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" || !f.IsExported() {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// secretVars returns the values of the string keys ending in _env below v:
// the names of the environment variables that hold secrets.
func secretVars(v reflect.Value) []string {
	v = walkable(v)
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			key := yamlKey(t.Field(i))
			if key == "" {
				continue
			}
			f := walkable(v.Field(i))
			if f.Kind() == reflect.String && strings.HasSuffix(key, "_env") && f.String() != "" {
				out = append(out, f.String())
				continue
			}
			out = append(out, secretVars(f)...)
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Struct {
			for i := 0; i < v.Len(); i++ {
				out = append(out, secretVars(v.Index(i))...)
			}
		}
	}
	return out
}
