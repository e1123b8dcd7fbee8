package lint

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/accord-events/accord/internal/privacy"
)

// The x-accord-pii vocabulary schema lint validates rules with names the
// same classes, actions and keys as package privacy, which applies them:
// one vocabulary, so lint never accepts a rule the stage does not know.
func TestPrivacyVocabularyIsThePrivacyPackages(t *testing.T) {
	var v struct {
		Properties struct {
			Class  struct{ Enum []string } `json:"class"`
			Action struct{ Enum []string } `json:"action"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(privacySchema, &v); err != nil {
		t.Fatal(err)
	}
	var props struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(privacySchema, &props); err != nil {
		t.Fatal(err)
	}
	actions := make([]string, len(privacy.Actions))
	for i, a := range privacy.Actions {
		actions[i] = string(a)
	}
	var keys []string
	for k := range props.Properties {
		keys = append(keys, k)
	}
	for _, c := range []struct {
		name      string
		lint, run []string
	}{
		{"classes", v.Properties.Class.Enum, privacy.Classes},
		{"actions", v.Properties.Action.Enum, actions},
		{"keys", keys, privacy.Keys},
	} {
		l, r := slices.Clone(c.lint), slices.Clone(c.run)
		slices.Sort(l)
		slices.Sort(r)
		if !slices.Equal(l, r) {
			t.Errorf("%s: vocabulary/x-accord-pii.json has %v, package privacy %v", c.name, c.lint, c.run)
		}
	}
}
