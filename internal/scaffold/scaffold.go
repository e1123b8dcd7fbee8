// Package scaffold writes a new Accord project: a commented accord.yml with
// every key at its default, and a contracts tree with examples to start from.
package scaffold

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/accord-events/accord/internal/atomicfile"
	"github.com/accord-events/accord/internal/privacy"
)

//go:embed all:template
var template embed.FS

// Result lists what Init wrote and what it left alone.
type Result struct {
	Written []string
	Skipped []string
}

// Init writes accord.yml (holding config, the rendered template), the
// example contracts and random privacy secrets (secrets/) into dir. Existing files are never overwritten: they are
// reported as skipped.
func Init(dir, config string) (Result, error) {
	var res Result
	write := func(rel string, data []byte, mode ...os.FileMode) error {
		perm := os.FileMode(0o644)
		if len(mode) > 0 {
			perm = mode[0]
		}
		return writeNew(dir, rel, data, perm, &res)
	}
	if err := write("accord.yml", []byte(config)); err != nil {
		return res, fmt.Errorf("write accord.yml: %w", err)
	}
	// The salt of hash and the key of hmac the example contracts need
	// (privacy.salt_file, privacy.hmac.key_file), random and readable by
	// their owner only: never committed, never in accord.yml.
	for _, name := range []string{privacy.DefaultSaltFile, privacy.DefaultKeyFile} {
		var secret [32]byte
		if _, err := rand.Read(secret[:]); err != nil {
			return res, fmt.Errorf("draw %s: %w", name, err)
		}
		if err := write(name, []byte(hex.EncodeToString(secret[:])+"\n"), 0o600); err != nil {
			return res, fmt.Errorf("write %s: %w", name, err)
		}
	}
	err := fs.WalkDir(template, "template", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := template.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("template", path)
		return write(rel, data)
	})
	if err != nil {
		return res, fmt.Errorf("write example contracts: %w", err)
	}
	return res, nil
}

// writeNew writes data to dir/rel unless a file is there, creating the
// directories on the way, and notes it in res as written or skipped.
func writeNew(dir, rel string, data []byte, perm os.FileMode, res *Result) error {
	path := filepath.Join(dir, rel)
	if _, err := os.Stat(path); err == nil {
		res.Skipped = append(res.Skipped, path)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(path, data, perm); err != nil {
		return err
	}
	res.Written = append(res.Written, path)
	return nil
}
