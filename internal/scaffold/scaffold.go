// Package scaffold writes a new Accord project: a commented accord.yml with
// every key at its default, and a contracts tree with examples to start from.
package scaffold

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/accord-events/accord/internal/atomicfile"
)

//go:embed all:template
var template embed.FS

// Result lists what Init wrote and what it left alone.
type Result struct {
	Written []string
	Skipped []string
}

// Init writes accord.yml (holding config, the rendered template) and the
// example contracts into dir. Existing files are never overwritten: they are
// reported as skipped.
func Init(dir, config string) (Result, error) {
	var res Result
	write := func(rel string, data []byte) error {
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
		if err := atomicfile.Write(path, data, 0o644); err != nil {
			return err
		}
		res.Written = append(res.Written, path)
		return nil
	}
	if err := write("accord.yml", []byte(config)); err != nil {
		return res, fmt.Errorf("write accord.yml: %w", err)
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
