package privacy

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
)

// Options is the privacy: section of the configuration: where the salt of
// hash and the key of hmac come from, and the collector-wide policy. Neither is ever written in the
// configuration file itself: each names an environment variable or a file.
type Options struct {
	SaltEnv  string      `yaml:"salt_env" doc:"Environment variable holding the salt hash prepends to a value before SHA-256 (at least 16 bytes). Needed when a contract uses action hash. When set, it is used instead of salt_file."`
	SaltFile string      `yaml:"salt_file" doc:"File holding the salt of hash (its content, a trailing newline removed; at least 16 bytes; accord init writes a random one). A missing file means no salt: accord serve then refuses contracts using hash."`
	HMAC     HMACOptions `yaml:"hmac" doc:"The key of action hmac (HMAC-SHA256). Needed when a contract uses hmac. See docs/privacy.md for rotation."`
	// PolicyOptions is the collector-wide policy, in the same section.
	PolicyOptions `yaml:",inline"`
}

// HMACOptions names the HMAC key and where it comes from.
type HMACOptions struct {
	KeyID   string `yaml:"key_id" doc:"The key's id, written into every value it pseudonymised (hmac-sha256:KEY_ID:HEX), so a record names the key it used: letters, digits, '.', '_' and '-'. Change it with the key."`
	KeyEnv  string `yaml:"key_env" doc:"Environment variable holding the key (at least 16 bytes). When set, it is used instead of key_file."`
	KeyFile string `yaml:"key_file" doc:"File holding the key (its content, a trailing newline removed; at least 16 bytes; accord init writes a random one). A missing file means no key: accord serve then refuses contracts using hmac."`
	// OldKeys are read only to find records made under them.
	OldKeys []OldKey `yaml:"old_keys" doc:"Keys used before a rotation, kept for reading only: accord subject looks a subject's records up under each of them too. New records always use key_id."`
}

// OldKey is a key used before a rotation, and where it comes from.
type OldKey struct {
	KeyID   string `yaml:"key_id" doc:"The old key's id, as its pseudonyms name it."`
	KeyEnv  string `yaml:"key_env" doc:"Environment variable holding the old key. When set, it is used instead of key_file."`
	KeyFile string `yaml:"key_file" doc:"File holding the old key."`
}

// Default secret files, relative to the directory accord runs in; accord
// init writes both with random content.
const (
	DefaultSaltFile = "secrets/hash.salt"
	DefaultKeyFile  = "secrets/hmac.key"
	DefaultKeyID    = "k1"
)

// DefaultOptions reads the salt and key from the files accord init writes.
func DefaultOptions() Options {
	return Options{SaltFile: DefaultSaltFile, HMAC: HMACOptions{KeyID: DefaultKeyID, KeyFile: DefaultKeyFile}, PolicyOptions: DefaultPolicyOptions()}
}

// MinSecretBytes is the shortest salt or key accepted.
const MinSecretBytes = 16

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Validate checks the options' shape; Load reads the secrets.
func (o Options) Validate() error {
	h := o.HMAC
	hasSource := h.KeyEnv != "" || h.KeyFile != ""
	switch {
	case hasSource && h.KeyID == "":
		return errors.New("privacy.hmac.key_id is empty while a key is set; name the key, such as key_id: k1")
	case h.KeyID != "" && !keyIDPattern.MatchString(h.KeyID):
		return fmt.Errorf("privacy.hmac.key_id %q may hold only letters, digits, '.', '_' and '-' (1 to 64); rename it", h.KeyID)
	}
	for i, k := range h.OldKeys {
		switch {
		case !keyIDPattern.MatchString(k.KeyID):
			return fmt.Errorf("privacy.hmac.old_keys[%d].key_id %q may hold only letters, digits, '.', '_' and '-' (1 to 64); name the old key as its pseudonyms do", i, k.KeyID)
		case k.KeyID == h.KeyID:
			return fmt.Errorf("privacy.hmac.old_keys[%d].key_id %q is the current key's id; an old key needs the id it had", i, k.KeyID)
		case k.KeyEnv == "" && k.KeyFile == "":
			return fmt.Errorf("privacy.hmac.old_keys[%d] names no key; set its key_file or key_env", i)
		}
	}
	return o.PolicyOptions.Validate()
}

// Load reads the salt and key the options name, with getenv reading the
// environment (os.Getenv).
func (o Options) Load(getenv func(string) string) (*Secrets, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var s Secrets
	var err error
	if s.Salt, err = secret("privacy.salt", o.SaltEnv, o.SaltFile, getenv); err != nil {
		return nil, err
	}
	if s.Key, err = secret("privacy.hmac.key", o.HMAC.KeyEnv, o.HMAC.KeyFile, getenv); err != nil {
		return nil, err
	}
	s.KeyID = o.HMAC.KeyID
	for i, k := range o.HMAC.OldKeys {
		key, err := secret(fmt.Sprintf("privacy.hmac.old_keys[%d].key", i), k.KeyEnv, k.KeyFile, getenv)
		if err != nil {
			return nil, err
		}
		if key == nil {
			return nil, fmt.Errorf("privacy.hmac.old_keys[%d].key_file %s does not exist; restore the old key or remove the entry", i, k.KeyFile)
		}
		s.OldKeys = append(s.OldKeys, Key{ID: k.KeyID, Key: key})
	}
	return &s, nil
}

func secret(key, env, file string, getenv func(string) string) ([]byte, error) {
	var b []byte
	switch {
	case env != "":
		b = []byte(getenv(env))
		if len(b) == 0 {
			return nil, fmt.Errorf("%s_env names $%s, which is empty or unset; export it or unset %s_env", key, env, key)
		}
	case file != "":
		var err error
		b, err = os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil // no secret: contracts needing it are refused, naming the file
		}
		if err != nil {
			return nil, fmt.Errorf("%s_file: %w; fix its permissions or the path", key, err)
		}
		b = bytes.TrimRight(b, "\r\n")
	default:
		return nil, nil
	}
	if len(b) < MinSecretBytes {
		return nil, fmt.Errorf("%s is %d bytes, shorter than %d; use a longer random value (openssl rand -hex 32)", key, len(b), MinSecretBytes)
	}
	return b, nil
}
